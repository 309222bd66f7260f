"""The hardware-facing graph: an ordered record of GEMM, vector and unmapped ops (numpy only, no torch).

A `Workload` is what the front end captures from a torch model and what the simulator consumes. It carries
shapes, weight tensors, block masks and number formats, and saves to a single ``.npz`` (arrays plus a JSON
record) so a captured model can be simulated without torch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from .formats import Fixed, NumberFormat, QuantSpec, format_spec, parse_format, parse_quant

# 2: GEMMs carry a validated `LayerFormat` record (version 1 held a free scheme string)
FORMAT_VERSION = 2
OP_KINDS = ("gemm", "vector", "unmapped", "lut")
GEMM_ROLES = ("linear", "conv", "attn_qk", "attn_av", "matmul")

# Element-wise and reduction ops the vector unit executes (ATen op names without overload): what capture maps to
# a VectorOp, and the op names an accelerator config may give vector cycles for.
VECTOR_OPS = frozenset({
    "layer_norm", "native_layer_norm", "softmax", "_softmax", "log_softmax", "_log_softmax", "gelu", "relu",
    "relu_", "silu", "sigmoid", "tanh", "hardtanh", "hardswish", "hardsigmoid", "leaky_relu", "elu", "clamp",
    "clamp_min", "clamp_max", "add", "sub", "mul", "div", "neg", "exp", "log", "pow", "sqrt", "rsqrt",
    "reciprocal", "abs", "mean", "sum", "amax", "max", "min", "var", "var_mean", "batch_norm",
    "_native_batch_norm_legit_no_training", "native_batch_norm", "max_pool2d", "avg_pool2d",
    "adaptive_avg_pool2d", "max_pool2d_with_indices", "embedding", "gather", "index", "index_select", "where",
    "masked_fill", "cumsum", "diff", "ge", "gt", "le", "lt", "eq", "ne", "__and__", "__or__", "bitwise_and",
    "bitwise_or", "logical_and", "logical_or", "logical_not", "erf", "addcmul", "lerp", "rms_norm",
    "requant",  # activation requantization to fixed point (hwsim.frontend's requant op)
})


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerFormat:
    """The number formats of one quantized GEMM, validated: what its weight codes and input activations are.

    ``scheme`` is the canonical `hwsim.formats.QuantSpec` string (``msq:4:0.5``); ``w_format`` and
    ``alt_format`` are the `parse_format` specs of its formats (row mode 1 or the only one, and mode 0 of
    mixed schemes), and must be the scheme's own; ``act_format`` is the fixed-point format of the input
    activation codes (with ``act_scale``), or None when activations are not quantized.
    """

    scheme: str
    w_format: str
    alt_format: str | None = None
    act_format: str | None = None
    act_scale: float | None = None

    def __post_init__(self) -> None:
        spec = parse_quant(self.scheme)
        object.__setattr__(self, "scheme", str(spec))
        main, alt = spec.formats()
        for name, want in (("w_format", main), ("alt_format", alt)):
            got = getattr(self, name)
            have = None if got is None else parse_format(got)
            if have != want:
                raise ValueError(f"{name} {got!r} is not the {name.split('_')[0]} format of {spec} "
                                 f"({None if want is None else format_spec(want)!r})")
            if have is not None:
                object.__setattr__(self, name, format_spec(have))
        if self.act_format is None:
            if self.act_scale is not None:
                raise ValueError("act_scale given without act_format")
            return
        act = parse_format(self.act_format)
        if not isinstance(act, Fixed):
            raise ValueError(f"act_format must be fixed point (fixed:B:F or ufixed:B:F), not {self.act_format!r}")
        scale = self.act_scale
        if isinstance(scale, bool) or not isinstance(scale, int | float) or not 0 < scale < float("inf"):
            raise ValueError(f"act_scale must be a finite number > 0, not {scale!r}")
        object.__setattr__(self, "act_format", act.name)
        object.__setattr__(self, "act_scale", float(scale))

    @property
    def spec(self) -> QuantSpec:
        """The scheme as a `hwsim.formats.QuantSpec`."""
        return parse_quant(self.scheme)

    @property
    def weight_formats(self) -> dict[int, NumberFormat]:
        """Row mode -> weight format: {0: the only format} or, mixed, {1: first format, 0: alternative}."""
        if self.alt_format is None:
            return {0: parse_format(self.w_format)}
        return {1: parse_format(self.w_format), 0: parse_format(self.alt_format)}

    @property
    def w_bits(self) -> int:
        """Bits one stored weight code takes (the wider format of a mixed scheme)."""
        return max(f.bits for f in self.weight_formats.values())

    @property
    def act(self) -> Fixed | None:
        """The activation `Fixed` format, or None."""
        return None if self.act_format is None else parse_format(self.act_format)


def _check_name(op) -> None:
    for f in ("name", "target"):
        v = getattr(op, f)
        if not isinstance(v, str) or not v:
            raise TypeError(f"{type(op).__name__}.{f} must be a non-empty string, not {v!r}")


def _check_count(op, field_name: str, value, *, minimum: int) -> None:
    """An integer (numpy integers too) of at least ``minimum``; errors name the op and the field."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"op {op.name!r}: {field_name} must be an integer, not {value!r}")
    if value < minimum:
        raise ValueError(f"op {op.name!r}: {field_name} must be >= {minimum}, not {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class GemmOp:
    """``count`` independent GEMMs Y[m, n] = X[m, k] W[k, n].

    ``weight`` names the (k, n) weight array in `Workload.arrays` ((count, k, n) for grouped convolutions), or
    is None when both operands are activations (attention's QK^T and AV). ``mask`` names the kept-block mask
    ((ceil(k / bk), ceil(n / bn)) booleans) with ``block`` = (bk, bn); ``prune`` says how the layer was pruned
    (``block``, ``nm``, ``block+nm``, ...) with ``requested_density`` the density asked for and ``density``
    the one achieved. ``quant`` is the layer's `LayerFormat` when quantized; ``codes`` then names its (k, n)
    integer weight codes and, for mixed schemes, ``row_modes`` its per-output-column mode (1: ``w_format``,
    0: ``alt_format``); ``act_codes`` a sample of its input activation codes (``act_format``) from calibration.
    """

    name: str
    target: str
    role: str  # linear, conv, attn_qk, attn_av, matmul
    m: int
    k: int
    n: int
    count: int = 1
    weight: str | None = None
    mask: str | None = None
    block: tuple[int, int] | None = None
    density: float = 1.0  # fraction of weight elements kept
    prune: str | None = None
    requested_density: float | None = None
    quant: LayerFormat | None = None
    codes: str | None = None
    row_modes: str | None = None
    act_codes: str | None = None
    # real sizes of the operands' tensors (None: m*k*count and, for weights, the weight): a convolution's input
    # is the feature map, not its im2col expansion, and attention's second operand is an activation
    in_elements: int | None = None
    w_elements: int | None = None
    kind: str = field(default="gemm", init=False)

    def __post_init__(self) -> None:
        _check_name(self)
        if self.role not in GEMM_ROLES:
            raise ValueError(f"op {self.name!r}: role must be one of {', '.join(GEMM_ROLES)}, not {self.role!r}")
        for dim in ("m", "k", "n", "count"):
            _check_count(self, dim, getattr(self, dim), minimum=1)
        for dim in ("in_elements", "w_elements"):
            if getattr(self, dim) is not None:
                _check_count(self, dim, getattr(self, dim), minimum=0)
        if self.block is not None and (not isinstance(self.block, tuple) or len(self.block) != 2):
            raise TypeError(f"op {self.name!r}: block must be a (bk, bn) pair, not {self.block!r}")
        if self.block is not None:
            for b in self.block:
                _check_count(self, "block", b, minimum=1)
        if self.quant is not None and not isinstance(self.quant, LayerFormat):
            raise TypeError(f"op {self.name!r}: quant must be a LayerFormat, not {self.quant!r}")
        if (self.codes is not None or self.row_modes is not None) and self.quant is None:
            raise ValueError(f"op {self.name!r} has weight codes but no quant record saying their format")
        if self.act_codes is not None and (self.quant is None or self.quant.act_format is None):
            raise ValueError(f"op {self.name!r} has activation codes but no activation format")
        if self.row_modes is not None and self.quant.alt_format is None:
            raise ValueError(f"op {self.name!r} has row modes but {self.quant.scheme} is not a mixed scheme")
        if isinstance(self.density, bool) or not isinstance(self.density, int | float):
            raise TypeError(f"op {self.name!r}: density must be a number, not {self.density!r}")
        if not 0.0 <= self.density <= 1.0:
            raise ValueError(f"op {self.name!r}: density must lie in [0, 1], not {self.density!r}")

    @property
    def w_format(self) -> str | None:
        """The quantization scheme's spec (``msq:4:0.5``), or None when the weight is not quantized."""
        return None if self.quant is None else self.quant.scheme

    @property
    def macs(self) -> int:
        """Dense multiply-accumulates."""
        return self.m * self.k * self.n * self.count

    @property
    def kept_macs(self) -> float:
        return self.macs * self.density

    @property
    def input_elements(self) -> int:
        """Elements of the input activation tensor (what must be on chip or fetched)."""
        return self.in_elements if self.in_elements is not None else self.m * self.k * self.count


@dataclass(frozen=True, slots=True, kw_only=True)
class VectorOp:
    """An element-wise or reduction op on the vector unit (layer_norm, softmax, gelu, add, ...)."""

    name: str
    target: str
    op: str
    elements: int
    kind: str = field(default="vector", init=False)

    def __post_init__(self) -> None:
        _check_name(self)
        if not isinstance(self.op, str) or not self.op:
            raise TypeError(f"op {self.name!r}: op must be a non-empty string, not {self.op!r}")
        _check_count(self, "elements", self.elements, minimum=0)


@dataclass(frozen=True, slots=True, kw_only=True)
class UnmappedOp:
    """An op the capture has no hardware mapping for, kept (with its output size) so nothing is dropped."""

    name: str
    target: str
    elements: int
    kind: str = field(default="unmapped", init=False)

    def __post_init__(self) -> None:
        _check_name(self)
        _check_count(self, "elements", self.elements, minimum=0)


@dataclass(frozen=True, slots=True, kw_only=True)
class LutLayerOp:
    """One layer of a LUT network as logic (`hwsim.lut`): ``neurons`` functions of ``x_bits`` = fan_in x in_bits
    inputs to ``out_bits`` outputs, in ``mode`` (``full`` or ``observed``), synthesized to ``luts`` LUTs
    (``lut6`` of them 6-input), ``ffs`` input-register flip-flops and ``carry4`` carry cells, ``depth`` logic
    levels deep; ``lutcost`` is LogicNets' estimate for the layer. It takes one pipeline cycle."""

    name: str
    target: str
    mode: str
    neurons: int
    fan_in: int
    in_bits: int
    out_bits: int
    luts: int
    lut6: int
    ffs: int
    carry4: int
    depth: int
    lutcost: float
    kind: str = field(default="lut", init=False)

    def __post_init__(self) -> None:
        _check_name(self)
        if self.mode not in ("full", "observed"):
            raise ValueError(f"op {self.name!r}: mode must be full or observed, not {self.mode!r}")
        for f in ("neurons", "fan_in", "in_bits", "out_bits"):
            _check_count(self, f, getattr(self, f), minimum=1)
        for f in ("luts", "lut6", "ffs", "carry4", "depth"):
            _check_count(self, f, getattr(self, f), minimum=0)

    @property
    def x_bits(self) -> int:
        return self.fan_in * self.in_bits


def _check_gemm_arrays(op: GemmOp, arrays: Mapping[str, np.ndarray]) -> None:
    """The arrays a GEMM refers to have the shapes, dtypes and values its fields say (a damaged or hand-edited
    file must not give a plausible wrong number)."""
    def bad(what: str, why: str) -> ValueError:
        return ValueError(f"op {op.name!r}: {what} array {getattr(op, what)!r} {why}")

    grouped = {(op.k, op.n), (op.count, op.k, op.n)}
    if op.weight is not None:
        w = arrays[op.weight]
        if w.shape not in grouped:
            raise bad("weight", f"has shape {w.shape}, expected ({op.k}, {op.n}) or ({op.count}, {op.k}, {op.n})")
        if w.dtype.kind not in "fiu" or (w.dtype.kind == "f" and not np.isfinite(w).all()):
            raise bad("weight", "holds non-finite or non-numeric values")
    if op.codes is not None:
        c = arrays[op.codes]
        if c.shape not in grouped or c.dtype.kind not in "iu":
            raise bad("codes", f"must be integers of shape ({op.k}, {op.n}), not {c.dtype} {c.shape}")
    if op.mask is not None:
        if op.block is None:
            raise ValueError(f"op {op.name!r} has a block mask but no block size")
        m = arrays[op.mask]
        want = (-(-op.k // op.block[0]), -(-op.n // op.block[1]))
        if m.ndim not in (2, 3) or m.shape[-2:] != want or (m.ndim == 3 and m.shape[0] != op.count):
            raise bad("mask", f"has shape {m.shape}, expected {want} blocks of {op.block[0]}x{op.block[1]}")
        if m.dtype != bool and not (m.dtype.kind in "iu" and np.isin(m, (0, 1)).all()):
            raise bad("mask", "must hold booleans")
    if op.row_modes is not None:
        r = arrays[op.row_modes]
        if r.shape not in {(op.n,), (op.count, op.n)} or r.dtype.kind not in "iub" or not np.isin(r, (0, 1)).all():
            raise bad("row_modes", f"must be 0/1 per output column, shape ({op.n},), not {r.dtype} {r.shape}")
    if op.act_codes is not None:
        a = arrays[op.act_codes]
        if a.ndim < 1 or a.size == 0 or a.dtype.kind not in "iu":
            raise bad("act_codes", f"must be a non-empty integer array, not {a.dtype} {a.shape}")


Op = GemmOp | VectorOp | UnmappedOp | LutLayerOp
_OP_CLASSES = {"gemm": GemmOp, "vector": VectorOp, "unmapped": UnmappedOp, "lut": LutLayerOp}


class Workload:
    """An ordered, immutable record of ops plus the arrays they reference and free-form metadata."""

    __slots__ = ("_arrays", "_meta", "_ops")

    def __init__(self, ops: Iterable[Op], arrays: Mapping[str, np.ndarray] | None = None,
                 meta: Mapping[str, object] | None = None) -> None:
        if isinstance(ops, str | bytes) or not hasattr(ops, "__iter__"):
            raise TypeError(f"ops must be an iterable of workload ops, not {type(ops).__name__}")
        self._ops = tuple(ops)
        frozen = {}
        for key, arr in (arrays or {}).items():
            a = np.array(arr, copy=True)
            a.setflags(write=False)
            frozen[key] = a
        self._arrays = MappingProxyType(frozen)
        self._meta = MappingProxyType(dict(meta or {}))
        for op in self._ops:
            if not isinstance(op, GemmOp | VectorOp | UnmappedOp | LutLayerOp):
                raise TypeError(f"workload ops must be GemmOp, VectorOp, UnmappedOp or LutLayerOp, not {op!r}")
            if isinstance(op, GemmOp):
                for ref in (op.weight, op.mask, op.codes, op.row_modes, op.act_codes):
                    if ref is not None and ref not in self._arrays:
                        raise ValueError(f"op {op.name!r} refers to array {ref!r}, which the workload lacks")
                _check_gemm_arrays(op, self._arrays)

    @property
    def ops(self) -> tuple[Op, ...]:
        return self._ops

    @property
    def arrays(self) -> Mapping[str, np.ndarray]:
        return self._arrays

    @property
    def meta(self) -> Mapping[str, object]:
        return self._meta

    def __len__(self) -> int:
        return len(self._ops)

    def __iter__(self):
        return iter(self._ops)

    def __repr__(self) -> str:
        kinds = {k: sum(op.kind == k for op in self._ops) for k in OP_KINDS}
        lut = f", {kinds['lut']} LUT layers" if kinds["lut"] else ""
        return (f"Workload({len(self)} ops: {kinds['gemm']} gemm, {kinds['vector']} vector, "
                f"{kinds['unmapped']} unmapped{lut}; {self.total_macs / 1e9:.3f} GMAC)")

    @property
    def gemms(self) -> tuple[GemmOp, ...]:
        return tuple(op for op in self._ops if isinstance(op, GemmOp))

    @property
    def total_macs(self) -> int:
        """Dense MACs of every GEMM (pruning does not change this; see `kept_macs`)."""
        return sum(op.macs for op in self.gemms)

    @property
    def kept_macs(self) -> float:
        return sum(op.kept_macs for op in self.gemms)

    def to_dataframe(self):
        """One row per op: name, kind, target, role/op, M, K, N, count, density, format, MACs, elements."""
        import pandas as pd

        rows = []
        for op in self._ops:
            row = {"name": op.name, "kind": op.kind, "target": op.target}
            if isinstance(op, GemmOp):
                block = f"{op.block[0]}x{op.block[1]}" if op.block else ""
                row.update(op=op.role, M=op.m, K=op.k, N=op.n, count=op.count, density=op.density, block=block,
                           format=op.w_format or "", macs=op.macs, elements=op.m * op.n * op.count)
            else:
                row.update(op=getattr(op, "op", ""), elements=op.elements, macs=0)
            rows.append(row)
        columns = ["name", "kind", "target", "op", "M", "K", "N", "count", "density", "block", "format", "macs",
                   "elements"]
        table = pd.DataFrame(rows).reindex(columns=columns)
        for col in ("M", "K", "N", "count", "macs", "elements"):
            table[col] = table[col].astype("Int64")  # integers with gaps for the non-GEMM rows
        return table

    # --- persistence: one .npz holding every array and the JSON record ---------------------------------

    def to_json(self) -> str:
        ops = []
        for op in self._ops:
            d = asdict(op)
            ops.append(d)
        return json.dumps({"format_version": FORMAT_VERSION, "ops": ops, "meta": dict(self._meta)})

    def save(self, path: str | os.PathLike) -> Path:
        """Write the workload to ``path`` (.npz), whole or not at all."""
        from ._util import write_with

        path = Path(path)
        if path.suffix != ".npz":
            raise ValueError(f"workload file {str(path)!r} must end in .npz")
        payload = {f"a/{k}": v for k, v in self._arrays.items()}
        payload["workload.json"] = np.frombuffer(self.to_json().encode(), dtype=np.uint8)

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, **payload)

        return write_with(path, write)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Workload:
        """Read a workload written by `save`, validating it whole (version, schema, array shapes, finite values);
        errors name the file, the op and what is wrong."""
        import zipfile
        import zlib

        path = Path(path)
        where = repr(str(path))
        try:
            with open(path, "rb") as f:
                head = f.read(4)
        except OSError as e:
            raise ValueError(f"{where} cannot be read: {e.strerror}") from None
        if head[:2] != b"PK":  # every .npz is a zip archive
            raise ValueError(f"{where} is not a hwsim workload file (not an .npz archive"
                             + (": it is empty)" if not head else ")"))
        try:  # our own handle: np.load leaks its file when the zip is damaged
            with open(path, "rb") as f, np.load(f, allow_pickle=False) as data:
                if not hasattr(data, "files"):
                    raise ValueError("it holds a single array, not an archive")
                record = json.loads(bytes(data["workload.json"]).decode())
                arrays = {k[2:]: data[k] for k in data.files if k.startswith("a/")}
        except (OSError, ValueError, KeyError, EOFError, UnicodeDecodeError, zipfile.BadZipFile, zlib.error) as e:
            raise ValueError(f"{where} is not a hwsim workload file ({e or type(e).__name__})") from None
        if not isinstance(record, dict):
            raise ValueError(f"{where}: its manifest is a {type(record).__name__}, not a JSON object")
        if record.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{where} has workload format {record.get('format_version')!r}; "
                             f"this hwsim reads {FORMAT_VERSION} (capture the model again)")
        records, meta = record.get("ops"), record.get("meta", {})
        if not isinstance(records, list):
            raise ValueError(f"{where}: ops must be a list, not {type(records).__name__}")
        if not records:
            raise ValueError(f"{where} has no ops")
        if not isinstance(meta, dict):
            raise ValueError(f"{where}: meta must be a JSON object, not {type(meta).__name__}")
        ops = []
        for i, d in enumerate(records):
            if not isinstance(d, dict):
                raise ValueError(f"{where}: op {i} is a {type(d).__name__}, not a JSON object")
            d = dict(d)
            kind = d.pop("kind", None)
            if kind not in _OP_CLASSES:
                raise ValueError(f"{where}: op {i} has unknown kind {kind!r}")
            if d.get("block") is not None:
                if not isinstance(d["block"], list):
                    raise ValueError(f"{where}: op {i}: block must be a [bk, bn] pair, not {d['block']!r}")
                d["block"] = tuple(d["block"])
            if isinstance(d.get("quant"), dict):
                try:
                    d["quant"] = LayerFormat(**d["quant"])
                except (TypeError, ValueError) as e:
                    raise ValueError(f"{where}: op {i}: quant: {e}") from None
            try:
                ops.append(_OP_CLASSES[kind](**d))
            except (TypeError, ValueError) as e:
                raise ValueError(f"{where}: op {i}: {e}") from None
        try:
            return cls(ops, arrays, meta)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{where}: {e}") from None
