"""Pareto fronts of two objectives, both minimized, in O(n log n)."""

from __future__ import annotations

import numpy as np

__all__ = ["pareto_min"]


def pareto_min(x, y) -> np.ndarray:
    """Bool per point: no other point has x and y at most as large, smaller in one (NaN points are never on it)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D and of one length, not {x.shape} and {y.shape}")
    front = np.zeros(x.size, dtype=bool)
    ok = np.flatnonzero(~(np.isnan(x) | np.isnan(y)))
    order = ok[np.lexsort((y[ok], x[ok]))]
    best = np.inf  # the smallest y among points with a strictly smaller x
    i = 0
    while i < order.size:
        j = i
        while j + 1 < order.size and x[order[j + 1]] == x[order[i]]:
            j += 1
        group = order[i:j + 1]
        low = y[group[0]]  # sorted by y within equal x
        if low < best:
            front[group[y[group] == low]] = True
            best = low
        i = j + 1
    return front
