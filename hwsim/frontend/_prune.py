"""Pruning: zero weights in place and record a `PruneInfo` per weight (see `_meta` for the GEMM view).

Every call validates everything first (spec, targets, shapes, finiteness, gradients) and computes every mask
before touching a single weight, so an error never leaves a model half-pruned. Pruning an already pruned
model composes: the ranking sees the already-zeroed weights and the recorded mask is the AND of both.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.autograd.graph import increment_version

from hwsim.formats._kernels import row_square_sums, run_rows

from ._blocks import L1, L2, TAYLOR, block_any, block_sums, expand_blocks, nm_mask, zero_dropped
from ._meta import ALLOCATION_ATTR, PRUNE_ATTR, QUANT_ATTR, PruneInfo
from ._spec import PruneSpec, parse_prune

__all__ = ["prune"]

SCOPES = ("layer", "global")
SALIENCIES = ("l1", "l2", "taylor")


# ------------------------------------------------------------------------------------- shared with _quant


@dataclass(frozen=True)
class Target:
    """One prunable / quantizable weight: its parameter name, module and GEMM shape.

    ``transposed``: the parameter is stored (in, out), as transformers' ``Conv1D`` keeps it (its forward is
    ``addmm(b, x, W)``); every other layer type stores (out, in, ...). Records on the model (masks, codes)
    keep the parameter's own layout; `rows` / `from_rows` convert to and from the (out, K) rows view.
    """

    name: str  # parameter name, e.g. "net.0.weight"
    module: nn.Module
    weight: nn.Parameter
    groups: int  # conv groups (1 for Linear)
    transposed: bool = False

    @property
    def k(self) -> int:
        """GEMM K: inputs per output (in / groups * kernel size)."""
        return int(self.weight.shape[0]) if self.transposed else int(self.weight[0].numel())

    @property
    def n(self) -> int:
        """GEMM N per group (out / groups)."""
        return self.out // self.groups

    @property
    def out(self) -> int:
        return int(self.weight.shape[1] if self.transposed else self.weight.shape[0])

    def to_rows(self, arr: np.ndarray) -> np.ndarray:
        """An array in the parameter's layout as (out, K) rows."""
        return arr.T if self.transposed else arr.reshape(self.out, -1)

    def from_rows(self, rows: np.ndarray) -> np.ndarray:
        """(out, K) rows back in the parameter's layout."""
        return np.ascontiguousarray(rows.T) if self.transposed else rows.reshape(tuple(self.weight.shape))

    def rows(self) -> np.ndarray:
        """The weight as (out, K): one row per output channel, i.e. the GEMM view transposed.

        For a float32 or float64 CPU weight a view of the parameter's own data (no copy; do not write to it),
        else a float64 copy.
        """
        w = self.weight.detach().cpu()
        return self.to_rows((w if w.dtype in (torch.float32, torch.float64) else w.double()).numpy())


# Layer types whose weight is a GEMM operand: name -> (isinstance test, parameter attribute, transposed).
# transformers' Conv1D (GPT-2's c_attn / c_proj / c_fc) is matched by name so transformers is not imported.
def _is_hf_conv1d(mod: nn.Module) -> bool:
    return type(mod).__name__ == "Conv1D" and hasattr(mod, "nf") and not isinstance(mod, nn.Conv1d)


WEIGHT_LAYERS = (
    ("Linear", lambda m: isinstance(m, nn.Linear), "weight", False),
    ("Conv1d/Conv2d", lambda m: isinstance(m, nn.Conv1d | nn.Conv2d), "weight", False),
    ("transformers Conv1D", _is_hf_conv1d, "weight", True),
    ("MultiheadAttention in_proj", lambda m: isinstance(m, nn.MultiheadAttention), "in_proj_weight", False),
)
LAYER_TYPES = ", ".join(kind for kind, *_ in WEIGHT_LAYERS)
# Layers that compute with a weight but have no mapping here: matched by a spec, they are an error, never
# silently left dense (MultiheadAttention with kdim/vdim != embed_dim keeps separate q/k/v weights).
UNSUPPORTED_LAYERS = (nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Bilinear,
                      nn.RNNBase)


def _unsupported(mod: nn.Module) -> list[str]:
    if isinstance(mod, UNSUPPORTED_LAYERS):
        return [n for n, p in mod.named_parameters(recurse=False) if p.dim() > 1]
    if any(test(mod) for _, test, _, _ in WEIGHT_LAYERS) and hasattr(mod, "parametrizations") \
            and "weight" in mod.parametrizations:
        return ["weight"]  # a computed weight (weight_norm, spectral_norm): no parameter holds what runs
    if isinstance(mod, nn.MultiheadAttention) and mod.in_proj_weight is None:
        return [n for n in ("q_proj_weight", "k_proj_weight", "v_proj_weight") if getattr(mod, n, None) is not None]
    return []


def _weights(model: nn.Module):
    """(parameter name, module, parameter, transposed) of every GEMM weight, in module order."""
    for mod_name, mod in model.named_modules():
        for _, test, attr, transposed in WEIGHT_LAYERS:
            w = getattr(mod, attr, None)
            if test(mod) and isinstance(w, nn.Parameter):
                yield (f"{mod_name}.{attr}" if mod_name else attr), mod, w, transposed


def _patterns(p: str | Iterable[str] | None) -> list[str] | None:
    if p is None:
        return None
    return [p] if isinstance(p, str) else list(p)


def select_targets(model: nn.Module, include: str | Sequence[str] | None, exclude: str | Sequence[str] | None,
                   default_include: str | Sequence[str] | None = None) -> list[Target]:
    """Every GEMM weight (`WEIGHT_LAYERS`: Linear, Conv1d/Conv2d incl. grouped, transformers' Conv1D, the fused
    in_proj of MultiheadAttention) whose parameter name matches an `include` pattern and no `exclude`.

    Patterns are fnmatch patterns on parameter names (``blocks.*.attn.qkv.weight``). A weight shared by two
    modules is listed once, under its first name. Raises ValueError when nothing matches.
    """
    inc = _patterns(include) if include is not None else _patterns(default_include)
    exc = _patterns(exclude) or []
    seen: set[int] = set()
    targets: list[Target] = []
    candidates: list[str] = []

    def matched(name: str) -> bool:
        return (inc is None or any(fnmatch.fnmatchcase(name, p) for p in inc)) and \
            not any(fnmatch.fnmatchcase(name, p) for p in exc)

    owners: dict[int, list[tuple[str, nn.Module]]] = {}  # parameter -> every module holding it (tied weights)
    for mod_name, mod in model.named_modules(remove_duplicate=False):
        for pname, p in mod.named_parameters(recurse=False):
            owners.setdefault(id(p), []).append((f"{mod_name}.{pname}" if mod_name else pname, mod))
    unmappable: list[str] = []
    for mod_name, mod in model.named_modules():
        for attr in _unsupported(mod):
            name = f"{mod_name}.{attr}" if mod_name else attr
            unmappable.append(name)
            if matched(name):
                raise ValueError(f"layer {name} ({type(mod).__name__}) has no GEMM mapping here (supported: "
                                 f"{LAYER_TYPES}); exclude it (exclude={name!r}, --exclude {name})")
    for name, mod, weight, transposed in _weights(model):
        candidates.append(name)
        if id(weight) in seen:
            continue
        if not matched(name):
            continue
        if weight.dim() not in (2, 3, 4):
            raise ValueError(f"layer {name} has a {weight.dim()}-D weight {tuple(weight.shape)}; only 1-D and 2-D "
                             "convolutions and 2-D GEMM weights map onto the engine; exclude it")
        seen.add(id(weight))
        for other_name, other in owners.get(id(weight), ()):
            if not any(test(other) for _, test, _, _ in WEIGHT_LAYERS):
                raise ValueError(f"layer {name} is tied to {other_name} ({type(other).__name__}): pruning or "
                                 f"quantizing it would change that too; exclude it (--exclude {name}) or untie them")
        groups = mod.groups if isinstance(mod, nn.Conv1d | nn.Conv2d) else 1
        targets.append(Target(name, mod, weight, groups, transposed))
    unused = [p for p in exc if not any(fnmatch.fnmatchcase(c, p) for c in candidates + unmappable)]
    if unused:  # a typo in an exclude pattern would otherwise compress the layer it meant to protect
        raise ValueError(f"exclude pattern {unused[0]!r} matches no GEMM weight; candidates: "
                         f"{', '.join(candidates[:8])}{', ...' if len(candidates) > 8 else ''}")
    if not targets:
        shown = ", ".join(candidates[:8]) + (", ..." if len(candidates) > 8 else "")
        raise ValueError(f"no GEMM weight ({LAYER_TYPES}) matched include={inc} exclude={exc}; "
                         f"candidates: {shown or 'none'}")
    return targets


def check_finite(targets: Sequence[Target]) -> None:
    """ValueError naming the first layer whose weight holds NaN or inf."""
    for t in targets:
        w = t.weight.detach()
        # min and max are NaN when any element is, and +-inf when one is: one pass, no full-size mask
        if w.numel() and not all(torch.isfinite(v) for v in torch.aminmax(w)):
            raise ValueError(f"layer {t.name} has NaN or inf weights")


def taylor_gradients(model: nn.Module, targets: Sequence[Target], data) -> list[np.ndarray]:
    """d loss / d weight for every target (float64, torch shape) from one forward/backward pass on ``data``.

    ``data = (inputs, targets, loss_fn)``; ``inputs`` is a tensor or a tuple of positional arguments. The pass
    runs in eval mode (no dropout noise in a ranking) through `torch.autograd.grad`, so no ``.grad`` is left
    behind; the training flags and ``requires_grad`` of the model are restored afterwards.
    """
    if not (isinstance(data, (tuple, list)) and len(data) == 3 and callable(data[2])):
        raise ValueError("taylor saliency needs data=(inputs, targets, loss_fn) for one backward pass")
    inputs, labels, loss_fn = data
    args = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    return weight_gradients(model, targets, lambda: loss_fn(model(*args), labels), "the loss gradient")


def weight_gradients(model: nn.Module, targets: Sequence[Target], loss, what: str) -> list[np.ndarray]:
    """d loss() / d weight of every target (float64, torch shape), ``loss`` a function running the model once.

    Eval mode (no dropout noise in a ranking), through `torch.autograd.grad` (no ``.grad`` left behind); the
    training flags and ``requires_grad`` are restored. ValueError naming the layer when ``what`` (the gradient's
    name in the message) holds NaN or inf.
    """
    modes = {m: m.training for m in model.modules()}
    needs = [t.weight.requires_grad for t in targets]
    try:
        model.eval()
        for t in targets:
            t.weight.requires_grad_(True)
        with torch.enable_grad():
            grads = torch.autograd.grad(loss(), [t.weight for t in targets], allow_unused=True)
    finally:
        for m, training in modes.items():
            m.train(training)
        for t, need in zip(targets, needs, strict=True):
            t.weight.requires_grad_(need)
    out = []
    for t, g in zip(targets, grads, strict=True):
        g64 = np.zeros(tuple(t.weight.shape)) if g is None else g.detach().cpu().double().numpy()
        if not np.isfinite(g64).all():
            raise ValueError(f"layer {t.name}: {what} holds NaN or inf")
        out.append(g64)
    return out


# ---------------------------------------------------------------------------------------------- pruning


def _check_spec(spec: str | PruneSpec) -> PruneSpec:
    if isinstance(spec, str):
        return parse_prune(spec)
    if not isinstance(spec, PruneSpec):
        raise TypeError(f"prune spec must be a string or PruneSpec, not {spec!r}")
    return spec  # a PruneSpec validated itself when it was built


def _block_layout(t: Target, block: tuple[int, int]) -> tuple[int, int]:
    """(ceil(K / bk), groups * ceil(N / bn)): the block-mask shape of ``t``.

    Blocks tile the GEMM view (K, N) from its origin (the last ones partial with pad). For a grouped conv each
    group's (K, N) is tiled on its own and the groups' block masks sit side by side along N, so no block
    straddles two groups.
    """
    bk, bn = block
    return -(-t.k // bk), t.groups * -(-t.n // bn)


def _block_counts(t: Target, block: tuple[int, int]) -> np.ndarray:
    """Real (not pad) elements of every block, in the block-mask shape."""
    bk, bn = block
    nkb, ncols = _block_layout(t, block)
    cols = np.minimum(bk, t.k - bk * np.arange(nkb))
    rows = np.tile(np.minimum(bn, t.n - bn * np.arange(ncols // t.groups)), t.groups)
    return np.outer(cols, rows).astype(np.float64)


_BLOCK_SUMS = {"l1": L1, "l2": L2, "taylor": TAYLOR}


def _run_blocks(kernel, t: Target, block: tuple[int, int], *args) -> None:
    """``kernel(*args, j0, j1)`` over ranges of ``t``'s block columns (`_blocks`), on threads when it is large."""
    columns = _block_layout(t, block)[1]
    run_rows(kernel, columns, t.k * t.out // max(columns, 1), *args)


def _block_saliency(t: Target, rows: np.ndarray, grad: np.ndarray | None, block: tuple[int, int],
                    saliency: str) -> np.ndarray:
    """Flat per-block saliency over each block's real elements (pad never adds zeros to a norm or a mean)."""
    # Every saliency is a mean over the block's real elements (l1: mean |w|, l2: root mean square, taylor: mean
    # |w * dL/dw|), so a partial edge block (:pad) competes on equal terms instead of always losing to full
    # blocks; for full blocks this ranks exactly as the sum would.
    # taylor (LPViT-style): a first-order estimate of the loss change when the block is removed
    sums = np.zeros(_block_layout(t, block))
    _run_blocks(block_sums, t, block, rows, np.zeros((1, 1)) if grad is None else grad, _BLOCK_SUMS[saliency],
                t.n, *block, sums)
    mean = (sums / _block_counts(t, block)).ravel()
    return np.sqrt(mean) if saliency == "l2" else mean


def _expand(t: Target, keep: np.ndarray, block: tuple[int, int]) -> np.ndarray:
    """The element mask (parameter layout) of the flat block mask ``keep``."""
    mask = np.empty(tuple(t.weight.shape), dtype=bool)
    _run_blocks(expand_blocks, t, block, keep.reshape(_block_layout(t, block)).view(np.uint8), t.n, *block,
                t.to_rows(mask.view(np.uint8)))
    return mask


def _block_mask(t: Target, mask: np.ndarray, block: tuple[int, int]) -> np.ndarray:
    """Blocks with any element kept in the element ``mask`` (parameter layout)."""
    out = np.empty(_block_layout(t, block), dtype=bool)
    _run_blocks(block_any, t, block, t.to_rows(mask.view(np.uint8)), t.n, *block, out.view(np.uint8))
    return out


def _top(scores: np.ndarray, keep: int) -> np.ndarray:
    """Boolean mask of the `keep` largest scores; ties go to the lower index (as a stable sort of -scores)."""
    if keep <= 0 or keep >= scores.size:
        return np.full(scores.size, keep > 0, dtype=bool)
    # a selection instead of a sort: every score above the keep-th largest, then the first of those equal to it
    threshold = np.partition(scores, scores.size - keep)[scores.size - keep]
    mask = scores > threshold
    mask[np.flatnonzero(scores == threshold)[: keep - np.count_nonzero(mask)]] = True
    return mask


def _keep_count(density: float, total: int) -> int:
    """round(density * total), but at least one when density > 0: a layer never silently loses every block,
    element or channel because it is small (density 0 is the explicit request to remove them all)."""
    return max(1, round(density * total)) if density > 0 and total else round(density * total)


def _at_least_one(keep: np.ndarray, scores: np.ndarray, density: float) -> np.ndarray:
    """A global ranking that left a layer empty keeps that layer's best-scoring entry (density > 0)."""
    if density > 0 and keep.size and not keep.any():
        keep = keep.copy()
        keep[int(np.argmax(scores))] = True
    return keep


def _normalise(s: np.ndarray) -> np.ndarray:
    mean = s.mean() if s.size else 0.0
    return s / mean if mean > 0 else np.zeros_like(s)


def prune(
    model: nn.Module,
    spec: str | PruneSpec,
    *,
    include: str | Sequence[str] | None = None,
    exclude: str | Sequence[str] | None = None,
    scope: str = "layer",
    saliency: str = "l1",
    data: tuple | None = None,
    arch=None,
    example_args: tuple | None = None,
    example_kwargs: dict | None = None,
    calib: tuple | None = None,
) -> pd.DataFrame:
    """Prune the GEMM weights of ``model`` in place and return the per-layer density report.

    ``spec`` (string or `PruneSpec`, see `parse_prune`): ``block:BKxBN:D[:pad]`` keeps ``round(D * blocks)``
    (bk, bn) blocks of the GEMM view per layer (``scope="layer"``) or over all layers (``scope="global"``),
    ranked by ``saliency`` ``"l1"``/``"l2"`` (mean |w| / root mean square over the block) or ``"taylor"``
    (mean |W * grad|, needs
    ``data=(inputs, targets, loss_fn)``); ``nm:N:M`` keeps the N largest |w| of every M consecutive weights
    along K; ``unstructured:D`` keeps the ``round(D * count)`` largest |w| per layer or globally;
    ``channel:D`` keeps the ``round(D * out)`` output channels of largest L2 norm. With D > 0 every layer keeps
    at least one block / element / channel (a small layer never rounds to empty; globally, a layer the ranking
    left empty keeps its best one); D = 0 removes them all, as asked.

    Targets: weights whose parameter name matches an ``include`` fnmatch pattern (default: the model's
    ``hwsim_prunable`` patterns if it defines them, else every GEMM weight of `select_targets`) and no
    ``exclude`` pattern; a matched layer type with no GEMM mapping (Conv3d, ConvTranspose, ...) is an error.
    A weight already quantized is refused (prune first: zeroing would invalidate its recorded codes).

    ``auto:METRIC=F[:BKxBN][:dp|:lpvit][:pad]`` (`hwsim.frontend._auto`) block-prunes every layer at its own
    density, chosen so that the model's simulated METRIC (``latency``, ``energy`` or ``macs``) on ``arch``
    (an `AcceleratorConfig` or YAML path; default the default accelerator) is at most F of the dense model's,
    with the least LPViT distortion; blocks default to the engine's (block_k x array columns). It captures the
    model on ``example_args`` / ``example_kwargs``, which it needs, and ranks blocks by ``saliency`` (``taylor``
    uses ``data``'s loss when given, else the output energy); ``:output`` measures distortion on ``calib``
    (inputs; default the example inputs) instead of LPViT's estimate. The DataFrame's ``attrs["allocation"]`` holds the
    choice: per-layer kept blocks, cost and distortion, and the predicted fraction of the dense METRIC.

    Kept weights keep their exact values, dropped ones become +0. Each weight's `PruneInfo` lands in
    ``model._hwsim_prune``; a second call composes: mask = AND of both, method ``"first+second"`` when the two
    differ (e.g. ``"block+nm"``), and an earlier block structure is kept (its block_mask recomputed from the
    composed mask, True where any element of the block is kept). The returned DataFrame has one row
    per layer: layer, shape, method, block, kept, total, density (of the recorded, composed mask) and, for
    block pruning, blocks_kept / blocks_total.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, not {type(model).__name__} (load a registry model with "
                        "hwsim.models.create_model)")
    spec = _check_spec(spec)
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    if saliency not in SALIENCIES:
        raise ValueError(f"saliency must be one of {', '.join(SALIENCIES)}, not {saliency!r}")
    if spec.method not in ("block", "auto") and saliency != "l1":
        raise ValueError(f"saliency={saliency!r} applies to block pruning only; {spec.method} ranks by magnitude")
    if scope == "global" and spec.method not in ("block", "unstructured"):
        raise ValueError(f"scope='global' applies to block and unstructured pruning, not {spec.method}")

    auto = spec.method == "auto"
    if not auto and (arch is not None or example_args is not None or example_kwargs is not None or
                     calib is not None):
        raise ValueError(f"arch, example_args, example_kwargs and calib apply to auto pruning, not {spec.method}")
    if auto and calib is not None and spec.distortion != "output":
        raise ValueError(f"calib is the input of measured (:output) distortion; {spec} uses the Taylor estimate")
    if auto and example_args is None:
        raise ValueError("auto pruning simulates the model: give example_args (its example inputs)")

    targets = select_targets(model, include, exclude, getattr(model, "hwsim_prunable", None))
    check_finite(targets)
    quantized = getattr(model, QUANT_ATTR, None) or {}
    for t in targets:
        if t.name in quantized:
            raise ValueError(f"layer {t.name} is already quantized; prune before quantize (pruning would leave "
                             "its recorded codes stale)")
    cfg = None
    if auto:
        from .._simulate import _resolve_arch

        cfg = _resolve_arch(arch)
        pruned = sorted(set(getattr(model, PRUNE_ATTR, None) or {}) & {t.name for t in targets})
        if pruned:
            raise ValueError(f"auto pruning allocates over an unpruned model; {pruned[0]} is already pruned")
        # the masks are block pruning's, at the layers' allocated densities (filled in below)
        spec_asked = spec
        spec = PruneSpec("block", 1.0, block=spec.block or (cfg.array.block_k, cfg.array.cols), pad=spec.pad)

    if spec.method == "nm":
        for t in targets:
            if t.k % spec.m:
                raise ValueError(f"N:M pruning {spec}: layer {t.name} has K={t.k} inputs per output, not a "
                                 f"multiple of M={spec.m}; exclude it")
    if spec.method == "block":
        bk, bn = spec.block
        for t in targets:
            if not spec.pad and (t.k % bk or t.n % bn):
                grp = f" per group ({t.groups} groups)" if t.groups > 1 else ""
                raise ValueError(f"block {bk}x{bn} does not divide layer {t.name}: GEMM view K={t.k}, N={t.n}{grp}; "
                                 f"exclude it (exclude=[{t.name!r}]) or allow partial edge blocks with ':pad' "
                                 f"({str(spec_asked) + ':pad' if auto else f'block:{bk}x{bn}:{spec.density:g}:pad'})")
    energy_grads = None
    if auto:
        from ._auto import output_energy_gradients

        args = tuple(example_args) if isinstance(example_args, tuple | list) else (example_args,)
        # one backward pass, taken only by what needs it: a Taylor ranking without data, or Taylor curves that
        # are not in the curve cache
        energy_grads = functools.cache(lambda: output_energy_gradients(model, targets, args,
                                                                       dict(example_kwargs or {})))
    if saliency == "taylor":
        grads = taylor_gradients(model, targets, data) if data is not None or not auto else energy_grads()
    else:
        grads = [None] * len(targets)

    # ---- compute every new mask (parameter layout) before modifying anything
    rows = [t.rows() for t in targets]  # views of the weights (float64 copies for other dtypes)
    masks: list[np.ndarray] = []
    keeps: list[np.ndarray] = []
    if spec.method == "block":
        sal = [_block_saliency(t, r, None if g is None else t.to_rows(g), spec.block, saliency)
               for t, r, g in zip(targets, rows, grads, strict=True)]
        layer_density = dict.fromkeys((t.name for t in targets), spec.density)
        if auto:
            from ._auto import auto_allocation

            calib_args = None if calib is None else tuple(calib) if isinstance(calib, tuple | list) else (calib,)
            layer_density, allocation = auto_allocation(model, targets, spec_asked, spec.block, cfg, sal, args,
                                                        dict(example_kwargs or {}), energy_grads, calib_args,
                                                        saliency=saliency,
                                                        cacheable=not (saliency == "taylor" and data is not None))
        if scope == "layer":
            keeps = [_top(s, _keep_count(layer_density[t.name], s.size)) for t, s in zip(targets, sal, strict=True)]
        else:
            # Global: each layer's block saliencies are divided by that layer's mean block saliency, so every
            # layer's average block scores 1. Raw norms scale with a layer's weight magnitude (init ~ 1/sqrt(fan_in))
            # and gradients differ by orders of magnitude between layers; unnormalised, a global ranking would
            # empty whole small-magnitude layers instead of comparing blocks within their layer's distribution.
            norm = np.concatenate([_normalise(s) for s in sal])
            keep_all = _top(norm, round(spec.density * norm.size))
            keeps = [_at_least_one(k, s, spec.density)
                     for k, s in zip(np.split(keep_all, np.cumsum([s.size for s in sal])[:-1]), sal, strict=True)]
        masks = [_expand(t, keep, spec.block) for t, keep in zip(targets, keeps, strict=True)]
    elif spec.method == "nm":
        for t, r in zip(targets, rows, strict=True):
            mask = np.empty(tuple(t.weight.shape), dtype=bool)
            run_rows(nm_mask, r.shape[0], r.shape[1], r, spec.n, spec.m, t.to_rows(mask.view(np.uint8)))
            masks.append(mask)
    elif spec.method == "unstructured":
        # |w| in the weights' own dtype ranks exactly as in float64: the conversion is exact and monotone
        if scope == "layer":
            masks = [t.from_rows(_top(np.abs(r).ravel(), _keep_count(spec.density, r.size)).reshape(r.shape))
                     for t, r in zip(targets, rows, strict=True)]
        else:
            # Global magnitude pruning in its standard form: raw |w| of all layers ranked together.
            flat = np.concatenate([np.abs(r).ravel() for r in rows])
            keep_all = _top(flat, round(spec.density * flat.size))
            parts = np.split(keep_all, np.cumsum([r.size for r in rows])[:-1])
            masks = [t.from_rows(_at_least_one(p, np.abs(r).ravel(), spec.density).reshape(r.shape))
                     for t, p, r in zip(targets, parts, rows, strict=True)]
    else:  # channel
        for t, r in zip(targets, rows, strict=True):
            keep = _top(np.sqrt(row_square_sums(r)), _keep_count(spec.density, r.shape[0]))
            masks.append(t.from_rows(np.repeat(keep[:, None], r.shape[1], axis=1)))

    # ---- compose with earlier pruning and build the records
    old = dict(getattr(model, PRUNE_ATTR, None) or {})
    records: dict[str, PruneInfo] = {}
    for i, (t, mask) in enumerate(zip(targets, masks, strict=True)):
        prev = old.get(t.name)
        method = spec.method
        block = spec.block if spec.method == "block" else None
        requested = layer_density[t.name] if spec.method == "block" else spec.density
        if prev is not None:
            requested *= prev.requested  # composed: the product of what each call asked for
            mask = mask & prev.mask
            if prev.method != spec.method:
                method = f"{prev.method}+{spec.method}"
            if block is None:
                block = prev.block  # the earlier block structure still holds: dropped blocks stay zero
        block_mask = None
        if block is not None:
            # A block counts as kept when any of its elements is; for a single block call this is exactly the
            # ranking's choice (every block has an element), and after composing it says which blocks the
            # hardware may still skip.
            block_mask = keeps[i].reshape(_block_layout(t, block)) if spec.method == "block" and prev is None \
                else _block_mask(t, mask, block)
        density = np.count_nonzero(mask) / mask.size if mask.size else 1.0
        records[t.name] = PruneInfo(method=method, mask=mask, density=density, block=block,
                                    block_mask=block_mask, requested=requested)

    # ---- modify: dropped weights become +0 (w * 0 would leave -0 for negative weights), kept ones stay as they are
    with torch.no_grad():
        for t in targets:
            w = t.weight.detach()
            keep = records[t.name].mask
            if w.device.type == "cpu" and w.dtype in (torch.float32, torch.float64) and w.is_contiguous():
                bits = w.numpy().reshape(-1).view(np.int32 if w.dtype == torch.float32 else np.int64)
                run_rows(zero_dropped, w.numel(), 1, bits, keep.reshape(-1).view(np.uint8))  # in place, one pass
                increment_version(t.weight)  # as an in-place torch op would: autograd sees the weight changed
            else:
                t.weight.masked_fill_(~torch.from_numpy(keep).to(w.device), 0.0)
    old.update(records)
    setattr(model, PRUNE_ATTR, old)
    earlier = getattr(model, ALLOCATION_ATTR, None)
    if not auto and earlier and {r["layer"] for r in earlier["layers"]} & set(records):
        delattr(model, ALLOCATION_ATTR)  # it no longer describes these layers' pruning

    report = []
    for t in targets:
        info = records[t.name]
        report.append({
            "layer": t.name,
            "shape": tuple(t.weight.shape),
            "method": info.method,
            "block": f"{info.block[0]}x{info.block[1]}" if info.block else None,
            "kept": int(np.count_nonzero(info.mask)),
            "total": int(info.mask.size),
            "requested": info.requested,
            "density": info.density,
            "blocks_kept": int(np.count_nonzero(info.block_mask)) if info.block_mask is not None else None,
            "blocks_total": int(info.block_mask.size) if info.block_mask is not None else None,
        })
    df = pd.DataFrame(report).astype({"blocks_kept": "Int64", "blocks_total": "Int64"})  # <NA> for non-block
    df.attrs["spec"] = str(spec_asked if auto else spec)
    df.attrs["scope"] = scope
    df.attrs["density"] = float(df["kept"].sum() / df["total"].sum())
    if auto:
        df.attrs["allocation"] = allocation
        setattr(model, ALLOCATION_ATTR, {
            **{k: v for k, v in allocation.items() if k != "layers"},
            "layers": allocation["layers"][["layer", "blocks_kept", "blocks_total"]].to_dict(orient="records")})
    return df
