"""Labelled data of a model: where accuracy is measured, activations calibrated and fine-tuning trains.

A registry model with data (`hwsim.models.has_data`) brings its fixed train/test split. A user's model file may
define ``eval_data`` (a ``(x, y)`` pair, or an iterable of ``(x, y)`` batches, or a function returning either),
optionally ``train_data`` in the same forms (calibration, sensitivity and fine-tuning; without it calibration
uses the first evaluation batch), or ``evaluate(model) -> accuracy`` to score a model its own way. ``x`` is an
input tensor (or a tuple of positional inputs), ``y`` integer class labels; accuracy is top-1 of the output's
last dimension.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["ModelData", "as_batches", "data_for"]

CALIB_SAMPLES = 512  # activation ranges are taken over this many training inputs (or the first batch)

Batch = tuple[tuple[torch.Tensor, ...], torch.Tensor]


def _batch(item, where: str) -> Batch:
    if not (isinstance(item, tuple | list) and len(item) == 2):
        raise ValueError(f"{where}: each batch must be an (x, y) pair, not {type(item).__name__}")
    x, y = item
    args = tuple(x) if isinstance(x, tuple | list) else (x,)
    if not all(isinstance(a, torch.Tensor) for a in args) or not isinstance(y, torch.Tensor):
        raise ValueError(f"{where}: x and y must be torch tensors")
    if y.ndim != 1 or y.dtype.is_floating_point or y.dtype == torch.bool:
        raise ValueError(f"{where}: y must be a 1-D tensor of integer class labels, not {y.dtype} {tuple(y.shape)}")
    if any(a.ndim == 0 or a.shape[0] != y.shape[0] for a in args):
        raise ValueError(f"{where}: x and y hold different numbers of samples")
    return args, y


def _user_call(fn, where: str, *args):
    """Call a user's function; its failure is reported in one line naming ``where``."""
    try:
        return fn(*args)
    except SystemExit as e:  # the user's code must return, not end the process
        raise ValueError(f"{where} called sys.exit({e.code!r})") from None
    except Exception as e:  # the user's code
        raise ValueError(f"{where} failed: {type(e).__name__}: {e}") from e


def as_batches(data, where: str) -> list[Batch]:
    """``(x, y)``, an iterable of such pairs, or a function returning either, as a list of (args, labels)."""
    if callable(data) and not isinstance(data, nn.Module):
        data = _user_call(data, where)
    if isinstance(data, tuple | list) and len(data) == 2 and isinstance(data[1], torch.Tensor):
        batches = [_batch(tuple(data), where)]
    elif isinstance(data, Iterable) and not isinstance(data, torch.Tensor | str | dict):
        iterator = iter(data)
        batches = []
        while True:
            try:
                item = next(iterator)
            except StopIteration:
                break
            except Exception as e:  # a user's generator or DataLoader
                raise ValueError(f"{where} failed: {type(e).__name__}: {e}") from e
            batches.append(_batch(item, where))
    else:
        raise ValueError(f"{where} must be an (x, y) pair or an iterable of (x, y) batches, "
                         f"not {type(data).__name__}")
    if not batches or sum(int(y.shape[0]) for _, y in batches) == 0:
        raise ValueError(f"{where} holds no samples")
    return batches


@dataclass(frozen=True)
class ModelData:
    """A model's labelled data: ``test`` batches (or a user ``evaluate`` function) and an optional ``train``
    part; ``source`` says where they came from, for reports."""

    source: str
    test: list[Batch] | None = None
    train: list[Batch] | None = None
    evaluate: Callable[[nn.Module], float] | None = None

    def calib_args(self) -> tuple[torch.Tensor, ...]:
        """Inputs to calibrate activation ranges on: the first `CALIB_SAMPLES` training inputs (over as many
        batches as that takes), else as many of the evaluation inputs."""
        batches = self.train or self.test
        if not batches:
            raise ValueError(f"{self.source}: no inputs to calibrate activations on (define train_data)")
        return _first_samples(batches)[0]

    def train_sample(self) -> Batch:
        """The first `CALIB_SAMPLES` training samples: the loss gradients that rank rows (posit+fixed)."""
        return _first_samples(self.train)

    def train_xy(self, what: str) -> Batch:
        """The whole training part as one (args, labels) batch; ValueError naming ``what`` needs it."""
        if not self.train:
            raise ValueError(f"{what} needs training data; {self.source} has none (define train_data)")
        args = tuple(torch.cat([b[0][i] for b in self.train]) for i in range(len(self.train[0][0])))
        return args, torch.cat([y for _, y in self.train])


def _first_samples(batches: list[Batch], n: int = CALIB_SAMPLES) -> Batch:
    """The first ``n`` samples of ``batches`` as one (args, labels) batch."""
    taken, total = [], 0
    for args, y in batches:
        if total >= n:
            break
        k = min(n - total, int(y.shape[0]))
        taken.append((tuple(a[:k] for a in args), y[:k]))
        total += k
    args = tuple(torch.cat([b[0][i] for b in taken]) for i in range(len(taken[0][0])))
    return args, torch.cat([y for _, y in taken])


def data_for(spec, *, data=None, train_data=None, module=None, file=None) -> ModelData:
    """The data of a model: ``data`` / ``train_data`` when given, else a registry model's split or a model
    file's ``eval_data`` / ``train_data`` / ``evaluate``; ValueError when there is none."""
    if data is not None:
        return ModelData("the given data", test=as_batches(data, "data"),
                         train=None if train_data is None else as_batches(train_data, "train_data"))
    if train_data is not None:
        raise ValueError("train_data needs data (the evaluation batches) beside it")
    if isinstance(spec, str) and spec.endswith(".py"):
        if file is None:
            from ._load import load_module_file

            file = load_module_file(spec)
        evaluate = getattr(file, "evaluate", None)
        if not hasattr(file, "eval_data") and evaluate is None:
            raise ValueError(f"model file {spec!r} defines neither eval_data nor evaluate(model): it has no data "
                             "to measure accuracy on")
        if evaluate is not None and not callable(evaluate):
            raise ValueError(f"evaluate in {spec!r} must be a function evaluate(model) -> accuracy")
        test = as_batches(file.eval_data, f"eval_data in {spec}") if hasattr(file, "eval_data") else None
        train = as_batches(file.train_data, f"train_data in {spec}") if hasattr(file, "train_data") else None
        return ModelData(f"model file {spec}", test=test, train=train, evaluate=evaluate)
    if isinstance(spec, str):
        from hwsim.models import dataset, has_data

        if not has_data(spec):
            from hwsim.models import list_models

            with_data = ", ".join(n for n in list_models() if has_data(n))
            raise ValueError(f"model {spec!r} has no dataset (models with data: {with_data}); give a model file "
                             "defining eval_data")
        split = dataset(spec)
        return ModelData(f"the {spec} dataset ({split.x_test.shape[0]} test samples)",
                         test=[((split.x_test,), split.y_test)], train=[((split.x_train,), split.y_train)])
    raise ValueError(f"a {type(module or spec).__name__} model needs data=(x, y) to be evaluated")


@torch.no_grad()
def top1(model: nn.Module, data: ModelData, *, batch_size: int = 1024) -> tuple[float, torch.Tensor | None]:
    """(top-1 accuracy, predictions or None) of ``model`` in eval mode on ``data`` (its ``evaluate`` if it has
    one); the model's training flags are restored."""
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        if data.evaluate is not None:
            acc = _user_call(data.evaluate, f"evaluate(model) in {data.source}", model)
            if isinstance(acc, torch.Tensor) and acc.numel() == 1:
                acc = acc.item()
            if isinstance(acc, bool) or not isinstance(acc, numbers.Real) or not 0.0 <= float(acc) <= 1.0:
                raise ValueError(f"evaluate(model) in {data.source} must return an accuracy in [0, 1], "
                                 f"not {acc!r}")
            return float(acc), None
        preds, correct, total = [], 0, 0
        for args, y in data.test:
            for i in range(0, y.shape[0], batch_size):
                out = model(*(a[i:i + batch_size] for a in args))
                if not isinstance(out, torch.Tensor) or out.ndim < 1:
                    raise ValueError(f"the model's output is not a tensor of class scores ({data.source})")
                p = out.argmax(dim=-1)
                if p.shape != y[i:i + batch_size].shape:
                    raise ValueError(f"the model's predictions {tuple(p.shape)} do not match the labels "
                                     f"{tuple(y[i:i + batch_size].shape)} ({data.source})")
                preds.append(p)
                correct += int((p == y[i:i + batch_size]).sum())
                total += int(y[i:i + batch_size].shape[0])
        return correct / total, torch.cat(preds)
    finally:
        for m, training in modes.items():
            m.train(training)
