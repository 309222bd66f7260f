"""An explicit name -> entry registry: refuses duplicates, suggests close names, keeps renamed spellings.

One class serves the format kinds, the quantization schemes and the MAC kinds, so each list lives in exactly
one object and every lookup fails the same way: ``unknown format kind 'posti'; did you mean 'posit'?``.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Names -> entries, in registration order. ``what`` names the kind of entry in error messages."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._entries: dict[str, T] = {}
        self._aliases: dict[str, tuple[str, str]] = {}  # old name -> (new name, why it changed)

    def register(self, name: str, entry: T) -> T:
        if not isinstance(name, str) or not name:
            raise ValueError(f"{self.what} name must be a non-empty string, not {name!r}")
        if name in self._entries or name in self._aliases:
            raise ValueError(f"{self.what} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def alias(self, old: str, new: str, why: str) -> None:
        """Keep ``old`` working as ``new``; each use warns (FutureWarning) with ``why``."""
        if new not in self._entries:
            raise ValueError(f"cannot alias {old!r} to unregistered {self.what} {new!r}")
        if old in self._entries or old in self._aliases:
            raise ValueError(f"{self.what} {old!r} is already registered")
        self._aliases[old] = (new, why)

    def resolve(self, name: str) -> str:
        """The registered name for ``name`` (following a renamed spelling, with a warning)."""
        if name in self._entries:
            return name
        if name in self._aliases:
            new, why = self._aliases[name]
            warnings.warn(f"{self.what} {name!r} is now spelled {new!r}: {why}", FutureWarning, stacklevel=3)
            return new
        close = difflib.get_close_matches(str(name), list(self._entries), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown {self.what} {name!r}{hint} (choose from {', '.join(self._entries)})")

    def get(self, name: str) -> T:
        return self._entries[self.resolve(name)]

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def items(self):
        return self._entries.items()
