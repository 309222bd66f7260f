"""A small, explicit model registry: names -> factory functions plus the metadata needed to drive them.

Factories register themselves with :func:`register_model` when their module is imported (``hwsim.models``
imports all of them), and callers build models by name with :func:`create_model`. Each entry also records the
shape of one example input (without the batch dimension), so tools such as ``torch.export`` or the cost model
can construct example arguments without knowing anything model-specific.

An entry may also carry its data and a training recipe (``data=``, ``recipe=``, ``trainer=`` in
:func:`register_model`): :func:`dataset` then gives its fixed train/test :class:`Split` and :func:`trained_model`
its trained weights, trained once and cached on disk (see :mod:`hwsim.models._training`).
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

from ._training import DataSpec, Recipe, Split, Trainer, load_weights, save_weights, train_entry, weights_path

__all__ = [
    "MODELS",
    "ModelEntry",
    "ModelRegistry",
    "create_model",
    "dataset",
    "has_data",
    "list_models",
    "model_info",
    "register_model",
    "trained_model",
    "trained_weights_path",
]

F = TypeVar("F", bound=Callable[..., nn.Module])


@dataclass(frozen=True)
class ModelEntry:
    """Everything the registry knows about one model name."""

    name: str
    factory: Callable[..., nn.Module]
    description: str
    tags: tuple[str, ...] = ()
    input_shape: tuple[int, ...] = ()
    input_dtype: torch.dtype = torch.float32
    # Where the model's data comes from, how it is trained and by what (None: `fit`); all None for a model that
    # is only ever built with random weights (DeiT, JSC).
    data: DataSpec | None = None
    recipe: Recipe | None = None
    trainer: Trainer | None = field(default=None, compare=False)
    # Filled from the factory's module/qualname so `model_info` can say where a model lives.
    source: str = field(default="", compare=False)

    def example_input(self, batch: int = 1, *, seed: int | None = 0) -> torch.Tensor:
        """Return a random example input of shape ``(batch, *input_shape)``.

        A private generator is used (not the global RNG) so building example args never perturbs a caller's
        seeded training run; ``seed=None`` draws a non-deterministic seed.
        """
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        gen = torch.Generator()
        if seed is None:
            gen.seed()
        else:
            gen.manual_seed(seed)
        shape = (batch, *self.input_shape)
        if self.input_dtype.is_floating_point:
            return torch.randn(shape, generator=gen, dtype=self.input_dtype)
        return torch.randint(0, 2, shape, generator=gen, dtype=self.input_dtype)

    def example_args(self, batch: int = 1, *, seed: int | None = 0) -> tuple[torch.Tensor, ...]:
        """Positional example arguments for ``model(*args)`` / ``torch.export.export(model, args)``."""
        return (self.example_input(batch, seed=seed),)

    @property
    def has_data(self) -> bool:
        """Whether the entry carries a dataset and a training recipe."""
        return self.data is not None and self.recipe is not None


class ModelRegistry:
    """A mapping of model names to :class:`ModelEntry` objects.

    Kept as an explicit object (rather than module globals) so tests or downstream code can build their own
    registry without touching the project-wide one.
    """

    def __init__(self) -> None:
        self._entries: dict[str, ModelEntry] = {}

    def register(
        self,
        name: str,
        *,
        description: str,
        tags: tuple[str, ...] | list[str] = (),
        input_shape: tuple[int, ...],
        input_dtype: torch.dtype = torch.float32,
        data: DataSpec | None = None,
        recipe: Recipe | None = None,
        trainer: Trainer | None = None,
    ) -> Callable[[F], F]:
        """Decorator that registers a factory under ``name``; the factory is returned unchanged.

        ``data`` makes the model trainable: ``recipe`` (default ``Recipe()``) says how, ``trainer`` (default
        :func:`~hwsim.models._training.fit`) does it; a recipe or trainer without data is an error.
        """
        if not name or not name.isidentifier():
            # Identifiers keep names usable as CLI choices, file names and Python attributes alike.
            raise ValueError(f"model name must be a non-empty identifier, got {name!r}")
        shape = tuple(int(d) for d in input_shape)
        if any(d < 1 for d in shape):
            raise ValueError(f"input_shape must be positive, got {input_shape!r}")
        if data is None and (recipe is not None or trainer is not None):
            raise ValueError(f"model {name!r}: a training recipe or trainer needs data= (a DataSpec)")
        if data is not None and not isinstance(data, DataSpec):
            raise ValueError(f"model {name!r}: data must be a DataSpec, not {type(data).__name__}")
        if recipe is not None and not isinstance(recipe, Recipe):
            raise ValueError(f"model {name!r}: recipe must be a Recipe, not {type(recipe).__name__}")
        if data is not None and recipe is None:
            recipe = Recipe()

        def decorator(factory: F) -> F:
            if name in self._entries:
                raise ValueError(f"model {name!r} is already registered (by {self._entries[name].source})")
            self._entries[name] = ModelEntry(
                name=name,
                factory=factory,
                description=description,
                tags=tuple(tags),
                input_shape=shape,
                input_dtype=input_dtype,
                data=data,
                recipe=recipe,
                trainer=trainer,
                source=f"{factory.__module__}.{factory.__qualname__}",
            )
            return factory

        return decorator

    def get(self, name: str) -> ModelEntry:
        """Return the entry for ``name``; unknown names raise ``ValueError`` with close-match suggestions."""
        try:
            return self._entries[name]
        except KeyError:
            pass
        close = difflib.get_close_matches(name, self._entries, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known models: {', '.join(self.names())}"
        raise ValueError(f"unknown model {name!r}{hint}")

    def create(self, name: str, *, init_seed: int | None = 0, **kwargs: Any) -> nn.Module:
        """Build the model registered as ``name``, forwarding ``kwargs`` to its factory.

        The random initial weights come from ``init_seed`` (in a forked RNG, so the caller's stream is
        untouched): the same name gives the same weights, hence the same pruning masks and the same simulated
        cycles, on every run. ``init_seed=None`` draws from the global RNG instead. (A factory's own ``seed``
        option, e.g. JSC wiring, passes through ``kwargs``.)
        """
        entry = self.get(name)
        if init_seed is None:
            return entry.factory(**kwargs)
        with torch.random.fork_rng():
            torch.manual_seed(init_seed)
            return entry.factory(**kwargs)

    def has_data(self, name: str) -> bool:
        """Whether ``name`` (which must be registered) carries a dataset and a training recipe."""
        return self.get(name).has_data

    def _with_data(self, name: str) -> ModelEntry:
        entry = self.get(name)
        if not entry.has_data:
            trainable = ", ".join(n for n in self.names() if self._entries[n].has_data) or "none"
            raise ValueError(f"model {name!r} has no dataset or training recipe (models with data: {trainable})")
        return entry

    def dataset(self, name: str) -> Split:
        """The fixed train/test split of ``name``'s data, inputs shaped ``(n, *input_shape)`` for ``model(x)``."""
        entry = self._with_data(name)
        assert entry.data is not None
        x_tr, y_tr, x_te, y_te = entry.data.load(entry.data.split_seed)
        shape = entry.input_shape
        return Split(x_train=x_tr.reshape(-1, *shape), y_train=y_tr, x_test=x_te.reshape(-1, *shape), y_test=y_te,
                     num_classes=entry.data.num_classes)

    def _recipe(self, entry: ModelEntry, recipe: Recipe | None, seed: int | None) -> Recipe:
        recipe = entry.recipe if recipe is None else recipe
        if not isinstance(recipe, Recipe):
            raise ValueError(f"recipe must be a Recipe, not {type(recipe).__name__}")
        return recipe if seed is None else dataclasses.replace(recipe, seed=seed)

    def trained_weights_path(self, name: str, *, recipe: Recipe | None = None, seed: int | None = None) -> Path:
        """The cache file holding ``name``'s weights trained with ``recipe`` (default: the entry's) and ``seed``
        (default: the recipe's), whether or not it exists yet."""
        entry = self._with_data(name)
        return weights_path(entry, self._recipe(entry, recipe, seed))

    def trained(self, name: str, *, use_cache: bool = True, recipe: Recipe | None = None,
                seed: int | None = None) -> nn.Module:
        """``name`` trained on its data with ``recipe`` (default: the entry's) and ``seed`` (default: the
        recipe's), in eval mode; a new module on every call, so callers may prune or quantize it in place.

        The first call trains (a few seconds for the models here) and stores the state_dict in the disk cache
        (`trained_weights_path`); later calls load it. A damaged cache file is trained again and overwritten.
        ``use_cache=False`` neither reads nor writes the cache. The same arguments give bit-identical weights
        on every run on one machine.
        """
        entry = self._with_data(name)
        recipe = self._recipe(entry, recipe, seed)

        def build() -> nn.Module:
            return self.create(name, init_seed=recipe.seed)

        path = weights_path(entry, recipe)
        if use_cache:
            model = load_weights(path, build)
            if model is not None:
                return model.eval()
        model = train_entry(entry, recipe, build, self.dataset(name))
        if use_cache:
            save_weights(path, model)
        return model

    def names(self, pattern: str = "*") -> list[str]:
        """Sorted names matching the shell-style ``pattern`` (case-sensitive)."""
        return sorted(n for n in self._entries if fnmatch.fnmatchcase(n, pattern))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)


#: The project-wide registry that ``hwsim.models`` populates.
MODELS = ModelRegistry()


def register_model(
    name: str,
    *,
    description: str,
    tags: tuple[str, ...] | list[str] = (),
    input_shape: tuple[int, ...],
    input_dtype: torch.dtype = torch.float32,
    data: DataSpec | None = None,
    recipe: Recipe | None = None,
    trainer: Trainer | None = None,
) -> Callable[[F], F]:
    """Register a model factory in the project-wide registry.

    ``input_shape`` is the shape of one example input without the batch dimension; it backs
    :meth:`ModelEntry.example_input`. ``data``, ``recipe`` and ``trainer`` make the model trainable by name
    (:func:`trained_model`); see :meth:`ModelRegistry.register`.
    """
    return MODELS.register(name, description=description, tags=tags, input_shape=input_shape, input_dtype=input_dtype,
                           data=data, recipe=recipe, trainer=trainer)


def create_model(name: str, *, init_seed: int | None = 0, **kwargs: Any) -> nn.Module:
    """Build a registered model by name with initial weights from ``init_seed`` (default 0, reproducible);
    unknown names raise ``ValueError`` listing up to 3 close matches."""
    return MODELS.create(name, init_seed=init_seed, **kwargs)


def list_models(pattern: str = "*") -> list[str]:
    """Sorted names of registered models matching the fnmatch-style ``pattern``."""
    return MODELS.names(pattern)


def model_info(name: str) -> ModelEntry:
    """Metadata for ``name``: description, tags, example-input shape (``input_shape``) and ``example_input()``."""
    return MODELS.get(name)


def has_data(name: str) -> bool:
    """Whether model ``name`` carries a dataset and a training recipe (unknown names raise ``ValueError``)."""
    return MODELS.has_data(name)


def dataset(name: str) -> Split:
    """The fixed train/test :class:`Split` of model ``name``'s data, inputs shaped for ``model(x)``; a model
    without data raises ``ValueError`` naming it."""
    return MODELS.dataset(name)


def trained_model(name: str, *, use_cache: bool = True, recipe: Recipe | None = None,
                  seed: int | None = None) -> nn.Module:
    """Model ``name`` trained with its registered recipe (or ``recipe``, or that recipe with ``seed``), in eval
    mode, from the disk cache when it holds these weights; see :meth:`ModelRegistry.trained`."""
    return MODELS.trained(name, use_cache=use_cache, recipe=recipe, seed=seed)


def trained_weights_path(name: str, *, recipe: Recipe | None = None, seed: int | None = None) -> Path:
    """The cache file for :func:`trained_model` with these arguments (it may not exist yet)."""
    return MODELS.trained_weights_path(name, recipe=recipe, seed=seed)
