"""The disk cache of expensive results (synthesized netlists, areas, energies): JSON files keyed by a hash of
everything the result depends on, written whole or not at all."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from .io import write_text


def cache_dir() -> Path:
    """``$HWSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/hwsim``, else ``~/.cache/hwsim``."""
    if os.environ.get("HWSIM_CACHE_DIR"):
        return Path(os.environ["HWSIM_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "hwsim"


def cache_path(section: str, name: str, payload: Mapping) -> Path:
    """``cache_dir()/section/name-<hash of payload>.json``: the key is everything the cached result depends on."""
    key = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:20]
    return cache_dir() / section / f"{name}-{key}.json"


@contextlib.contextmanager
def cache_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on computing the entry ``path`` (``flock`` on ``path.lock``), so that processes
    that miss the same entry at once (a sweep's workers) compute it once: the others wait, then read it. Where
    the folder cannot be written, the lock is skipped and each computes on its own."""
    import fcntl

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        f = open(path.with_name(path.name + ".lock"), "a")  # closed below
    except OSError:
        yield
        return
    try:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield
    finally:
        f.close()  # releases the lock


def read_cached(path: Path, use_cache: bool = True):
    """The JSON held at ``path``, or None when caching is off, the entry is missing or it is damaged."""
    if not use_cache or not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return None  # damaged: the caller computes again and overwrites it


def write_cached(path: Path, data, use_cache: bool = True, *, compact: bool = False) -> None:
    """Store ``data`` as JSON at ``path``, whole or not at all (nothing when caching is off)."""
    if use_cache:
        text = json.dumps(data, separators=(",", ":")) if compact else json.dumps(data, indent=1, sort_keys=True)
        write_text(path, text)
