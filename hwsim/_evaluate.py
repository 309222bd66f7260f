"""`hwsim.evaluate`: the top-1 accuracy of a pruned and quantized model on its held-out data, on two paths.

- ``torch``: the compressed torch model itself (dequantized float32 weights, fake-quantized activations).
- ``hardware``: the hardware's arithmetic (`hwsim.frontend.integer_model`): integer weight codes x integer
  activation codes through the engine's exact integer GEMM and the MAC's accumulator, then the requantization.

The two are independent computations of the same numbers and agree on every prediction of the registry models'
test sets for every scheme (tests/test_evaluate.py); ``path="both"`` runs both and counts any disagreement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["EVAL_PATHS", "Evaluation", "evaluate"]

EVAL_PATHS = ("torch", "hardware", "both")


@dataclass(frozen=True)
class Evaluation:
    """Accuracy of one compressed model; ``accuracy`` is the torch path's unless ``path == "hardware"``."""

    model: str
    path: str
    accuracy: float
    samples: int | None  # None when a user's evaluate(model) scored it
    float_accuracy: float | None  # the same model before pruning and quantization (None: given compressed)
    hardware_accuracy: float | None = None  # path "hardware" or "both"
    disagreements: int | None = None  # path "both": predictions that differ (None: a user evaluate() scored)
    overflows: int | None = None  # hardware path: accumulator results that wrapped or saturated
    predictions: np.ndarray | None = None  # of ``path`` ("both": the torch path's)
    data: str = ""  # where the data came from

    def to_dict(self) -> dict:
        return {"model": self.model, "path": self.path, "accuracy": self.accuracy, "samples": self.samples,
                "float_accuracy": self.float_accuracy, "hardware_accuracy": self.hardware_accuracy,
                "disagreements": self.disagreements, "overflows": self.overflows, "data": self.data}


def evaluate(model, *, prune: str | None = None, quant: str | None = None, act_bits: int | None = None,
             finetune=None, exclude=None, data=None, train_data=None, path: str = "torch", arch=None
             ) -> Evaluation:
    """Top-1 accuracy of ``model`` after ``prune`` and ``quant`` (specs as in `hwsim.simulate`) on its held-out
    data, beside its float accuracy.

    ``model``: a registry name with data (its trained weights and fixed test split, `hwsim.models.dataset`), a
    ``.py`` file defining ``model`` and ``eval_data`` (or ``evaluate(model)``; ``train_data`` optional), or a
    torch module with ``data=(x, y)`` or an iterable of batches (``train_data`` likewise; the module itself is
    left untouched: a copy is compressed; a module that is already pruned or quantized is evaluated as it is,
    with no ``float_accuracy``, and takes no prune or quant). ``act_bits``: input activations of the quantized
    layers in fixed point, calibrated on training inputs; the ``hardware`` path needs them. ``finetune``: epochs
    (or a `hwsim.models.Recipe`) of quantization-aware fine-tuning on the training data. ``path``: ``torch``,
    ``hardware`` or ``both``. ``arch`` (config or YAML): the hardware path runs on its MAC, default each
    scheme's own.
    """
    from .frontend import prepare_model
    from .frontend._data import top1
    from .frontend._integer import integer_model

    if path not in EVAL_PATHS:
        raise ValueError(f"path must be one of {', '.join(EVAL_PATHS)}, not {path!r}")
    if path != "torch" and quant is not None and act_bits is None:
        raise ValueError(f"the {path} path runs integer activation codes: give act_bits (and quant)")
    import torch

    from .frontend import prune_info, quant_info
    from .frontend._data import as_batches

    if data is not None:
        data = as_batches(data, "data")  # read once: an iterator or a generator function is consumed here
    if train_data is not None:
        train_data = as_batches(train_data, "train_data")
    mac = None
    if arch is not None:
        if path == "torch":
            raise ValueError("arch picks the MAC of the hardware path; give path='hardware' or 'both'")
        from ._simulate import _resolve_arch

        mac = _resolve_arch(arch).array.mac.unit
    example, compressed = None, False
    if isinstance(model, torch.nn.Module):
        if data is None:
            raise ValueError(f"a {type(model).__name__} model needs data=(x, y) to be evaluated")
        compressed = bool(quant_info(model) or prune_info(model))
        if compressed and (prune or quant):
            raise ValueError("the model is already pruned or quantized; give the uncompressed model with prune "
                             "and quant, or evaluate it as it is without them")
        import copy

        model = copy.deepcopy(model)
        example = tuple(a[:1] for a in data[0][0])
    prepared = prepare_model(model, prune=prune, quant=quant, act_bits=act_bits, finetune=finetune,
                             example_args=example, exclude=exclude, evaluate=True, data=data, train_data=train_data)
    found, preds = prepared.data, prepared.predictions
    hw_acc = hw_preds = disagree = overflows = None
    if path != "torch":
        from .frontend._integer import integer_overflows

        hardware = integer_model(prepared.model, mac)
        hw_acc, hw_preds = top1(hardware, found)
        overflows = integer_overflows(hardware)[0]
        if path == "both" and preds is not None:
            disagree = int((preds != hw_preds).sum())
    chosen = hw_preds if path == "hardware" else preds
    return Evaluation(
        model=prepared.name, path=path, accuracy=hw_acc if path == "hardware" else prepared.accuracy,
        samples=None if chosen is None else int(chosen.shape[0]),
        float_accuracy=None if compressed else prepared.float_accuracy,
        hardware_accuracy=hw_acc, disagreements=disagree, overflows=overflows,
        predictions=None if chosen is None else chosen.numpy(), data=found.source)
