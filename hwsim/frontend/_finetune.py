"""Quantization-aware fine-tuning: a short straight-through-estimator (STE) training run of a quantized model.

As the MSQ and Posit4/FixP4 papers do after choosing the formats: the forward pass uses the quantized weights
(each row in its format and row mode, the row scale recomputed from the current float weight) and the
fake-quantized activations (`requant`, whose backward is the identity), the backward pass treats both
quantizers as the identity, and the optimizer updates the float weights (and every other parameter). The
codes are taken from the fine-tuned float weights afterwards, so the model stays bit-exact with its records.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize

__all__ = ["DEFAULT_FINETUNE_LR", "check_finetune", "finetune_quantized", "finetune_recipe"]

DEFAULT_FINETUNE_LR = 1e-3  # a tenth of the registry recipes' training rate: a fine-tune, not a retraining


def finetune_recipe(epochs: int):
    """The default fine-tuning recipe: Adam at `DEFAULT_FINETUNE_LR`, cosine decay, batch 64, seed 0."""
    from hwsim.models import Recipe

    return Recipe(optimizer="adam", lr=DEFAULT_FINETUNE_LR, epochs=epochs, batch_size=64, weight_decay=0.0,
                  schedule="cosine", seed=0)


def check_finetune_value(finetune):
    """The `hwsim.models.Recipe` that ``finetune`` (epochs >= 1 or a Recipe) asks for; ValueError otherwise."""
    from hwsim.models import Recipe

    if isinstance(finetune, Recipe):
        return finetune
    if isinstance(finetune, bool) or not isinstance(finetune, int) or finetune < 1:
        raise ValueError(f"finetune must be a number of epochs >= 1 or a Recipe, not {finetune!r}")
    return finetune_recipe(finetune)


def check_finetune(finetune, train_data):
    """``(Recipe, (x, y))`` from ``finetune`` (epochs >= 1 or a `hwsim.models.Recipe`) and ``train_data``."""
    recipe = check_finetune_value(finetune)
    if train_data is None:
        raise ValueError("finetune needs train_data=(x, y): the training inputs and their class labels")
    if not (isinstance(train_data, tuple | list) and len(train_data) == 2
            and all(isinstance(a, torch.Tensor) for a in train_data)):
        raise ValueError("train_data must be an (x, y) pair of tensors (one input tensor, integer labels)")
    x, y = train_data
    if y.ndim != 1 or y.dtype.is_floating_point or x.shape[0] != y.shape[0]:
        raise ValueError(f"train_data: y must be integer labels, one per input, not {y.dtype} {tuple(y.shape)} "
                         f"for x {tuple(x.shape)}")
    return recipe, (x, y)


class _FakeQuant(nn.Module):
    """Weight parametrization: the forward sees the quantized weight, the gradient passes straight through."""

    def __init__(self, to_rows: Callable, from_rows: Callable, quantize_rows: Callable, keep) -> None:
        super().__init__()
        self.to_rows, self.from_rows, self.quantize_rows = to_rows, from_rows, quantize_rows
        self.keep = keep  # the pruning mask (parameter layout) or None: pruned weights stay zero

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        if self.keep is not None:
            w = w * self.keep
        rows = self.to_rows(w.detach().cpu().double().numpy())
        q = torch.from_numpy(np.ascontiguousarray(self.from_rows(self.quantize_rows(rows)))).to(w.dtype)
        return w + (q - w).detach()


def finetune_quantized(model: nn.Module, targets: Sequence, quantize_rows: Callable, acts: dict, train, recipe
                       ) -> dict:
    """Fine-tune ``model`` in place with STE fake quantization of every target's weight
    (``quantize_rows(target, rows) -> float32 rows``) and of its input (``acts``: name -> (Fixed, scale, ...));
    returns `hwsim.models.fit`'s train accuracy. A pruned weight (its `PruneInfo` mask) keeps its zeros: the
    forward multiplies by the mask, and the trained weight is masked again at the end. On an error the model is
    restored as it was."""
    from hwsim.models import Split, fit

    from ._meta import prune_info
    from ._quant import ActQuant

    x, y = train
    num_classes = int(y.max()) + 1
    masks = {name: torch.from_numpy(np.asarray(info.mask)) for name, info in prune_info(model).items()}
    state = copy.deepcopy(model.state_dict())
    hooks = {t.name: dict(t.module._forward_pre_hooks) for t in targets}
    modes = {m: m.training for m in model.modules()}
    added = []
    try:
        model.eval()
        with torch.no_grad():
            out = model(x[:1])
        width = out.shape[-1] if isinstance(out, torch.Tensor) and out.ndim else 0
        if int(y.min()) < 0 or num_classes > width:
            raise ValueError(f"finetune: train_data labels span [{int(y.min())}, {num_classes - 1}] but the model "
                             f"outputs {width} class scores")
        for t in targets:
            for key in [k for k, h in t.module._forward_pre_hooks.items() if isinstance(h, ActQuant)]:
                del t.module._forward_pre_hooks[key]
            if t.name in acts:
                added.append(t.module.register_forward_pre_hook(ActQuant(*acts[t.name][:2])))
            attr = t.name.rpartition(".")[2]
            keep = masks.get(t.name)
            parametrize.register_parametrization(
                t.module, attr, _FakeQuant(t.to_rows, t.from_rows, lambda rows, _t=t: quantize_rows(_t, rows),
                                           None if keep is None else keep.to(t.weight.dtype)),
                unsafe=True)
        split = Split(x_train=x, y_train=y, x_test=x[:1], y_test=y[:1], num_classes=max(num_classes, 2))
        result = fit(model, split, recipe)
    except BaseException:
        for t in targets:
            attr = t.name.rpartition(".")[2]
            if parametrize.is_parametrized(t.module, attr):
                parametrize.remove_parametrizations(t.module, attr, leave_parametrized=False)
        model.load_state_dict(state)
        for t in targets:
            t.module._forward_pre_hooks.clear()
            t.module._forward_pre_hooks.update(hooks[t.name])
        raise
    finally:
        for m, training in modes.items():
            m.train(training)
    for t in targets:  # keep the trained float weights: the caller quantizes them
        parametrize.remove_parametrizations(t.module, t.name.rpartition(".")[2], leave_parametrized=False)
    with torch.no_grad():
        for t in targets:
            if t.name in masks:
                t.weight.mul_(masks[t.name].to(t.weight.dtype))
    for p in model.parameters():
        p.grad = None
    for h in added:
        h.remove()
    return {"train_acc": result["train_acc"]}
