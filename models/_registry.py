"""A small, explicit model registry: names -> factory functions plus the metadata needed to drive them.

Factories register themselves with :func:`register_model` when their module is imported (``hwsim.models``
imports all of them), and callers build models by name with :func:`create_model`. Each entry also records the
shape of one example input (without the batch dimension), so tools such as ``torch.export`` or the cost model
can construct example arguments without knowing anything model-specific.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch
from torch import nn

__all__ = [
    "MODELS",
    "ModelEntry",
    "ModelRegistry",
    "create_model",
    "list_models",
    "model_info",
    "register_model",
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
    ) -> Callable[[F], F]:
        """Decorator that registers a factory under ``name``; the factory is returned unchanged."""
        if not name or not name.isidentifier():
            # Identifiers keep names usable as CLI choices, file names and Python attributes alike.
            raise ValueError(f"model name must be a non-empty identifier, got {name!r}")
        shape = tuple(int(d) for d in input_shape)
        if any(d < 1 for d in shape):
            raise ValueError(f"input_shape must be positive, got {input_shape!r}")

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
) -> Callable[[F], F]:
    """Register a model factory in the project-wide registry.

    ``input_shape`` is the shape of one example input without the batch dimension; it backs
    :meth:`ModelEntry.example_input`.
    """
    return MODELS.register(name, description=description, tags=tags, input_shape=input_shape, input_dtype=input_dtype)


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
