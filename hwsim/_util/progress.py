"""Named phases of a long job: how long each took (always recorded) and, when asked, what is running now.

A job opens ``with timed_phases(show=...) as timings:``; code anywhere below it wraps its slow steps in
``with phase("quantize", total=len(layers)) as step:`` (calling ``step()`` per item) without passing anything
down. With ``show`` each phase is a tqdm line on stderr (a bar when it has a total, else its elapsed time);
``timings`` maps phase names to seconds (repeated names add up; a phase opened inside another is timed on its own
and also counts in the outer one's time, and is shown on the outer one's line). Outside a job, `phase` only runs
its body.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
import time
from collections.abc import Callable, Iterator

__all__ = ["phase", "timed_phases"]

# (timings, show, the bars of the phases open now: outermost first)
_current: contextvars.ContextVar[tuple[dict[str, float], bool, list] | None] = contextvars.ContextVar(
    "hwsim_phases", default=None)


@contextlib.contextmanager
def timed_phases(show: bool = False) -> Iterator[dict[str, float]]:
    """Record the phases run inside the block into the yielded dict (seconds); ``show`` draws them on stderr.
    Inside another job's block this joins that job (its timings and its ``show``)."""
    outer = _current.get()
    if outer is not None:
        yield outer[0]
        return
    timings: dict[str, float] = {}
    token = _current.set((timings, bool(show), []))
    try:
        yield timings
    finally:
        _current.reset(token)


def _nothing() -> None:
    return None


@contextlib.contextmanager
def phase(name: str, total: int | None = None) -> Iterator[Callable[[], None]]:
    """One phase of the current job; yields a function to call once per finished item of ``total``."""
    job = _current.get()
    if job is None:
        yield _nothing
        return
    timings, show, bars = job
    bar = None
    if show and bars:  # inside a shown phase: say so on its line (a second bar would move the cursor on a pipe)
        outer = bars[-1]
        desc = outer.desc
        outer.set_description_str(f"{desc} > {name}")
        try:
            start = time.perf_counter()
            yield _nothing
        finally:
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - start
            outer.set_description_str(desc)
        return
    if show:
        from tqdm import tqdm

        fmt = None if total else "{desc}: {elapsed_s:.1f} s"
        bar = tqdm(total=total, desc=name, file=sys.stderr, leave=True, bar_format=fmt, dynamic_ncols=True,
                   unit="layer" if total else "it")
        bars.append(bar)
    start = time.perf_counter()
    try:
        yield (lambda: bar.update(1)) if bar is not None else _nothing
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - start
        if bar is not None:
            bars.pop()
            bar.close()
