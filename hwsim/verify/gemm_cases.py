"""Stimulus for the block-sparse GEMM RTL benches (cocotb and Amaranth simulator alike).

A case (one GEMM problem on one engine) is a JSON-able dict:
    mac             {"kind": ..., **params}                     one MAC kind per engine
    rows, cols, block_k, block_n                                  the engine (`hwsim.arch.EngineConfig`)
    dataflow        "os" (default) or "ws" (block_k = rows)
    nm_group, nm    N:M PEs with groups of nm_group k (optional), and W pruned to nm kept per group (optional)
    m, k, n                                                       the problem
    mask            a density in [0, 1], "single" (one kept block) or an explicit (k_blocks, n_blocks) 0/1 list
    w_zero          all-zero W codes (optional)
    extreme         mostly corner codes (optional; default: at random, from the seed)
    bias            add a per-column bias (optional)
    slack           memories deeper than the problem needs (optional)
    seed            X, W, mask, MSQ modes and bias all come from numpy's default_rng(seed)

A run is a list of cases on the same engine: one design (deep enough for all, `run_depths`) computes them back to
back, reloading the memories and pulsing start for each. `build_case` turns a case into numpy stimulus,
`load_writes` into the words a bench loads, and `check_result` into a one-paragraph report of what differs
(None when the RTL matched the model).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from hwsim.arch import EngineConfig, EngineImages, engine_images, unpack_lanes
from hwsim.mac import corner_codes, make_mac, weight_corner_codes
from hwsim.sim import gemm_outputs, gemm_timing


@dataclass(frozen=True)
class GemmCase:
    spec: dict
    cfg: EngineConfig
    x: np.ndarray
    w: np.ndarray
    mask: np.ndarray
    modes: np.ndarray | None
    bias: np.ndarray | None
    images: EngineImages

    @property
    def depths(self) -> dict[str, int]:
        """The engine's depth parameters for this problem (exact, or with some slack)."""
        shape, slack = self.images.shape, 3 if self.spec.get("slack") else 0
        return {
            "x_depth": len(self.images.xmem) + slack,
            "w_depth": max(len(self.images.wmem), 1) + slack,
            "idx_depth": max(self.images.layout.stored_blocks, 1) + slack,
            "max_n_tiles": shape.n_tiles + slack,
            "y_depth": self.images.y_words + slack,
        }

    @property
    def runtime(self) -> dict[str, int]:
        """The problem-size inputs: m_tiles (OS) or m_rows (WS), n_tiles, k_blocks."""
        shape = self.images.shape
        m = {"m_rows": shape.m} if self.cfg.dataflow == "ws" else {"m_tiles": shape.m_tiles}
        nm = {"group_tokens": self.images.group_tokens} if self.cfg.nm_group > 1 else {}
        return {**m, "n_tiles": shape.n_tiles, "k_blocks": shape.k_blocks, **nm}

    @property
    def y_words(self) -> int:
        return self.images.y_words

    @property
    def y_rows(self) -> int:
        """Rows of Y the engine writes: M padded to whole tiles (OS), M itself (WS)."""
        shape = self.images.shape
        return shape.m if self.cfg.dataflow == "ws" else shape.m_tiles * self.cfg.rows

    def expected_cycles(self) -> int:
        return gemm_timing(self.cfg, self.x.shape[0], self.x.shape[1], self.w.shape[1], self.mask,
                           self.images.group_tokens).cycles

    def expected_y(self) -> np.ndarray:
        """Y over whole tiles: the model's Y, padded rows hold the bias alone and padded columns zero."""
        shape, c = self.images.shape, self.cfg.cols
        y = np.zeros((self.y_rows, shape.n_tiles * c), dtype=object)
        if self.bias is not None:
            y[:, : shape.n] = [int(b) for b in self.bias]
        y[: shape.m, : shape.n] = gemm_outputs(self.cfg, self.x, self.w, self.mask, self.modes, self.bias)
        return y


def _codes(rng, bits: int, corners: list[int], shape, extreme: bool) -> np.ndarray:
    codes = rng.integers(0, 1 << bits, size=shape)
    if extreme:  # mostly corner codes: sums that wrap or saturate, posit NaR
        codes = np.where(rng.random(shape) < 0.7, rng.choice(np.array(corners), size=shape), codes)
    return codes.astype(np.int64)


def build_case(spec: dict) -> GemmCase:
    mac = dict(spec["mac"])
    unit = make_mac(mac.pop("kind"), **mac)
    cfg = EngineConfig(rows=spec["rows"], cols=spec["cols"], block_k=spec["block_k"], block_n=spec["block_n"],
                       mac=unit, dataflow=spec.get("dataflow", "os"), nm_group=spec.get("nm_group", 1))
    m, k, n = spec["m"], spec["k"], spec["n"]
    rng = np.random.default_rng(spec["seed"])
    extreme = bool(rng.random() < 0.35) if spec.get("extreme") is None else bool(spec["extreme"])
    x = _codes(rng, unit.x_bits, corner_codes(unit.x_format), (m, k), extreme)
    # weights span the whole port, with the corners of each of its readings (posit and fixed for posit_or_fixed)
    w = (np.zeros((k, n), np.int64) if spec.get("w_zero")
         else _codes(rng, unit.w_bits, weight_corner_codes(unit), (k, n), extreme))
    if spec.get("nm"):  # N:M-sparse W: nm random positions of every group of nm_group k kept in each column
        g = cfg.nm_group
        kp = -(-k // g) * g
        keep = np.argsort(rng.random((kp // g, g, n)), axis=1) < spec["nm"]
        w = np.where(keep.reshape(kp, n)[:k], w, 0)
    kb, nb = -(-k // cfg.block_k), -(-n // cfg.block_n)
    spec_mask = spec["mask"]
    if isinstance(spec_mask, str):
        if spec_mask != "single":
            raise ValueError(f"unknown mask spec {spec_mask!r}")
        mask = np.zeros((kb, nb), bool)
        mask[rng.integers(kb), rng.integers(nb)] = True
    elif isinstance(spec_mask, list):
        mask = np.array(spec_mask, dtype=bool)
    else:
        mask = rng.random((kb, nb)) < float(spec_mask)
    modes = rng.integers(0, 2, size=n) if unit.has_mode else None
    bias = None
    if spec.get("bias"):
        half = 1 << (unit.acc_bits - 1)
        draw = 1 << min(unit.acc_bits - 1, 62)  # numpy draws int64; a quire's wider accumulator gets its low range
        bias = np.array([int(v) for v in rng.integers(-draw, draw, size=n)], dtype=object)
        if extreme:
            bias[rng.random(n) < 0.5] = half - 1
    images = engine_images(cfg, x, w, mask, modes, bias)
    return GemmCase(spec, cfg, x, w, mask, modes, bias, images)


def load_writes(case: GemmCase) -> list[tuple[int, int, int]]:
    """(load_sel, load_addr, load_data) for every word the engine needs: 0 xmem, 1 wmem, 2 idx, 3 ptr, 4 mode,
    5 bias."""
    im = case.images
    words = [im.xmem, im.wmem, [int(v) for v in im.layout.idx], [int(v) for v in im.layout.ptr], im.mode,
             im.bias]
    return [(sel, addr, int(word)) for sel, ws in enumerate(words) for addr, word in enumerate(ws)]


def check_result(case: GemmCase, y_words: list[int], cycles: int) -> str | None:
    """None when the RTL's Y words and start-to-done cycle count match the model, else a one-paragraph report."""
    problems = []
    want_cycles = case.expected_cycles()
    if cycles != want_cycles:
        problems.append(f"cycles: expected {want_cycles}, measured {cycles}")
    r, c = case.cfg.rows, case.cfg.cols
    shape = case.images.shape
    got = unpack_lanes(y_words, c, case.cfg.mac.acc_bits, signed=True)
    if case.cfg.dataflow == "ws":  # ymem[nt * m + i] lane j -> Y[i, nt * cols + j]
        got = got.reshape(shape.n_tiles, shape.m, c).transpose(1, 0, 2).reshape(shape.m, -1)
    else:  # ymem[(mt * n_tiles + nt) * rows + i] lane j -> Y[mt * rows + i, nt * cols + j]
        got = got.reshape(shape.m_tiles, shape.n_tiles, r, c).transpose(0, 2, 1, 3).reshape(shape.m_tiles * r, -1)
    want = case.expected_y()
    diff = np.argwhere(got != want)
    if len(diff):
        shown = ", ".join(f"Y[{i}, {j}] expected {want[i, j]}, got {got[i, j]}" for i, j in diff[:6])
        more = f" (and {len(diff) - 6} more)" if len(diff) > 6 else ""
        padding = int(sum(1 for i, j in diff if i >= shape.m or j >= shape.n))
        where = f" ({padding} of them in tile padding)" if padding else ""
        problems.append(f"{len(diff)} Y element(s) differ{where}: {shown}{more}")
    if not problems:
        return None
    return f"GEMM case {json.dumps(case.spec)}: " + "; ".join(problems) + "."


# ---- the case lists: runs of problems on one engine design

def run_depths(cases: list[GemmCase]) -> dict[str, int]:
    """Depth parameters of one design that runs every case of a run (the largest of each)."""
    if any(c.cfg != cases[0].cfg for c in cases):
        raise ValueError("the cases of one run must share the engine configuration")
    return {name: max(c.depths[name] for c in cases) for name in cases[0].depths}


def run_id(run: list[dict]) -> str:
    s = run[0]
    mac = s["mac"]
    nm = f"nm{s['nm_group']}-" if s.get("nm_group", 1) > 1 else ""
    return (f"{s.get('dataflow', 'os')}-{nm}{mac['kind']}-{mac.get('overflow', 'wrap')}"
            f"-acc{mac.get('acc_bits', 'dflt')}-{s['rows']}x{s['cols']}"
            f"-bk{s['block_k']}bn{s['block_n']}-" + "+".join(_problem_id(c) for c in run))


def _problem_id(spec: dict) -> str:
    mask = spec["mask"] if not isinstance(spec["mask"], list) else "explicit"
    flags = "".join(f"-{f}" for f in ("w_zero", "bias", "slack", "extreme") if spec.get(f))
    if spec.get("nm"):
        flags += f"-{spec['nm']}of{spec['nm_group']}"
    return f"{spec['m']}x{spec['k']}x{spec['n']}-mask{mask}{flags}"


def _mac(kind: str, rng, overflow: str, tight: bool) -> dict:
    """Small-width MAC parameters; ``tight`` sets acc_bits to (about) one product, so sums overflow."""
    if kind == "fixed":
        params = {"w_bits": int(rng.integers(2, 7)), "x_bits": int(rng.integers(2, 7))}
    elif kind == "sp2":
        params = {"w_bits": int(rng.integers(3, 6)), "x_bits": int(rng.integers(3, 7))}
    elif kind == "msq":
        params = {"w_bits": int(rng.choice([3, 4, 5])), "x_bits": int(rng.integers(3, 7))}
    elif kind == "posit_fixp":
        params = {"n": int(rng.integers(3, 6)), "es": int(rng.integers(0, 2)), "x_bits": int(rng.integers(3, 7))}
    elif kind == "posit_or_fixed":
        params = {"n": int(rng.integers(3, 6)), "es": int(rng.integers(0, 2)),
                  "fixed_bits": int(rng.choice([3, 4, 6])), "x_bits": int(rng.integers(3, 7))}
    else:  # the quire always wraps; a few carry bits make it overflow
        return {"kind": kind, "n": int(rng.integers(3, 6)), "es": int(rng.integers(0, 2)),
                "carry_bits": int(rng.choice([1, 2, 8])) if not tight else 1}
    product_bits = make_mac(kind, **params).product_bits
    acc_bits = product_bits + int(rng.integers(0, 3)) if tight else product_bits + 6
    return {"kind": kind, **params, "acc_bits": acc_bits, "overflow": overflow}


def _block_n(cols: int, rel: str, rng) -> int:
    """A pruning block width below (a divisor), equal to or above (a multiple of) the array's columns."""
    if rel == "<" and cols > 1:
        return int(rng.choice([d for d in range(1, cols) if cols % d == 0]))
    if rel == ">":
        return cols * int(rng.integers(2, 4))
    return cols


# (MAC kind, overflow, tight accumulator, array rows x cols, block_n vs cols): every kind in both overflow
# modes, every array shape, block_n <, = and > cols
ENGINES = [
    ("fixed", "wrap", True, (1, 1), "="),  # gap 0: tiles back to back
    ("fixed", "saturate", True, (2, 3), "="),
    ("fixed", "saturate", True, (4, 4), "<"),
    ("fixed", "wrap", False, (1, 3), ">"),
    ("sp2", "wrap", False, (3, 1), "="),
    ("sp2", "saturate", True, (2, 4), "<"),
    ("sp2", "saturate", False, (1, 4), ">"),
    ("msq", "wrap", False, (4, 2), ">"),
    ("msq", "saturate", True, (2, 2), "="),
    ("msq", "saturate", False, (3, 3), "<"),
    ("posit_fixp", "wrap", False, (2, 3), ">"),
    ("posit_fixp", "saturate", True, (4, 2), "<"),
    ("posit_fixp", "saturate", False, (1, 1), ">"),
    ("posit_quire", "wrap", False, (4, 4), "="),
    ("posit_quire", "wrap", True, (2, 2), ">"),
    # appended after the others so that their runs (and the seeds they draw) stay as they were
    ("posit_or_fixed", "wrap", False, (2, 2), "<"),
    ("posit_or_fixed", "saturate", True, (3, 2), ">"),
]
# problem features, dealt out in turn to the problems after the first of each run
FEATURES = [
    {"mask": 0.0},  # no stored block: one clear-only token per tile, Y = bias
    {"mask": 1.0, "extreme": True, "k": 12},  # dense, corner codes, long sums: wrap / saturate
    {"mask": 1.0, "w_zero": True},  # an all-zero W
    {"mask": "single"},  # a single non-zero block
    {"mask": 0.3},
    {"mask": 1.0},
    {"mask": 0.8, "extreme": True},
]


def engine_spec(cfg: EngineConfig) -> dict:
    """The engine part of a case spec for ``cfg``."""
    spec = {"mac": {"kind": cfg.mac.kind, **cfg.mac.params()}, "rows": cfg.rows, "cols": cfg.cols,
            "block_k": cfg.block_k, "block_n": cfg.block_n, "dataflow": cfg.dataflow}
    return {**spec, "nm_group": cfg.nm_group} if cfg.nm_group > 1 else spec


def engine_run(cfg: EngineConfig, depths: dict[str, int], problems: int, seed: int) -> list[dict]:
    """``problems`` random problems for one design of ``cfg`` with memories ``depths``: the first at a random
    density, the others with `FEATURES` in turn; M, K and N random up to what the memories hold (4 tiles or
    K-blocks at most), bias on or off at random. A problem the memories cannot hold is drawn smaller."""
    rng = np.random.default_rng(seed)
    engine = engine_spec(cfg)
    run = []
    for p in range(problems):
        extra = {"mask": float(rng.choice([0.2, 0.5, 0.8]))} if p == 0 else dict(FEATURES[(p - 1) % len(FEATURES)])
        extra.pop("k", None)
        if cfg.nm_group > 1:  # W pruned to N of every group, N from 1 to the group
            extra["nm"] = int(rng.integers(1, cfg.nm_group + 1))
        limits = [4 * cfg.rows, 4 * cfg.block_k, 4 * cfg.cols]
        for _ in range(64):
            m, k, n = (int(rng.integers(1, lim + 1)) for lim in limits)
            spec = {**engine, "m": m, "k": k, "n": n, "bias": bool(rng.random() < 0.5), "seed": seed * 1000 + p,
                    **extra}
            if all(build_case(spec).depths[d] <= depths[d] for d in depths):
                break
            limits = [max(1, lim // 2) for lim in limits]
        else:  # pragma: no cover - a 1x1x1 problem fits every depth the engine accepts
            raise ValueError(f"no problem fits memories {depths}")
        run.append(spec)
    return run


def gemm_runs(seed: int = 2024, problems: int = 4) -> list[list[dict]]:
    """Deterministic runs: each is a list of problems (case specs) for one engine design, run back to back.

    Every engine of `ENGINES` gets ``problems`` problems (a random density, then `FEATURES`), M, K and N random
    in 1..12 (so rarely multiples of the array or of block_k), bias on or off at random; one more run holds an
    explicit mask (a skipped middle K-block, an empty tile column)."""
    rng = np.random.default_rng(seed)
    runs: list[list[dict]] = []
    feature = [0]
    for kind, overflow, tight, (rows, cols), rel in ENGINES:
        engine = {"mac": _mac(kind, rng, overflow, tight), "rows": rows, "cols": cols,
                  "block_k": int(rng.integers(1, 5)), "block_n": _block_n(cols, rel, rng)}
        runs.append(_problems(rng, engine, problems, seed * 1000 + 10 * len(runs), feature))
    explicit = {"mac": {"kind": "fixed", "w_bits": 4, "x_bits": 4, "acc_bits": 9, "overflow": "saturate"},
                "rows": 2, "cols": 2, "block_k": 2, "block_n": 2, "m": 4, "k": 5, "n": 4, "bias": True}
    runs.append([{**explicit, "mask": [[1, 0], [0, 0], [1, 0]], "seed": seed * 1000 + 900},
                 {**explicit, "mask": [[0, 1], [1, 1], [0, 0]], "seed": seed * 1000 + 901, "bias": False}])
    return runs


# the weight-stationary engines (block_k = rows): every MAC kind, both overflow modes, 1x1 to 4x4 arrays,
# block_n <, = and > cols
WS_ENGINES = [
    ("fixed", "wrap", True, (1, 1), "="),
    ("fixed", "saturate", True, (2, 3), "<"),
    ("fixed", "saturate", True, (4, 4), "<"),
    ("fixed", "wrap", False, (3, 1), ">"),
    ("sp2", "wrap", False, (1, 4), "="),
    ("sp2", "saturate", True, (2, 2), ">"),
    ("msq", "wrap", False, (2, 4), "="),
    ("msq", "saturate", True, (3, 3), "<"),
    ("posit_fixp", "wrap", False, (4, 2), ">"),
    ("posit_fixp", "saturate", True, (1, 3), "="),
    ("posit_quire", "wrap", False, (2, 2), "="),
    ("posit_quire", "wrap", True, (3, 2), "<"),
    ("posit_or_fixed", "wrap", False, (2, 3), ">"),
    ("posit_or_fixed", "saturate", True, (4, 1), "="),
]


def ws_gemm_runs(seed: int = 2025, problems: int = 3) -> list[list[dict]]:
    """Deterministic runs on weight-stationary engines, as `gemm_runs`: each engine of `WS_ENGINES` gets
    ``problems`` problems, the first with M in 1..3 (where the partial sums, not the weights, set the gap
    between folds), the others with M in 1..12 and `FEATURES` in turn; one more run holds explicit masks."""
    rng = np.random.default_rng(seed)
    runs: list[list[dict]] = []
    feature = [0]
    for kind, overflow, tight, (rows, cols), rel in WS_ENGINES:
        engine = {"mac": _mac(kind, rng, overflow, tight), "rows": rows, "cols": cols, "block_k": rows,
                  "block_n": _block_n(cols, rel, rng), "dataflow": "ws"}
        runs.append(_problems(rng, engine, problems, seed * 1000 + 10 * len(runs), feature, first_m=3))
    explicit = {"mac": {"kind": "fixed", "w_bits": 4, "x_bits": 4, "acc_bits": 9, "overflow": "saturate"},
                "rows": 2, "cols": 2, "block_k": 2, "block_n": 2, "dataflow": "ws", "m": 5, "k": 5, "n": 4,
                "bias": True}
    runs.append([{**explicit, "mask": [[1, 0], [0, 0], [1, 0]], "seed": seed * 1000 + 900},
                 {**explicit, "mask": [[0, 1], [1, 1], [0, 0]], "seed": seed * 1000 + 901, "bias": False}])
    return runs


# N:M engines (output-stationary, nm_group:1 activation muxes): group sizes 2 to 8, MAC kinds with and without a
# mode, both overflow modes; block_k a multiple of the group
NM_ENGINES = [
    ("fixed", "saturate", True, (2, 2), "=", 2),
    ("fixed", "wrap", False, (1, 3), "<", 4),
    ("sp2", "saturate", True, (3, 2), ">", 4),
    ("msq", "wrap", False, (2, 3), "=", 2),
    ("posit_fixp", "saturate", False, (2, 2), "<", 8),
    ("posit_quire", "wrap", True, (1, 2), "=", 3),
    ("posit_or_fixed", "saturate", True, (2, 1), "=", 2),
    ("fixed", "saturate", True, (4, 4), "<", 4),
]


def nm_gemm_runs(seed: int = 2026, problems: int = 4) -> list[list[dict]]:
    """Deterministic runs on N:M engines: each engine of `NM_ENGINES` gets ``problems`` problems: W pruned to
    N of every group (N from 1 to the group, which is dense W streamed as N:M), block masks as `gemm_runs`
    (a random density, then `FEATURES`), M, K and N random in 1..12."""
    rng = np.random.default_rng(seed)
    runs: list[list[dict]] = []
    feature = [0]
    for kind, overflow, tight, (rows, cols), rel, group in NM_ENGINES:
        engine = {"mac": _mac(kind, rng, overflow, tight), "rows": rows, "cols": cols,
                  "block_k": group * int(rng.integers(1, 3)), "block_n": _block_n(cols, rel, rng), "nm_group": group}
        runs.append(_problems(rng, engine, problems, seed * 1000 + 10 * len(runs), feature,
                              first_masks=(0.5, 0.8, 1.0), nm=group))
    return runs


def _problems(rng, engine: dict, problems: int, seed: int, feature: list[int], *, first_m: int = 12,
              first_masks=(0.2, 0.5, 0.8), nm: int | None = None) -> list[dict]:
    """One run: ``problems`` problems on ``engine`` (memories with slack or not, at random), the first at a random
    density of ``first_masks`` and M up to ``first_m``, the others with the next `FEATURES` (``feature[0]``
    counts them over all runs) and M up to 12; K and N random in 1..12, bias on or off; ``nm``: W pruned to a
    random N of every group of nm."""
    slack = bool(rng.random() < 0.3)
    run = []
    for p in range(problems):
        extra = {"mask": float(rng.choice(list(first_masks)))} if p == 0 else FEATURES[feature[0] % len(FEATURES)]
        feature[0] += p > 0
        spec = {**engine, "m": int(rng.integers(1, (first_m if p == 0 else 12) + 1)), "k": int(rng.integers(1, 13)),
                "n": int(rng.integers(1, 13)), "bias": bool(rng.random() < 0.5), "slack": slack}
        if nm is not None:
            spec["nm"] = int(rng.integers(1, nm + 1))
        run.append({**spec, "seed": seed + p, **extra})
    return run
