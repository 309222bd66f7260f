"""Cycle-level model of the block-sparse GEMM engine: exact cycles from the block structure, exact outputs.

The timing comes from the engine's schedule (docs/engine.md), computed per tile column from the block
occupancy: its cost grows with tiles and blocks, never with cycles x PEs. The RTL parity tests (Amaranth
simulator and cocotb, tests/test_gemm_rtl_amaranth.py and tests/rtl/) hold it to the hardware, cycle for cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..arch import EngineConfig, GemmShape, check_block_mask, check_group_tokens, element_mask, tile_occupancy
from ..mac import dot_saturate, int_dtype, saturate, wrap


@dataclass(frozen=True)
class GemmTiming:
    """Cycle count of one GEMM, from start to done, and where the cycles went."""

    shape: GemmShape
    cycles: int
    # (n_tiles,) issue cycles of each tile column: OS per M tile, max(block_k * blocks, 1); WS all of M through
    # each of its max(blocks, 1) folds
    tile_tokens: np.ndarray
    tile_blocks: np.ndarray  # (n_tiles,) K-blocks streamed per tile column
    macs: int  # multiply-accumulates the pruned GEMM needs (M x kept W elements)
    pes: int
    gap: int  # OS: idle issue cycles between tiles; WS: issue cycles between folds, preload included
    dataflow: str = "os"
    preload: int = 0  # WS: cycles to shift a fold's weights in (rows)

    @property
    def tiles(self) -> int:
        """OS: output tiles; WS: weight folds (an empty tile column counts one, which writes its bias)."""
        if self.dataflow == "ws":
            return int(np.maximum(self.tile_blocks, 1).sum())
        return self.shape.m_tiles * self.shape.n_tiles

    @property
    def ideal_cycles(self) -> float:
        """MACs / PEs: the cycles of a perfect engine that wastes no PE and no cycle."""
        return self.macs / self.pes

    @property
    def utilization(self) -> float:
        """Fraction of PE-cycles doing a needed MAC."""
        return self.ideal_cycles / self.cycles

    @property
    def stream_cycles(self) -> int:
        """Cycles spent issuing K-steps (OS) or X rows (WS); the rest is gaps, preloads, fill and drain."""
        per_pass = int(self.tile_tokens.sum())
        return per_pass if self.dataflow == "ws" else self.shape.m_tiles * per_pass

    def tile_table(self):
        """The issue schedule as a pandas DataFrame (`tile_schedule`)."""
        import pandas as pd

        return pd.DataFrame(tile_schedule(self))


def tile_schedule(t: GemmTiming) -> dict[str, np.ndarray]:
    """Issue schedule, as columns. OS: every tile (M tiles outer, N tiles inner) with its first issue cycle
    (the first token is cycle 1), tokens and K-blocks. WS: every fold (tile columns in order, stored K-blocks
    ascending) with the cycle its preload starts, its first X row's issue cycle and its tokens (M)."""
    if t.dataflow == "ws":
        folds = np.maximum(t.tile_blocks, 1)
        f = np.arange(int(folds.sum()))
        preload = 1 + f * (t.shape.m + t.gap)
        return {"fold": f, "n_tile": np.repeat(np.arange(t.shape.n_tiles), folds), "preload_start": preload,
                "first_issue": preload + t.preload, "tokens": np.full(f.size, t.shape.m)}
    mt, nt = np.divmod(np.arange(t.tiles), t.shape.n_tiles)
    tokens = t.tile_tokens[nt]
    start = 1 + np.concatenate([[0], np.cumsum(tokens + t.gap)[:-1]])
    return {"tile": np.arange(t.tiles), "m_tile": mt, "n_tile": nt, "first_issue": start, "tokens": tokens,
            "k_blocks": t.tile_blocks[nt]}


def gemm_timing(cfg: EngineConfig, m: int, k: int, n: int, mask=None, group_tokens: int | None = None
                ) -> GemmTiming:
    """Exact start-to-done cycles of Y[m, n] = X[m, k] W[k, n] with W's kept blocks given by ``mask``
    (shape (ceil(k / block_k), ceil(n / block_n)); None = dense). N:M engines stream ``group_tokens`` weights of
    each group of nm_group k (default: all of them; `hwsim.arch.nm_group_tokens` gives what a W needs)."""
    shape = GemmShape.of(cfg, m, k, n)
    if group_tokens is not None:
        check_group_tokens(cfg, group_tokens)
    mask = np.ones((shape.k_blocks, shape.n_blocks), bool) if mask is None else check_block_mask(cfg, shape, mask)
    blocks = tile_occupancy(cfg, shape, mask).sum(axis=0)
    # kept W elements, counted per block (edge blocks are clipped to K and N): O(blocks), not O(K N)
    block_rows = np.minimum(cfg.block_k, shape.k - np.arange(shape.k_blocks) * cfg.block_k)
    block_cols = np.minimum(cfg.block_n, shape.n - np.arange(shape.n_blocks) * cfg.block_n)
    macs = shape.m * int(block_rows @ mask.astype(np.int64) @ block_cols)
    pes = cfg.rows * cfg.cols
    if cfg.dataflow == "ws":
        folds = np.maximum(blocks, 1)  # an empty tile column still streams M rows, which write its bias
        gap = cfg.ws_gap(shape.m)
        total = int(folds.sum())
        # fold f preloads from cycle 1 + f (M + gap), its X rows issue R cycles later; the last row's partial
        # sums are written drain_delay cycles after its issue, and done follows
        last_issue = cfg.rows + total * shape.m + (total - 1) * gap
        cycles = last_issue + cfg.drain_delay + 1
        return GemmTiming(shape, cycles, shape.m * folds, blocks, macs, pes, gap, "ws", cfg.rows)
    tokens = np.maximum(blocks * cfg.block_tokens(group_tokens), 1)  # an empty column issues one clear token
    tiles = shape.m_tiles * shape.n_tiles
    last_issue = shape.m_tiles * int(tokens.sum()) + (tiles - 1) * cfg.gap  # first issue is cycle 1
    cycles = last_issue + cfg.drain_delay + cfg.rows  # done rises with the last tile's last row written
    return GemmTiming(shape, cycles, tokens, blocks, macs, pes, cfg.gap)


def dense_cycles(cfg: EngineConfig, m: int, k: int, n: int) -> int:
    """Closed form of a dense GEMM: every tile streams all of K (padded to whole K-blocks); WS: every fold
    streams all of M."""
    mt, nt, kp = -(-m // cfg.rows), -(-n // cfg.cols), -(-k // cfg.block_k) * cfg.block_k
    if cfg.dataflow == "ws":
        folds = -(-k // cfg.rows) * nt
        return folds * m + (folds - 1) * cfg.ws_gap(m) + 2 * cfg.rows + cfg.cols + 2
    return mt * nt * kp + (mt * nt - 1) * cfg.gap + cfg.drain_delay + cfg.rows


def gemm_outputs(cfg: EngineConfig, x_codes, w_codes, mask=None, modes=None, bias=None) -> np.ndarray:
    """Y as accumulator integers (m x n), exactly as the engine's MACs leave it: pruned weights are zero,
    products accumulate in ascending k, with the MAC's wrap or saturation; bias (accumulator units) is added
    once at drain with the same overflow rule."""
    unit = cfg.mac
    x = np.asarray(x_codes)
    w = np.asarray(w_codes)
    if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[0]:
        raise ValueError(f"X {x.shape} and W {w.shape} do not chain into a GEMM")
    shape = GemmShape.of(cfg, x.shape[0], x.shape[1], w.shape[1])
    if mask is not None:
        w = np.where(element_mask(cfg, shape, check_block_mask(cfg, shape, mask)), w, 0)
    if unit.has_mode:
        if modes is None:
            raise ValueError(f"a {cfg.mac.kind} engine needs modes: one per output column "
                             "(1 = the first format, 0 = fixed point)")
        wi = unit.weight_ints(w, np.broadcast_to(np.asarray(modes), w.shape))
    else:
        wi = unit.weight_ints(w)
    xi = unit.act_ints(x)
    dt = int_dtype(unit.acc_bits)
    if unit.overflow == "wrap":
        if dt.kind == "O":
            acc = wrap(xi.astype(object) @ np.asarray(wi, dtype=object), unit.acc_bits)
        else:
            acc = wrap(_int_matmul(np.asarray(xi, dtype=np.int64), np.asarray(wi, dtype=np.int64)), unit.acc_bits)
    else:
        products = xi[:, :, None].astype(dt) * np.asarray(wi, dtype=dt)[None, :, :]
        acc = dot_saturate(np.moveaxis(products, 1, 2), unit.acc_bits)
    if bias is not None:
        b = np.asarray(bias).astype(dt)
        total = acc.astype(object) + b.astype(object) if dt.kind == "O" else acc + b
        acc = wrap(total, unit.acc_bits) if unit.overflow == "wrap" else saturate(total, unit.acc_bits)
    return acc


def _int_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` of int64 matrices, exactly modulo 2**64.

    When no partial sum can reach 2**53 (max|a| * max|b| * K < 2**53) the product runs as a float64 BLAS
    matmul, which is then exact whatever the summation order (every partial sum is an integer float64 holds),
    and tens of times faster than numpy's integer matmul; otherwise int64 (wrapping modulo 2**64, which
    2**acc_bits divides).
    """
    k = a.shape[1]
    bound = (int(np.abs(a).max(initial=0)) * int(np.abs(b).max(initial=0))) * k
    if bound < 1 << 53:
        return (a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)
    with np.errstate(over="ignore"):
        return a @ b


def random_block_mask(k_blocks: int, n_blocks: int, density: float, rng: np.random.Generator | int = 0
                      ) -> np.ndarray:
    """A (k_blocks, n_blocks) mask keeping exactly round(density x blocks) blocks, chosen uniformly."""
    if isinstance(density, bool) or not isinstance(density, (int, float, np.floating)):
        raise TypeError(f"density must be a number, not {density!r}")
    if not 0.0 <= float(density) <= 1.0:
        raise ValueError(f"density must lie in [0, 1], not {density!r}")
    rng = np.random.default_rng(rng)
    total = k_blocks * n_blocks
    mask = np.zeros(total, dtype=bool)
    mask[rng.choice(total, round(float(density) * total), replace=False)] = True
    return mask.reshape(k_blocks, n_blocks)
