"""Capture a torch model into a hardware `Workload` with torch.export.

The exported ATen graph is walked node by node: GEMMs (linear, addmm, mm, bmm, matmul, conv1d/conv2d lowered
by im2col, scaled_dot_product_attention as per-head QK^T and AV GEMMs around a softmax) become `GemmOp`s with
shapes from the traced tensors; element-wise and reduction ops become `VectorOp`s; pure data-layout ops
(views, transposes, concatenation) cost nothing on this hardware and are dropped on purpose; anything else is
unmapped: an error listing every such op when ``strict``, else an `UnmappedOp` with its output size.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import operator
from collections import Counter

import numpy as np

from ..formats._rows import dequantize_rows
from ..workload import VECTOR_OPS, GemmOp, LayerFormat, UnmappedOp, VectorOp, Workload
from ._meta import ALLOCATION_ATTR, prune_info, quant_info

# Data layout, shape bookkeeping and constant creation: no compute on this hardware.
LAYOUT_OPS = {
    "view", "_unsafe_view", "reshape", "permute", "transpose", "t", "unsqueeze", "squeeze", "flatten",
    "unflatten", "expand", "expand_as", "contiguous", "clone", "select", "slice", "cat", "stack", "split",
    "split_with_sizes", "unbind", "chunk", "dropout", "native_dropout", "detach", "alias", "lift_fresh_copy",
    "_to_copy", "to", "type_as", "sym_size", "_assert_tensor_metadata", "_assert_scalar", "arange", "zeros",
    "ones", "full", "zeros_like", "ones_like", "full_like", "new_ones", "new_zeros", "new_full", "scalar_tensor",
    "empty", "empty_like", "copy", "copy_", "sym_constrain_range_for_size", "_local_scalar_dense", "item",
    "getitem", "repeat", "tile", "flip", "roll", "narrow", "view_as", "align_to", "squeeze_", "unsqueeze_",
    "_assert_async", "dim", "size", "numel",
}


def _op_name(target) -> str:
    if target is operator.getitem:
        return "getitem"
    name = getattr(target, "__name__", str(target))
    packet = getattr(target, "_overloadpacket", None)
    if packet is not None:
        name = packet.__name__
    return name.split(".")[0]


def _shape(node) -> tuple[int, ...]:
    val = node.meta.get("val") if hasattr(node, "meta") else None
    if val is None or not hasattr(val, "shape"):
        raise ValueError(f"node {node} has no traced tensor shape")
    return tuple(int(d) for d in val.shape)


def _numel(node) -> int:
    val = node.meta.get("val")
    if isinstance(val, (list, tuple)):
        return sum(int(math.prod(v.shape)) for v in val if hasattr(v, "shape"))
    return int(math.prod(val.shape)) if hasattr(val, "shape") else 0


def _module_path(node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return ""
    path = list(stack.values())[-1][0]
    return path.replace("L['self'].", "").replace("L__self___", "")


class _Builder:
    def __init__(self, model, ep) -> None:
        self.model = model
        sig = ep.graph_signature
        self.params = dict(sig.inputs_to_parameters)
        self.state = ep.state_dict
        self.prune = prune_info(model)
        self.quant = quant_info(model)
        self.ops: list = []
        self.arrays: dict[str, np.ndarray] = {}
        self.unmapped: Counter = Counter()
        self.mapped: set[str] = set()  # parameters that became a GemmOp's weight
        self.weight_params: dict[str, str] = {}  # GemmOp name -> the parameter its weight is (several for a reuse)
        self.requants: set[tuple] = set()  # (input node, scale, frac, lo, hi) already requantized

    # --- helpers ------------------------------------------------------------------------------------
    def param_name(self, node) -> str | None:
        return self.params.get(getattr(node, "name", None))

    def name_for(self, node, suffix: str = "") -> str:
        path = _module_path(node)
        return f"{path}.{node.name}{suffix}" if path else f"{node.name}{suffix}"

    def weight_gemm(self, node, role: str, param: str, w_gemm: np.ndarray, m: int, k: int, n: int,
                    count: int = 1, in_elements: int | None = None) -> None:
        """A GEMM whose W is a parameter; w_gemm is its (K, N) (or (groups, K, N)) view."""
        layer = param.removesuffix(".weight").removesuffix("_weight")  # attn.in_proj_weight -> attn.in_proj
        if layer in {op.name for op in self.ops if isinstance(op, GemmOp)}:
            layer = f"{layer}.{node.name}"  # the same weight used twice (a tied or reused layer)
        wkey = f"{layer}.weight"
        q = self.quant.get(param)
        if q is None:  # quantized weights are held as codes and scales, their floats derived (checked below)
            self.arrays[wkey] = _owned(w_gemm, np.float32)
        self.mapped.add(param)
        fields = dict(weight=wkey)
        info = self.prune.get(param)
        if info is not None:
            fields.update(density=float(info.density), prune=info.method, requested_density=float(info.requested))
            if info.block_mask is not None:
                bm = np.asarray(info.block_mask, bool)
                if count > 1:  # groups side by side along N -> (groups, K-blocks, N-blocks per group)
                    bm = bm.reshape(bm.shape[0], count, -1).transpose(1, 0, 2)
                self.arrays[f"{layer}.mask"] = bm
                fields.update(mask=f"{layer}.mask", block=tuple(int(b) for b in info.block))
        if q is not None:
            fields["quant"] = LayerFormat(scheme=q.scheme, w_format=q.w_format, alt_format=q.alt_format,
                                          act_format=q.act_format, act_scale=q.act_scale)
            codes = np.asarray(q.codes) if q.transposed else _gemm_view(np.asarray(q.codes))
            modes = None if q.row_modes is None else np.asarray(q.row_modes, np.uint8)
            scale = np.asarray(q.scale, np.float64)
            if count > 1:  # (K, groups * N) -> (groups, K, N), as the grouped weight
                codes = codes.reshape(k, count, n).transpose(1, 0, 2)
                modes = None if modes is None else modes.reshape(count, n)
                scale = scale.reshape(count, n)
            self.arrays[f"{layer}.codes"] = _owned(codes)
            self.arrays[f"{layer}.scale"] = _owned(scale)
            fields.update(codes=f"{layer}.codes", scale=f"{layer}.scale")
            if modes is not None:
                self.arrays[f"{layer}.modes"] = _owned(modes)
                fields["row_modes"] = f"{layer}.modes"
            if q.act_sample is not None:
                self.arrays[f"{layer}.act_codes"] = _owned(q.act_sample)
                fields["act_codes"] = f"{layer}.act_codes"
        op = GemmOp(name=layer, target=str(node.target), role=role, m=m, k=k, n=n, count=count,
                    in_elements=in_elements, **fields)
        if q is not None and not _equals_its_codes(q, fields["quant"], self.state[param]):
            raise ValueError(f"weight {param} no longer equals its quantized codes times their scales (changed "
                             "after quantize?): quantize it again so the simulated codes are the model's")
        self.weight_params[op.name] = param
        self.ops.append(op)

    def act_gemm(self, node, role: str, m: int, k: int, n: int, count: int, suffix: str = "",
                 in_elements: int | None = None, w_elements: int | None = None) -> None:
        self.ops.append(GemmOp(name=self.name_for(node, suffix), target=str(node.target), role=role, m=m, k=k,
                               n=n, count=count, in_elements=in_elements, w_elements=w_elements))

    # --- node handlers ------------------------------------------------------------------------------
    def linear(self, node) -> None:
        x, w = node.args[0], node.args[1]
        xs, out = _shape(x), _shape(node)
        k, n = xs[-1], out[-1]
        m = int(math.prod(xs[:-1]))
        param = self.param_name(w)
        if param is not None:
            self.weight_gemm(node, "linear", param, self.state[param].detach().cpu().numpy().T, m, k, n)
        else:
            self.act_gemm(node, "matmul", m, k, n, 1, w_elements=_numel(w))
        self.bias(node, node.args[2] if len(node.args) > 2 else None, out)

    def addmm(self, node) -> None:
        bias, a, b = node.args[:3]
        (m, k), (_, n) = _shape(a), _shape(b)
        param = self.param_name(b)
        if param is not None:  # e.g. GPT-2's Conv1D keeps its weight as (in, out): already the GEMM's W
            self.weight_gemm(node, "linear", param, self.state[param].detach().cpu().numpy(), m, k, n)
        else:
            self.act_gemm(node, "matmul", m, k, n, 1, w_elements=_numel(b))
        self.bias(node, bias, _shape(node))

    def bias(self, node, bias, out_shape) -> None:
        if bias is not None:
            self.ops.append(VectorOp(name=self.name_for(node, ".bias"), target="bias_add", op="add",
                                     elements=int(math.prod(out_shape))))

    def matmul(self, node) -> None:
        a, b = node.args[:2]
        sa, sb, out = _shape(a), _shape(b), _shape(node)
        if len(sa) == 1:
            sa = (1, *sa)
        if len(sb) == 1:
            sb = (*sb, 1)
        m, k, n = sa[-2], sa[-1], sb[-1]
        count = int(math.prod(out[:-2])) if len(out) > 2 else 1
        param = self.param_name(b)
        if param is not None and len(_shape(b)) == 2:
            m = int(math.prod(sa[:-1]))
            self.weight_gemm(node, "linear", param, self.state[param].detach().cpu().numpy(), m, k, n)
        else:
            self.act_gemm(node, "matmul", m, k, n, count, in_elements=_numel(a), w_elements=_numel(b))

    def conv(self, node) -> None:
        args = list(node.args) + [None] * 9
        x, w, b = args[0], args[1], args[2]
        if _op_name(node.target) == "convolution":  # (x, w, b, stride, padding, dilation, transposed, pad, groups)
            if args[6]:
                raise ValueError(f"transposed convolution {node.name} has no hardware mapping")
            groups = int(args[8] or 1)
        else:  # conv1d / conv2d(x, w, b, stride, padding, dilation, groups)
            groups = int(args[6] or 1)
        ws, out = _shape(w), _shape(node)
        if len(ws) not in (3, 4):
            raise ValueError(f"only 1-D and 2-D convolutions are supported, {node.name} has weight shape {ws}")
        # (batch, c_out, *spatial) -> one GEMM row per output position; K = in/groups * kernel size
        m = out[0] * int(math.prod(out[2:]))
        k = int(math.prod(ws[1:]))
        n = out[1] // groups
        param = self.param_name(w)
        if param is not None:
            weight = self.state[param].detach().cpu().numpy()  # (out, in/g, *kernel)
            gemm = weight.reshape(groups, n, k).transpose(0, 2, 1)  # (g, K, N)
            # the input is the feature map itself: im2col's copies are re-reads from SRAM, not new data
            self.weight_gemm(node, "conv", param, gemm[0] if groups == 1 else gemm, m, k, n, groups,
                             in_elements=_numel(x))
        else:
            self.act_gemm(node, "conv", m, k, n, groups, in_elements=_numel(x), w_elements=_numel(w))
        self.bias(node, b, out)

    def sdpa(self, node) -> None:
        q, k, v = node.args[:3]
        sq, sk, sv = _shape(q), _shape(k), _shape(v)
        count = int(math.prod(sq[:-2]))
        lq, e, lk, ev = sq[-2], sq[-1], sk[-2], sv[-1]
        self.act_gemm(node, "attn_qk", lq, e, lk, count, ".qk", in_elements=_numel(q), w_elements=_numel(k))
        self.ops.append(VectorOp(name=self.name_for(node, ".softmax"), target=str(node.target), op="softmax",
                                 elements=count * lq * lk))
        self.act_gemm(node, "attn_av", lq, lk, ev, count, ".av", in_elements=count * lq * lk,
                      w_elements=_numel(v))

    def run(self, graph) -> None:
        handlers = {"linear": self.linear, "addmm": self.addmm, "mm": self.matmul, "bmm": self.matmul,
                    "matmul": self.matmul,
                    "conv1d": self.conv, "conv2d": self.conv, "convolution": self.conv,
                    "scaled_dot_product_attention": self.sdpa}
        for node in graph.nodes:
            if node.op != "call_function":
                continue
            name = _op_name(node.target)
            if name in handlers:
                handlers[name](node)
            elif name == "requant":
                # one requantization per tensor and format: the consumers of one output (Q, K and V of a
                # block) read the same codes, which the hardware produces once at that output
                key = (node.args[0].name, *node.args[1:])
                if key not in self.requants:
                    self.requants.add(key)
                    self.ops.append(VectorOp(name=self.name_for(node), target=str(node.target), op=name,
                                             elements=_numel(node)))
            elif name in VECTOR_OPS:
                self.ops.append(VectorOp(name=self.name_for(node), target=str(node.target), op=name,
                                         elements=_numel(node)))
            elif name in LAYOUT_OPS:
                continue
            else:
                self.unmapped[str(node.target)] += 1
                self.ops.append(UnmappedOp(name=self.name_for(node), target=str(node.target),
                                           elements=_numel(node)))


def _owned(a, dtype=None) -> np.ndarray:
    """A read-only contiguous copy of ``a`` (in ``dtype``): the workload's own, which it keeps without copying."""
    out = np.array(a, dtype=dtype, order="C", copy=True)
    out.setflags(write=False)
    return out


def _equals_its_codes(q, layer_format: LayerFormat, weight) -> bool:
    """Whether the parameter ``weight`` still is ``float32(decode(codes) * scale)`` of its `QuantInfo` ``q``, what
    the workload derives from the codes (`dequantized_weight`). Compared in the parameter's own layout, row by
    row: one pass, where the GEMM view would be strided."""
    codes, w = np.asarray(q.codes), weight.detach().cpu().numpy()
    if q.transposed:
        codes, w = codes.T, w.T
    rows = dequantize_rows(layer_format.weight_formats, codes.reshape(codes.shape[0], -1), q.scale, q.row_modes)
    return np.array_equal(rows, w.reshape(w.shape[0], -1))


def _gemm_view(codes: np.ndarray) -> np.ndarray:
    """(out, in, ...) weight codes -> the GEMM's (K, N) (a conv's (out, in, *kernel) -> (in * kernel, out))."""
    return codes.reshape(codes.shape[0], -1).T


@contextlib.contextmanager
def _quiet_torch_logs():
    """torch.export logs its own warnings and prints the whole partial graph to stderr when it fails (20+ lines
    before our one-line error): silence torch's loggers and Python-level stderr while it runs, unless hwsim's
    logger is at DEBUG (``hwsim --verbose``)."""
    if logging.getLogger("hwsim").isEnabledFor(logging.DEBUG):
        yield
        return
    torch_logger = logging.getLogger("torch")
    before = torch_logger.disabled, [(lg, lg.disabled) for name, lg in logging.root.manager.loggerDict.items()
                                     if name.startswith("torch") and isinstance(lg, logging.Logger)]
    torch_logger.disabled = True
    for lg, _ in before[1]:
        lg.disabled = True
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        torch_logger.disabled = before[0]
        for lg, was in before[1]:
            lg.disabled = was


def capture(model, args, kwargs=None, *, strict: bool = True, name: str | None = None) -> Workload:
    """Trace ``model(*args, **kwargs)`` with torch.export and return its hardware `Workload`.

    ``strict``: unmapped ops raise one ValueError listing each with its count; with ``strict=False`` they stay
    in the workload as `UnmappedOp`s (with their output sizes), so nothing is silently dropped.
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, not {type(model).__name__}")
    if not isinstance(args, tuple):
        args = (args,)
    was_training = model.training
    model.eval()
    try:
        with _quiet_torch_logs():
            ep = torch.export.export(model, args, kwargs or {}, strict=False)
    except Exception as e:  # torch raises many types; the user needs the first line and what to try
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"torch.export could not trace {type(model).__name__}: {first}") from e
    finally:
        model.train(was_training)
    builder = _Builder(model, ep)
    builder.run(ep.graph)
    missed = sorted((set(builder.prune) | set(builder.quant)) - builder.mapped)
    if missed:  # a compressed weight the workload would silently run dense and unquantized
        raise ValueError(f"{len(missed)} pruned or quantized weights never reach a GEMM as a whole parameter "
                         f"(used through a slice or a view, or not used at all): {', '.join(missed[:6])}"
                         f"{', ...' if len(missed) > 6 else ''}; exclude them from pruning and quantization")
    if strict and builder.unmapped:
        listing = ", ".join(f"{op} x{count}" for op, count in sorted(builder.unmapped.items()))
        raise ValueError(f"{len(builder.unmapped)} op types have no hardware mapping: {listing}; "
                         "pass strict=False (--allow-unmapped) to keep them as unmapped entries")
    meta = {"model": name or type(model).__name__,
            "inputs": [list(a.shape) for a in args if hasattr(a, "shape")], "weight_params": builder.weight_params}
    allocation = getattr(model, ALLOCATION_ATTR, None)
    if allocation is not None:
        meta["allocation"] = allocation
    return Workload(builder.ops, builder.arrays, meta)
