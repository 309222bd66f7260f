"""Round-to-nearest encoding against a sorted table of levels (for formats with few codes)."""

from __future__ import annotations

import numba
import numpy as np


def encode_nearest(x: np.ndarray, levels: np.ndarray, level_codes: np.ndarray,
                   tie_to_upper: np.ndarray) -> np.ndarray:
    """Code of the nearest level for each element of ``x``.

    ``levels`` ascending and distinct; ``level_codes[i]`` is the code of ``levels[i]``. An input exactly
    halfway between ``levels[i]`` and ``levels[i+1]`` goes up when ``tie_to_upper[i]``, else down. Values
    beyond the ends saturate to the end levels. NaN must be handled by the caller.
    """
    mids = (levels[:-1] + levels[1:]) * 0.5  # exact: neighbouring levels are dyadic with few bits
    flat = np.ascontiguousarray(x, dtype=np.float64).ravel()
    out = np.empty(flat.size, dtype=level_codes.dtype)
    _encode_kernel(flat, mids, level_codes, tie_to_upper.astype(np.bool_), out)
    return out.reshape(np.shape(x))


@numba.njit(cache=True, nogil=True)
def _encode_kernel(x, mids, level_codes, tie_up, out):  # pragma: no cover - numba
    n = mids.size
    for i in range(x.size):
        v = x[i]
        # binary search: idx = number of midpoints strictly below v (a tie lands on the lower level)
        lo, hi = 0, n
        while lo < hi:
            mid = (lo + hi) >> 1
            if mids[mid] < v:
                lo = mid + 1
            else:
                hi = mid
        if lo < n and mids[lo] == v and tie_up[lo]:
            lo += 1
        out[i] = level_codes[lo]
