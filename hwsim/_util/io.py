"""Output files that are either whole or absent: write beside the target, then rename over it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it is renamed to ``path``.

    On an exception the temporary file is removed and ``path`` is left as it was.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix, dir=target.parent)
    except OSError as e:
        raise OSError(e.errno, e.strerror, str(target)) from None
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; the file gets the mode open() would give it
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(e, OSError) and e.filename in (tmp, None):  # name the user's file, not our temporary one
            raise OSError(e.errno, e.strerror, str(target)) from None
        raise


def write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_with(path: str | os.PathLike, writer: Callable[[Path], object]) -> Path:
    """Call ``writer(tmp_path)`` and move the result into place."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def _existing_ancestor(path: Path) -> tuple[Path, list[Path]]:
    """The nearest part of ``path`` (itself included) that exists, and the missing folders below it, innermost
    first."""
    missing = []
    while not path.exists() and path.parent != path:
        missing.append(path)
        path = path.parent
    return path, missing


def check_writable_dir(path: str | os.PathLike, what: str = "--out", *, create: bool = True) -> Path:
    """Check that ``path`` is (or can become) a folder we can write into, raising ValueError naming it.

    ``create=True`` makes it; ``create=False`` only checks (the folder, or its nearest existing parent, must be a
    writable directory), so a command can validate its output before any work and create nothing when a later
    input check fails."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ValueError(f"{what} {str(p)!r} is not a directory")
    if not create:
        probe, _ = _existing_ancestor(p)
        if not probe.is_dir():
            raise ValueError(f"{what} {str(p)!r} cannot be created: {str(probe)!r} is not a directory")
        if not os.access(probe, os.W_OK | os.X_OK):
            raise ValueError(f"{what} {str(p)!r} is not writable" if probe == p else
                             f"{what} {str(p)!r} cannot be created: {str(probe)!r} is not writable")
        return p
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"{what} {str(p)!r} cannot be created: {e.strerror}") from None
    if not p.is_dir():
        raise ValueError(f"{what} {str(p)!r} is not a directory")
    if not os.access(p, os.W_OK | os.X_OK):
        raise ValueError(f"{what} {str(p)!r} is not writable")
    return p


@contextlib.contextmanager
def output_dir(path: str | os.PathLike, what: str = "--out") -> Iterator[Path]:
    """Create the folder ``path`` for writing into; if the block fails (or is interrupted) and the folder did
    not exist before, it is removed again when still empty, so nothing is left behind."""
    p = Path(path)
    _, missing = _existing_ancestor(p)
    out = check_writable_dir(p, what)
    try:
        yield out
    except BaseException:
        for folder in missing:  # innermost first
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty
        raise
