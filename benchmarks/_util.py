"""Small helpers shared by the benchmark scripts."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_time(fn: Callable[[], object], repeat: int = 3) -> float:
    """Best wall time of ``repeat`` calls, in seconds (after the caller's warm-up)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


# Every MAC kind at 4 and 8 weight bits with 8-bit activations (posit_quire: posit activations of the same format):
# the designs the area and energy tables in the README and docs/cost-model.md are made of.
MAC_DESIGNS = [
    ("fixed", dict(w_bits=4, x_bits=8)),
    ("sp2", dict(w_bits=4, x_bits=8)),
    ("msq", dict(w_bits=4, x_bits=8)),
    ("posit_fixp", dict(n=4, es=1, x_bits=8)),
    ("posit_quire", dict(n=4, es=1)),
    ("posit_or_fixed", dict(n=4, es=1, fixed_bits=4, x_bits=8)),
    ("fixed", dict(w_bits=8, x_bits=8)),
    ("sp2", dict(w_bits=8, x_bits=8)),
    ("msq", dict(w_bits=8, x_bits=8)),
    ("posit_fixp", dict(n=8, es=0, x_bits=8)),
    ("posit_fixp", dict(n=8, es=2, x_bits=8)),
    ("posit_quire", dict(n=8, es=0)),
    ("posit_quire", dict(n=8, es=2)),
    ("posit_or_fixed", dict(n=8, es=1, fixed_bits=8, x_bits=8)),
]


def mac_label(unit) -> str:
    """``sp2 (sp2:4:2:1 x fixed:8:0)``: the kind and its operand formats (both weight readings of a mixed PE)."""
    w = unit.w_format.name
    if getattr(unit, "fixed_format", None) is not None:
        w = f"{w} or {unit.fixed_format.name}"
    return f"{unit.kind} ({w} x {unit.x_format.name})"
