"""Quantization: replace weights by their dequantized values and record a `QuantInfo` per weight.

Every weight is quantized per output row (output channel) with its own float64 scale, and the record holds
the codes (unsigned bit patterns of `hwsim.formats`) such that, bit for bit,

    weight == float32(fmt.decode(codes) * scale[:, None, ...])     and     codes == fmt.encode(weight / scale)

(the division in float64). Activations, when asked for, are fake-quantized to fixed point by forward
pre-hooks (`ActQuant`) that `torch.export` traces into the graph. Like `prune`, everything is validated and
computed before the first weight changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from hwsim.formats import Fixed, NumberFormat, QuantSpec, format_spec, msq_assign, parse_quant
from hwsim.formats._kernels import mean_square_diff
from hwsim.formats._rows import dequantize_rows, store_rows

from ._meta import QUANT_ATTR, QuantInfo
from ._prune import Target, check_finite, select_targets, taylor_gradients

__all__ = ["ActQuant", "quantize", "requant"]


@torch.library.custom_op("hwsim::requant", mutates_args=())
def requant(x: torch.Tensor, scale: float, frac: int, lo: float, hi: float) -> torch.Tensor:
    """Fake-quantize ``x`` to fixed point: ``float(clamp(round(x / scale * 2**frac), lo, hi) * 2**-frac * scale)``.

    Computed in float64, so it agrees bit for bit with `hwsim.formats.Fixed` (round half to even, saturating).
    A custom op so that torch.export keeps it as one node: `capture` maps it to the requantization the
    hardware performs on the vector unit, where its ATen decomposition (round, clamp) has no mapping.
    """
    q = torch.clamp(torch.round(x.double() / scale * 2.0**frac), lo, hi)
    return (q * 2.0**-frac * scale).to(x.dtype)


@requant.register_fake
def _requant_fake(x, scale, frac, lo, hi):
    return torch.empty_like(x)


def _requant_backward(ctx, grad):  # straight-through estimator, for quantization-aware fine-tuning
    return grad, None, None, None, None


requant.register_autograd(_requant_backward)


class ActQuant:
    """Forward pre-hook fake-quantizing a layer's first input to fixed point with a per-tensor scale (`requant`).

    A plain picklable object so the model still deep-copies and saves; `quantize` recognises its own hooks by
    this type to replace them.
    """

    def __init__(self, fmt: Fixed, scale: float) -> None:
        self.fmt = fmt
        self.scale = float(scale)
        self.lo, self.hi = float(fmt.int_min), float(fmt.int_max)

    def __call__(self, module: nn.Module, args: tuple) -> tuple:
        x = args[0]
        q = requant(x, self.scale, self.fmt.frac, self.lo, self.hi)
        # the same tensor passed again (MultiheadAttention's query is key is value) stays the same tensor, so
        # the module keeps its self-attention path
        return q, *(q if a is x else a for a in args[1:])

    def __repr__(self) -> str:
        return f"ActQuant({self.fmt.name}, scale={self.scale!r})"


def _check_spec(spec: str | QuantSpec) -> QuantSpec:
    if isinstance(spec, str):
        return parse_quant(spec)
    if not isinstance(spec, QuantSpec):
        raise TypeError(f"quant spec must be a string or QuantSpec, not {spec!r}")
    return spec  # a QuantSpec validated itself when it was built


def _encode_rows(fmt: NumberFormat, rows: np.ndarray, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes and float32 dequantized rows with ``encode(float32(decode(c) * s) / s) == c``.

    The first encode rounds the original weights. Storing the dequantized value in float32 can move it
    across a rounding boundary of a format whose levels are closer than float32's precision (wide SP2 fields,
    long posits); re-encoding the stored value then settles on the code that value really has.

    Whole-array numpy rounds: the path of formats without a fused kernel (`store_rows` does the same per
    weight in one pass for fixed point, SP2 and posits).
    """
    s = scale[:, None]
    codes = fmt.encode(rows / s)
    for _ in range(4):
        w32 = (fmt.decode(codes) * s).astype(np.float32)
        again = fmt.encode(w32.astype(np.float64) / s)
        if np.array_equal(again, codes):
            return codes, w32
        codes = again
    raise RuntimeError(f"{fmt.name}: codes did not settle under float32 storage")  # pragma: no cover


def _row_quant_error(fmt: NumberFormat, rows: np.ndarray) -> np.ndarray:
    """Per-element error q(w) - w of ``rows`` in ``fmt`` with the format's own row scales."""
    s = fmt.row_scales(rows)[:, None]
    return fmt.quantize(rows / s) * s - rows


MIX_CRITERIA = ("gain", "importance")


def _posit_rows(spec: QuantSpec, rows: np.ndarray, grad: np.ndarray | None, mix_by: str) -> np.ndarray:
    """Which rows of a posit+fixed layer go to posit (True): the ``round(fraction * rows)`` with the largest score.

    ``gain`` (default; the Posit4/FixP4 paper's idea of combining a weight's importance with its quantization
    error, arXiv 2312.02210): the first-order Taylor estimate of the loss a row saves in posit instead of fixed
    point, sum_k |g_k| * (|e_fixed,k| - |e_posit,k|), with g the loss gradient (``data``); without gradients every
    weight counts alike, sum_k (e_fixed,k**2 - e_posit,k**2). ``importance``: mean |w * g| alone (the rows that
    matter most, whatever their error), or without gradients the relative error under fixed point.

    Per row, not per weight: the MAC's format mode, like the scale, is one per weight row (the engine loads a
    row's mode with its weights), so a per-weight choice would need a mode bit and a scale per weight.
    """
    fmt, alt = spec.formats()
    if mix_by == "gain":
        e_fix, e_pos = _row_quant_error(alt, rows), _row_quant_error(fmt, rows)
        if grad is not None:
            score = (np.abs(grad) * (np.abs(e_fix) - np.abs(e_pos))).sum(axis=1)
        else:
            score = (e_fix**2 - e_pos**2).sum(axis=1)
    elif grad is not None:
        score = np.abs(rows * grad).mean(axis=1)
    else:
        energy = (rows**2).sum(axis=1)
        err = (_row_quant_error(alt, rows) ** 2).sum(axis=1)
        score = np.where(energy > 0, err / np.where(energy > 0, energy, 1.0), 0.0)  # fixed point's worst rows
    order = np.argsort(-score, kind="stable")  # ties to the lower row
    modes = np.zeros(rows.shape[0], dtype=bool)
    modes[order[: round(spec.fraction * rows.shape[0])]] = True
    return modes


def _row_modes(spec: QuantSpec, rows: np.ndarray, grad: np.ndarray | None, mix_by: str) -> np.ndarray | None:
    """Row modes of a mixed scheme (1 = the first format), None for single-format schemes."""
    if not spec.mixed:
        return None
    if spec.scheme == "msq":
        return msq_assign(rows, spec.fraction, bits=spec.bits)
    return _posit_rows(spec, rows.astype(np.float64), grad, mix_by)  # astype keeps the layout numpy sums in


def _quantize_rows(spec: QuantSpec, rows: np.ndarray, modes: np.ndarray | None):
    """(codes, float32 dequantized rows, float64 row scales) of (out, K) ``rows`` under ``spec`` and ``modes``.

    Codes and dequantized rows come back in the memory layout of ``rows``, so a transposed target's rows view
    is already its parameter layout.
    """
    fmt, alt = spec.formats()
    parts = [(fmt, None)] if modes is None else [(fmt, modes), (alt, ~modes)]
    codes = np.empty_like(rows, dtype=np.result_type(*(f.encode(0.0).dtype for f, _ in parts)))
    w32 = np.empty_like(rows, dtype=np.float32)
    scale = np.ones(rows.shape[0])
    for f, sel in parts:
        if sel is None:
            scale = f.row_scales(rows)
        elif sel.any():
            # In C order a row's scale does not depend on the other rows: no copy. A transposed target's F-ordered
            # rows get the C-ordered copy they always did, which keeps the order a posit's rms sums in.
            scale[sel] = f.row_scales(rows)[sel] if rows.flags.c_contiguous else f.row_scales(rows[sel])
        else:
            continue
        if not store_rows(f, rows, scale, codes, w32, sel):
            part = slice(None) if sel is None else sel
            codes[part], w32[part] = _encode_rows(f, rows[part], scale[part])
    return codes, w32, scale


def _formats_by_mode(spec: QuantSpec) -> dict[int, NumberFormat]:
    """Row mode -> format, as the records say it: {0: the format} or, mixed, {1: the first, 0: the other}."""
    fmt, alt = spec.formats()
    return {0: fmt} if alt is None else {1: fmt, 0: alt}


def _mse(spec: QuantSpec, w32: np.ndarray, rows: np.ndarray) -> float:
    """The report's mean squared weight change, bit for bit the numpy expression it always was,
    ``((w32.astype(np.float64) - rows) ** 2).mean()``: numpy sums that in the difference's memory order, the
    rows' own layout for fixed point (its encoder keeps its input's layout) and C order for every other format
    (so the two differ for a transposed parameter's F-ordered rows)."""
    fmt, alt = spec.formats()
    if alt is None and isinstance(fmt, Fixed) and not rows.flags.c_contiguous:
        return mean_square_diff(w32.T, rows.T)  # F-ordered rows: their memory order is the transpose's C order
    return mean_square_diff(w32, rows)


ACT_SAMPLE = 4096  # input values kept per layer for its data-dependent MAC energy


def _calibrate(model: nn.Module, targets: Sequence[Target], calib, act_bits: int
               ) -> dict[str, tuple[Fixed, float, np.ndarray]]:
    """Run ``calib`` through the model once and pick each target's input format and per-tensor scale; also keep
    the codes of its first `ACT_SAMPLE` input values (in memory order: consecutive features of a token, or
    consecutive pixels of a channel)."""
    stats: dict[str, list] = {t.name: [0.0, 0.0, False, None] for t in targets}  # max|x|, min x, seen, sample

    def record(name: str):
        def hook(module: nn.Module, args: tuple) -> None:
            x = args[0].detach()
            st = stats[name]
            st[0] = max(st[0], float(x.abs().max())) if x.numel() else st[0]
            st[1] = min(st[1], float(x.min())) if x.numel() else st[1]
            st[2] = True
            if st[3] is None:
                st[3] = x.reshape(-1)[:ACT_SAMPLE].double().cpu().numpy()
        return hook

    args = tuple(calib) if isinstance(calib, (tuple, list)) else (calib,)
    modes = {m: m.training for m in model.modules()}
    # prepend: see the raw input even when an earlier quantize call left an ActQuant on the layer
    handles = [t.module.register_forward_pre_hook(record(t.name), prepend=True) for t in targets]
    try:
        model.eval()
        with torch.no_grad():
            model(*args)
    finally:
        for h in handles:
            h.remove()
        for m, training in modes.items():
            m.train(training)
    # nn.MultiheadAttention applies out_proj's weight through F.linear, never calling the module
    functional = {id(m.out_proj) for m in model.modules() if isinstance(m, nn.MultiheadAttention)}
    out = {}
    for t in targets:
        amax, amin, seen, sample = stats[t.name]
        if not seen and id(t.module) in functional:
            continue  # weight-only: its parent applies the weight itself, so no hook can see its input
        if not seen:
            raise ValueError(f"layer {t.name} never ran on the calibration input; exclude it or fix calib")
        if not np.isfinite(amax):
            raise ValueError(f"layer {t.name}: its calibration input holds NaN or inf")
        # Unsigned when the layer only ever saw x >= 0 (after a ReLU, image pixels): one more bit of resolution.
        fmt = Fixed(act_bits, act_bits, signed=False) if amin >= 0 else Fixed(act_bits, act_bits - 1)
        scale = amax / fmt.largest
        scale = scale if scale > 0 else 1.0
        out[t.name] = (fmt, scale, fmt.encode(sample / scale))
    return out


def quantize(
    model: nn.Module,
    spec: str | QuantSpec,
    *,
    include: str | Sequence[str] | None = None,
    exclude: str | Sequence[str] | None = None,
    calib: torch.Tensor | tuple | None = None,
    act_bits: int | None = None,
    data: tuple | None = None,
    mix_by: str = "gain",
    finetune=None,
    train_data: tuple | None = None,
) -> pd.DataFrame:
    """Quantize the GEMM weights of ``model`` (`select_targets`) in place, per output row; return the report.

    ``spec`` (string or `QuantSpec`, see `parse_quant`):

    - ``fixed:B``: Fixed(B, B-1) codes, row scale max|row| / largest level (the row max is exact).
    - ``sp2:B``: SP2(B) likewise (largest level 1).
    - ``msq:B:F``: `msq_assign` gives ``round(F * rows)`` rows to SP2(B) (row_modes 1), the rest to
      Fixed(B, B-1) (0); each row max-scaled in its own format.
    - ``posit:N:ES``: Posit(N, ES), row scale 2**round(log2(rms(row))).
    - ``posit+fixed:N:ES:B[:F]``: ``round(F * rows)`` rows in posit (row_modes 1), the rest in Fixed(B, B-1):
      by ``mix_by="gain"`` the rows whose loss posit saves most (importance times the quantization error, from
      the gradients of ``data=(inputs, targets, loss_fn)`` when given), by ``"importance"`` the rows with the
      largest mean |w * grad| (see `_posit_rows`).

    Targets: GEMM weights whose parameter name matches an ``include`` fnmatch pattern (default all)
    and no ``exclude`` pattern. With ``act_bits``, ``calib`` (an input tensor or tuple of arguments) is run
    through the model once and every quantized layer gets an `ActQuant` pre-hook: fixed point with
    ``act_bits`` bits, unsigned (``ufixed:B:B``) when its calibration input was non-negative, else
    ``fixed:B:B-1``, scale max|x| / largest level. Re-quantizing a layer replaces its record and its hook.
    A layer whose weight its parent applies itself (MultiheadAttention's out_proj) has no input to hook: its
    weights are quantized, its input is not (``act_format`` None; the simulation report says so).

    ``finetune`` (epochs, or a `hwsim.models.Recipe`) with ``train_data=(x, y)``: quantization-aware fine-tuning
    (straight-through estimator, `finetune_quantized`) of the float weights under this quantization (row modes
    fixed, activations at their calibrated scales) before the final codes are taken.

    Returns one row per layer: layer, shape, scheme, w_format, alt_format, rows, w_rows (rows in w_format),
    alt_rows (rows in alt_format), mse (mean squared weight change), act_format, act_scale.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, not {type(model).__name__} (load a registry model with "
                        "hwsim.models.create_model)")
    spec = _check_spec(spec)
    fmt, alt = spec.formats()
    if mix_by not in MIX_CRITERIA:
        raise ValueError(f"mix_by must be one of {', '.join(MIX_CRITERIA)}, not {mix_by!r}")
    if mix_by != "gain" and spec.scheme != "posit+fixed":
        raise ValueError(f"mix_by applies to posit+fixed only, not {spec}")
    train = None
    if finetune is not None:
        from ._finetune import check_finetune

        finetune, train = check_finetune(finetune, train_data)
    elif train_data is not None:
        raise ValueError("train_data is for finetune; give finetune (epochs) or leave train_data out")
    if act_bits is not None:
        if isinstance(act_bits, bool) or not isinstance(act_bits, int) or not 2 <= act_bits <= 32:
            raise ValueError(f"act_bits must be an integer in [2, 32], not {act_bits!r}")
        if calib is None:
            raise ValueError("act_bits needs calib: an input batch to calibrate the activation scales on")
    targets = select_targets(model, include, exclude)
    check_finite(targets)
    for t in targets:
        if t.weight.dtype != torch.float32:  # the bit-exact contract is float32(decode(codes) * scale)
            raise ValueError(f"layer {t.name} has {t.weight.dtype} weights; quantize expects float32")
    need_grad = spec.kind.sensitivity and data is not None
    grads = taylor_gradients(model, targets, data) if need_grad else [None] * len(targets)
    acts = _calibrate(model, targets, calib, act_bits) if act_bits is not None else {}

    modes_of = {t.name: _row_modes(spec, t.rows(), None if g is None else t.to_rows(g), mix_by)
                for t, g in zip(targets, grads, strict=True)}
    if finetune is not None:  # trains the float weights under fake quantization; the codes are taken after
        from ._finetune import finetune_quantized

        finetune_quantized(model, targets, lambda t, rows: _quantize_rows(spec, rows, modes_of[t.name])[1],
                           acts, train, finetune)

    # ---- compute every record before modifying anything
    records: dict[str, QuantInfo] = {}
    # (codes, scale, modes) in rows layout: the new float32 weights are derived from them one layer at a time below
    # (bit for bit those _quantize_rows returned), not held for every layer at once (BERT-large: 1.3 GB)
    row_codes: dict[str, tuple] = {}
    report = []
    for t in targets:
        rows = t.rows()  # a view: the finetuned weights when fine-tuning ran
        modes = modes_of[t.name]
        codes, w32, scale = _quantize_rows(spec, rows, modes)
        shape = tuple(t.weight.shape)  # the report's; records keep the parameter's layout via from_rows
        act_fmt, act_scale, act_sample = acts.get(t.name, (None, None, None))
        records[t.name] = QuantInfo(
            scheme=str(spec),
            w_format=format_spec(fmt),
            codes=t.from_rows(codes),
            scale=scale.astype(np.float64),
            row_modes=None if modes is None else modes.astype(np.uint8),
            alt_format=None if alt is None else format_spec(alt),
            act_format=None if act_fmt is None else act_fmt.name,
            act_scale=act_scale,
            transposed=t.transposed,
            act_sample=act_sample,
        )
        row_codes[t.name] = codes, scale, modes
        n_mode1 = t.out if modes is None else int(modes.sum())
        report.append({
            "layer": t.name,
            "shape": shape,
            "scheme": str(spec),
            "w_format": records[t.name].w_format,
            "alt_format": records[t.name].alt_format,
            "rows": t.out,
            "w_rows": n_mode1,
            "alt_rows": t.out - n_mode1,
            "mse": _mse(spec, w32, rows),
            "act_format": records[t.name].act_format,
            "act_scale": act_scale,
        })
        del w32

    # ---- modify: weights, then hooks (this call's layers drop any ActQuant an earlier call left)
    with torch.no_grad():
        for t in targets:
            codes, scale, modes = row_codes[t.name]
            w32 = t.from_rows(dequantize_rows(_formats_by_mode(spec), codes, scale, modes))
            t.weight.copy_(torch.from_numpy(w32))
    for t in targets:
        hooks = t.module._forward_pre_hooks
        for key in [k for k, h in hooks.items() if isinstance(h, ActQuant)]:
            del hooks[key]
        if t.name in acts:
            t.module.register_forward_pre_hook(ActQuant(*acts[t.name][:2]))
    old = dict(getattr(model, QUANT_ATTR, None) or {})
    old.update(records)
    setattr(model, QUANT_ATTR, old)
    df = pd.DataFrame(report)
    df.attrs["spec"] = str(spec)
    return df
