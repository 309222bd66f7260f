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

from ._util.packing import unpack_bits
from .formats import Fixed, NumberFormat, QuantSpec, format_spec, parse_format, parse_quant

# 2: GEMMs carry a validated `LayerFormat` record (version 1 held a free scheme string)
# 3: quantized weights stored as codes and row scales (their float values derived), arrays bit-packed in the file
FORMAT_VERSION = 3
READABLE_VERSIONS = (2, 3)
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
    ``scale`` names the per-output-column float64 scales ((n,), or (count, n)) of the codes: with it, a
    workload that lacks the ``weight`` array derives it, exactly ``float32(decode(codes) * scale)`` (what
    `hwsim.frontend.quantize` leaves on the model), so quantized weights are held once, as codes.
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
    scale: str | None = None
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
        if self.scale is not None and (self.codes is None or self.weight is None):
            raise ValueError(f"op {self.name!r} has code scales but no weight codes (or no weight) to scale")
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


def _check_gemm_arrays(op: GemmOp, arrays: Mapping[str, np.ndarray], derived: Mapping[str, GemmOp]) -> None:
    """The arrays a GEMM refers to have the shapes, dtypes and values its fields say (a damaged or hand-edited
    file must not give a plausible wrong number)."""
    def bad(what: str, why: str) -> ValueError:
        return ValueError(f"op {op.name!r}: {what} array {getattr(op, what)!r} {why}")

    grouped = {(op.k, op.n), (op.count, op.k, op.n)}
    if op.weight is not None and op.weight not in derived:
        w = arrays[op.weight]
        if w.shape not in grouped:
            raise bad("weight", f"has shape {w.shape}, expected ({op.k}, {op.n}) or ({op.count}, {op.k}, {op.n})")
        if w.dtype.kind not in "fiu" or (w.dtype.kind == "f" and not np.isfinite(w).all()):
            raise bad("weight", "holds non-finite or non-numeric values")
    if op.codes is not None:
        c = arrays[op.codes]
        if c.shape not in grouped or c.dtype.kind not in "iu":
            raise bad("codes", f"must be integers of shape ({op.k}, {op.n}), not {c.dtype} {c.shape}")
        if c.size and (int(c.min()) < 0 or int(c.max()) >> op.quant.w_bits):
            raise bad("codes", f"holds values outside the {op.quant.w_bits}-bit codes of {op.quant.scheme}")
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
    if op.scale is not None:
        s = arrays[op.scale]
        if s.shape not in {(op.n,), (op.count, op.n)} or s.dtype != np.float64:
            raise bad("scale", f"must be float64 per output column, shape ({op.n},), not {s.dtype} {s.shape}")
        if not (np.isfinite(s) & (s > 0)).all():
            raise bad("scale", "must hold finite scales > 0")
        c = arrays[op.codes]
        if c.ndim != s.ndim + 1 or (c.ndim == 3 and c.shape[0] != s.shape[0]):
            raise bad("scale", f"of shape {s.shape} does not match codes of shape {c.shape}")
    if op.act_codes is not None:
        a = arrays[op.act_codes]
        if a.ndim < 1 or a.size == 0 or a.dtype.kind not in "iu":
            raise bad("act_codes", f"must be a non-empty integer array, not {a.dtype} {a.shape}")


Op = GemmOp | VectorOp | UnmappedOp | LutLayerOp
_OP_CLASSES = {"gemm": GemmOp, "vector": VectorOp, "unmapped": UnmappedOp, "lut": LutLayerOp}


def dequantized_weight(op: GemmOp, arrays: Mapping[str, np.ndarray]) -> np.ndarray:
    """``float32(decode(codes) * scale)`` of a quantized GEMM, in the codes' (K, N) or (count, K, N) layout: bit
    for bit the weight `hwsim.frontend.quantize` left on the model."""
    from .formats._rows import dequantize_rows

    codes, scale = arrays[op.codes], arrays[op.scale]
    formats = op.quant.weight_formats
    modes = None if op.row_modes is None else np.broadcast_to(arrays[op.row_modes], scale.shape)
    if codes.ndim == 2:  # rows are the output columns: the (N, K) transposed view, whose result transposes back
        return dequantize_rows(formats, codes.T, scale, modes).T
    scale = np.broadcast_to(scale, (codes.shape[0], codes.shape[2]))
    modes = None if modes is None else np.broadcast_to(modes, scale.shape)
    return np.stack([dequantize_rows(formats, codes[g].T, scale[g], None if modes is None else modes[g]).T
                     for g in range(codes.shape[0])])


def _frozen(arr) -> np.ndarray:
    """``arr`` as a read-only array: one the caller already made read-only is kept as it is, anything else is
    copied (so a later change to the caller's array cannot reach the workload)."""
    a = np.asarray(arr)
    if a.flags.writeable:
        a = a.copy()
    a.setflags(write=False)
    return a


class WorkloadArrays(Mapping):
    """A workload's arrays by name: the stored ones, plus the float weights of quantized GEMMs, derived from their
    codes on each access (`dequantized_weight`; not kept, so the workload holds codes, not float copies)."""

    __slots__ = ("_derived", "_stored")

    def __init__(self, stored: Mapping[str, np.ndarray], derived: Mapping[str, GemmOp]) -> None:
        self._stored = MappingProxyType(dict(stored))
        self._derived = MappingProxyType(dict(derived))

    @property
    def stored(self) -> Mapping[str, np.ndarray]:
        """The arrays the workload holds (what `Workload.save` writes)."""
        return self._stored

    def is_derived(self, key: str) -> bool:
        return key in self._derived

    def __getitem__(self, key: str) -> np.ndarray:
        if key in self._stored:
            return self._stored[key]
        op = self._derived[key]  # KeyError for unknown names, as a dict
        w = dequantized_weight(op, self._stored)
        w.setflags(write=False)
        return w

    def __contains__(self, key: object) -> bool:
        return key in self._stored or key in self._derived

    def __iter__(self):
        yield from self._stored
        yield from self._derived

    def __len__(self) -> int:
        return len(self._stored) + len(self._derived)

    @property
    def nbytes(self) -> int:
        """Bytes the stored arrays take in memory."""
        return sum(a.nbytes for a in self._stored.values())


class Workload:
    """An ordered, immutable record of ops plus the arrays they reference and free-form metadata."""

    __slots__ = ("_arrays", "_meta", "_ops")

    def __init__(self, ops: Iterable[Op], arrays: Mapping[str, np.ndarray] | None = None,
                 meta: Mapping[str, object] | None = None) -> None:
        if isinstance(ops, str | bytes) or not hasattr(ops, "__iter__"):
            raise TypeError(f"ops must be an iterable of workload ops, not {type(ops).__name__}")
        self._ops = tuple(ops)
        if isinstance(arrays, WorkloadArrays):  # another workload's: already checked and frozen
            stored = dict(arrays.stored)
        else:
            stored = {key: _frozen(arr) for key, arr in (arrays or {}).items()}
        self._meta = MappingProxyType(dict(meta or {}))
        derived: dict[str, GemmOp] = {}
        for op in self._ops:
            if not isinstance(op, GemmOp | VectorOp | UnmappedOp | LutLayerOp):
                raise TypeError(f"workload ops must be GemmOp, VectorOp, UnmappedOp or LutLayerOp, not {op!r}")
            if isinstance(op, GemmOp):
                if op.weight is not None and op.weight not in stored and op.scale is not None:
                    derived[op.weight] = op
                for ref in (op.weight, op.mask, op.codes, op.row_modes, op.scale, op.act_codes):
                    if ref is not None and ref not in stored and ref not in derived:
                        raise ValueError(f"op {op.name!r} refers to array {ref!r}, which the workload lacks")
                _check_gemm_arrays(op, stored, derived)
        self._arrays = WorkloadArrays(stored, derived)

    @property
    def ops(self) -> tuple[Op, ...]:
        return self._ops

    @property
    def arrays(self) -> WorkloadArrays:
        """Every array by name (read-only); see `WorkloadArrays` for the quantized weights derived from codes."""
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

    # --- persistence: one .npz holding every stored array and the JSON record ---------------------------

    def to_json(self) -> str:
        return json.dumps(self._record())

    def _record(self) -> dict:
        return {"format_version": FORMAT_VERSION, "ops": [asdict(op) for op in self._ops], "meta": dict(self._meta)}

    def save(self, path: str | os.PathLike) -> Path:
        """Write the workload to ``path`` (.npz), whole or not at all.

        Each stored array is one ``a/<name>.npy`` member of the zip (deflated at level 1: the codes are already
        dense); boolean and small unsigned arrays (masks, row modes, codes of up to 7 bits) are bit-packed first,
        with their shape, dtype and bits in the manifest's ``arrays`` record. Derived weights are not written.
        """
        import io
        import zipfile

        from ._util import write_with
        from ._util.packing import pack_bits, packable_bits

        path = Path(path)
        if path.suffix != ".npz":
            raise ValueError(f"workload file {str(path)!r} must end in .npz")
        record = self._record()
        layout = record["arrays"] = {}

        def write(tmp: Path) -> None:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
                for key, a in self._arrays.stored.items():
                    bits = packable_bits(a)
                    layout[key] = {"shape": list(a.shape), "dtype": a.dtype.str, "bits": bits}
                    data = a if bits is None else pack_bits(a, bits)
                    buf = io.BytesIO()
                    np.lib.format.write_array(buf, np.ascontiguousarray(data), allow_pickle=False)
                    z.writestr(f"a/{key}.npy", buf.getbuffer())
                manifest = io.BytesIO()
                np.lib.format.write_array(manifest, np.frombuffer(json.dumps(record).encode(), np.uint8))
                z.writestr("workload.json.npy", manifest.getbuffer())

        return write_with(path, write)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Workload:
        """Read a workload written by `save` (format 2 or 3), validating it whole (version, schema, array shapes,
        finite values); errors name the file, the op and what is wrong."""
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
        damaged = (OSError, ValueError, KeyError, EOFError, UnicodeDecodeError, zipfile.BadZipFile, zlib.error)
        try:
            with zipfile.ZipFile(path) as z:
                record = json.loads(bytes(_read_npy(z, "workload.json.npy")).decode())
                if isinstance(record, dict) and record.get("format_version") in READABLE_VERSIONS:
                    arrays = _read_arrays(z, record)
                else:
                    arrays = {}  # the version or schema check below names what is wrong
        except _LayoutError as e:
            raise ValueError(f"{where}: {e}") from None
        except damaged as e:
            raise ValueError(f"{where} is not a hwsim workload file ({e or type(e).__name__})") from None
        if not isinstance(record, dict):
            raise ValueError(f"{where}: its manifest is a {type(record).__name__}, not a JSON object")
        if record.get("format_version") not in READABLE_VERSIONS:
            raise ValueError(f"{where} has workload format {record.get('format_version')!r}; "
                             f"this hwsim reads {' and '.join(map(str, READABLE_VERSIONS))} (capture the model again)")
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


class _LayoutError(ValueError):
    """The manifest's array layout is malformed (named in the message)."""


_DTYPES = frozenset(np.dtype(t).str for t in ("bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32",
                                               "int64", "float32", "float64"))


def _read_npy(z, member: str) -> np.ndarray:
    with z.open(member) as f:
        return np.lib.format.read_array(f, allow_pickle=False)


def _read_arrays(z, record: dict) -> dict[str, np.ndarray]:
    """Every ``a/<name>.npy`` member, unpacked as the manifest's ``arrays`` record says (`Workload.save` writes
    one; without it, as format 2 files are, the members are the arrays themselves)."""
    layout = record.get("arrays")
    if layout is not None and not isinstance(layout, dict):
        raise _LayoutError(f"arrays must be a JSON object, not {type(layout).__name__}")
    names = [n[2:-4] for n in z.namelist() if n.startswith("a/") and n.endswith(".npy")]
    if layout is not None and set(names) != set(layout):
        extra, missing = sorted(set(names) - set(layout)), sorted(set(layout) - set(names))
        raise _LayoutError(f"its arrays do not match the manifest (missing {missing[:3]}, unlisted {extra[:3]})")
    arrays = {}
    for name in names:
        data = _read_npy(z, f"a/{name}.npy")
        if layout is None:
            arrays[name] = data
            continue
        entry = layout[name]
        if not isinstance(entry, dict) or set(entry) != {"shape", "dtype", "bits"}:
            raise _LayoutError(f"array {name!r}: its record must have shape, dtype and bits, not {entry!r}")
        shape, dtype, bits = entry["shape"], entry["dtype"], entry["bits"]
        if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                                  for d in shape):
            raise _LayoutError(f"array {name!r}: shape must be a list of sizes, not {shape!r}")
        if dtype not in _DTYPES:
            raise _LayoutError(f"array {name!r}: unsupported dtype {dtype!r}")
        if bits is None:
            if data.shape != tuple(shape) or data.dtype.str != dtype:
                raise _LayoutError(f"array {name!r} is {data.dtype} {data.shape}, its record says {dtype} {shape}")
            arrays[name] = data
            continue
        kind = np.dtype(dtype).kind
        if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 7 or kind not in "ub" or \
                (kind == "b" and bits != 1):
            raise _LayoutError(f"array {name!r}: bits must be 1..7 for a bool or unsigned array, not {bits!r}")
        if data.dtype != np.uint8 or data.ndim != 1:
            raise _LayoutError(f"array {name!r}: packed data must be flat uint8, not {data.dtype} {data.shape}")
        try:
            arrays[name] = unpack_bits(data, bits, tuple(shape), dtype)
        except ValueError as e:
            raise _LayoutError(f"array {name!r}: {e}") from None
    for a in arrays.values():  # ours alone: Workload keeps read-only arrays without another copy
        a.setflags(write=False)
    return arrays
