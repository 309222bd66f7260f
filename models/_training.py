"""Datasets, deterministic training recipes and the disk cache of trained weights for registry models.

A registry entry that carries a :class:`DataSpec` (and a :class:`Recipe`) can be trained by name:
``hwsim.models.trained_model(name)`` builds the model from the recipe's seed, trains it with the entry's trainer
(:func:`fit` unless the entry says otherwise) and stores the state_dict under ``cache_dir()/models`` keyed by
everything the weights depend on (:func:`weights_key`). Training is bit-for-bit reproducible on one machine:
initial weights and batch order come from the recipe's seed in a forked RNG (the caller's stream is untouched)
and torch runs at the recipe's thread count, restored afterwards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import importlib.metadata
import io
import logging
import math
import pickle
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict

import torch
from torch import nn

from hwsim._util import cache_path, write_with

if TYPE_CHECKING:
    from ._registry import ModelEntry

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "DataSpec",
    "Recipe",
    "Split",
    "TrainResult",
    "Trainer",
    "accuracy",
    "fit",
    "load_weights",
    "save_weights",
    "sklearn_arrays",
    "torch_threads",
    "weights_key",
    "weights_path",
]

log = logging.getLogger(__name__)

#: Bumped when the layout of a cached weights file changes, so old entries are retrained rather than misread.
WEIGHTS_FORMAT = 1

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("cosine", "constant")

Tensors4 = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


# eq=False: comparing tensors elementwise has no single truth value; compare `tensors()` explicitly.
@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Split:
    """A fixed train/test split, inputs already shaped for ``model(x)`` (``(n, *input_shape)``, float32) and
    labels as int64 class indices in ``[0, num_classes)``."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int

    def __post_init__(self) -> None:
        if self.x_train.shape[0] != self.y_train.shape[0] or self.x_test.shape[0] != self.y_test.shape[0]:
            raise ValueError(f"inputs and labels differ in length: train {self.x_train.shape[0]} vs "
                             f"{self.y_train.shape[0]}, test {self.x_test.shape[0]} vs {self.y_test.shape[0]}")
        if self.num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, not {self.num_classes!r}")

    def tensors(self) -> Tensors4:
        """``(x_train, y_train, x_test, y_test)``."""
        return self.x_train, self.y_train, self.x_test, self.y_test


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSpec:
    """Where a model's data comes from: ``load(split_seed) -> (x_train, y_train, x_test, y_test)`` with inputs
    flat or already shaped (the registry reshapes them to the model's input shape).

    ``split_seed`` fixes the held-out test split: it belongs to the data, not to the training recipe, so every
    recipe, seed, pruning or quantization of a model is scored on the same test images.
    """

    name: str
    load: Callable[[int], Tensors4]
    num_classes: int
    split_seed: int = 0

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("DataSpec name must be non-empty")
        if self.num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, not {self.num_classes!r}")

    def key(self) -> dict[str, object]:
        """What the cached weights depend on (the loader by its qualified name)."""
        return {"name": self.name, "split_seed": self.split_seed,
                "load": f"{self.load.__module__}.{self.load.__qualname__}", "num_classes": self.num_classes}


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipe:
    """A deterministic training recipe: mini-batch cross-entropy with ``optimizer`` for ``epochs`` epochs.

    The learning rate ramps linearly over ``warmup_epochs`` then, with ``schedule="cosine"``, decays to zero by
    the last step (per step, not per epoch). ``seed`` draws the initial weights and the batch order; ``threads``
    is the torch intra-op thread count while training (part of the recipe because a different count may sum in
    a different order: these batches are far too small to gain from threads anyway).
    """

    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = 1e-2
    epochs: int = 20
    batch_size: int = 64
    weight_decay: float = 1e-4
    momentum: float = 0.9  # sgd only
    schedule: Literal["cosine", "constant"] = "cosine"
    warmup_epochs: int = 0
    label_smoothing: float = 0.0
    seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, not {self.schedule!r}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, not {self.lr!r}")
        for name in ("epochs", "batch_size", "threads"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, not {value!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, not {self.seed!r}")
        if not isinstance(self.warmup_epochs, int) or not 0 <= self.warmup_epochs <= self.epochs:
            raise ValueError(f"warmup_epochs must be an integer in [0, epochs={self.epochs}], "
                             f"not {self.warmup_epochs!r}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be >= 0, not {self.weight_decay!r}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), not {self.momentum!r}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), not {self.label_smoothing!r}")

    def key(self) -> dict[str, object]:
        """Every field, for the cache key."""
        return dataclasses.asdict(self)


class TrainResult(TypedDict):
    train_acc: float
    test_acc: float


#: ``trainer(model, split, recipe)`` trains ``model`` in place (from its current weights) and reports accuracy.
Trainer = Callable[[nn.Module, Split, Recipe], TrainResult]


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads and restore the previous count afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@torch.no_grad()
def accuracy(model: nn.Module, split: Split, *, part: Literal["test", "train"] = "test",
             batch_size: int = 1024) -> float:
    """Top-1 accuracy in [0, 1] of ``model`` on ``split``'s test (or train) part, in eval mode; the model's
    train/eval mode is restored afterwards."""
    if part not in ("test", "train"):
        raise ValueError(f"part must be 'test' or 'train', not {part!r}")
    x, y = (split.x_test, split.y_test) if part == "test" else (split.x_train, split.y_train)
    was_training = model.training
    model.eval()
    try:
        correct = sum(int((model(x[i : i + batch_size]).argmax(dim=1) == y[i : i + batch_size]).sum())
                      for i in range(0, x.shape[0], batch_size))
    finally:
        model.train(was_training)
    return correct / x.shape[0]


@functools.cache
def sklearn_arrays(loader: str):
    """``(data, target)`` numpy arrays of scikit-learn's bundled set ``sklearn.datasets.<loader>`` (e.g.
    ``load_digits``), parsed once per process and read-only (every `dataset()` call and test would re-read them)."""
    # Imported here so `import hwsim.models` does not require scikit-learn (it is a dev extra).
    import sklearn.datasets

    data = getattr(sklearn.datasets, loader)()
    data.data.flags.writeable = data.target.flags.writeable = False
    return data.data, data.target


def _optimizer(model: nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if recipe.optimizer == "adam":
        return torch.optim.Adam(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    return torch.optim.SGD(params, lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay)


def _lr_factor(recipe: Recipe, steps_per_epoch: int) -> Callable[[int], float]:
    total = recipe.epochs * steps_per_epoch
    warmup = recipe.warmup_epochs * steps_per_epoch

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if recipe.schedule == "constant":
            return 1.0
        # Closed-form cosine (not the recursive CosineAnnealingLR) so the rate is a pure function of the step.
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


def fit(model: nn.Module, split: Split, recipe: Recipe) -> TrainResult:
    """Train ``model`` in place on ``split.x_train`` with ``recipe``, from its current weights (so it also
    fine-tunes a pruned or quantized model); return its final train/test accuracy.

    Deterministic: batches are shuffled by a private generator seeded from ``recipe.seed``, the global RNG
    (dropout, if any) is seeded from it inside a fork, and torch runs at ``recipe.threads`` threads.
    """
    from tqdm import tqdm

    x, y = split.x_train, split.y_train
    n = x.shape[0]
    steps_per_epoch = math.ceil(n / recipe.batch_size)
    gen = torch.Generator().manual_seed(recipe.seed)
    with torch_threads(recipe.threads), torch.random.fork_rng():
        torch.manual_seed(recipe.seed)
        opt = _optimizer(model, recipe)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_factor(recipe, steps_per_epoch))
        loss_fn = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
        model.train()
        # disable=None: a bar only on a terminal (training takes a few seconds), never in logs or under pytest.
        for _ in tqdm(range(recipe.epochs), desc="training", unit="epoch", leave=False, disable=None):
            perm = torch.randperm(n, generator=gen)
            for i in range(0, n, recipe.batch_size):
                idx = perm[i : i + recipe.batch_size]
                opt.zero_grad(set_to_none=True)
                loss_fn(model(x[idx]), y[idx]).backward()
                opt.step()
                sched.step()
        model.eval()
        return TrainResult(train_acc=accuracy(model, split, part="train"), test_acc=accuracy(model, split))


# ----------------------------------------------------------------------------------------------- weight cache


@functools.cache
def models_fingerprint() -> str:
    """Hash of this package's sources (``models/*.py``): an edited architecture, data loader or trainer is
    trained again, never served stale weights, even while the package version stays the same."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _hwsim_version() -> str:
    try:
        return importlib.metadata.version("hwsim")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


def _torch_minor() -> str:
    return ".".join(torch.__version__.split("+")[0].split(".")[:2])


def weights_key(entry: ModelEntry, recipe: Recipe) -> dict[str, object]:
    """Everything the trained weights of ``entry`` under ``recipe`` depend on: the model name, every recipe field
    (seed included), the data (name, loader, split seed), the trainer, the hwsim version, torch's major.minor,
    the models' source fingerprint and the cache file format."""
    if entry.data is None:
        raise ValueError(f"model {entry.name!r} has no dataset")
    trainer = entry.trainer or fit
    return {
        "model": entry.name,
        "recipe": recipe.key(),
        "data": entry.data.key(),
        "trainer": f"{trainer.__module__}.{trainer.__qualname__}",
        "hwsim": _hwsim_version(),
        "torch": _torch_minor(),
        "sources": models_fingerprint(),
        "format": WEIGHTS_FORMAT,
    }


def weights_path(entry: ModelEntry, recipe: Recipe) -> Path:
    """``cache_dir()/models/<name>-<hash of weights_key>.pt``."""
    return cache_path("models", entry.name, weights_key(entry, recipe)).with_suffix(".pt")


def save_weights(path: Path, model: nn.Module) -> None:
    """Write ``model``'s state_dict to ``path`` whole or not at all."""
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    # Serialised in memory first: torch.save names the zip's root folder after the file, and the temporary file's
    # random name would make equal weights differ byte for byte between runs.
    buf = io.BytesIO()
    torch.save(state, buf)
    write_with(path, lambda tmp: tmp.write_bytes(buf.getvalue()))


def load_weights(path: Path, build: Callable[[], nn.Module]) -> nn.Module | None:
    """``build()`` with the state_dict at ``path`` loaded, or None when the file is missing or damaged (cannot be
    read, is not a state_dict, or does not fit the model); a damaged entry is logged, the caller retrains."""
    if not path.exists():
        return None
    try:
        state: Any = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise TypeError(f"not a state_dict but {type(state).__name__}")
        model = build()
        model.load_state_dict(state, strict=True)
    except (OSError, EOFError, RuntimeError, ValueError, TypeError, KeyError, pickle.UnpicklingError,
            zipfile.BadZipFile) as e:
        log.warning("cached weights %s are damaged (%s: %s); training again", path, type(e).__name__, e)
        return None
    return model


def train_entry(entry: ModelEntry, recipe: Recipe, build: Callable[[], nn.Module], split: Split) -> nn.Module:
    """``build()`` then train it with ``entry``'s trainer under ``recipe``; returns the model in eval mode."""
    trainer = entry.trainer or fit
    start = time.perf_counter()
    with torch_threads(recipe.threads):
        model = build()
        result = trainer(model, split, recipe)
    log.info("trained %s in %.1f s: train %.2f%%, test %.2f%%", entry.name, time.perf_counter() - start,
             100 * result["train_acc"], 100 * result["test_acc"])
    return model.eval()
