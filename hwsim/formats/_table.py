"""Round-to-nearest encoding against a sorted table of levels (for formats with few codes)."""

from __future__ import annotations

import numpy as np

from ._kernels import encode_table, thresholds


def encode_nearest(x: np.ndarray, levels: np.ndarray, level_codes: np.ndarray,
                   tie_to_upper: np.ndarray) -> np.ndarray:
    """Code of the nearest level for each element of ``x``.

    ``levels`` ascending and distinct; ``level_codes[i]`` is the code of ``levels[i]``. An input exactly
    halfway between ``levels[i]`` and ``levels[i+1]`` goes up when ``tie_to_upper[i]``, else down. Values
    beyond the ends saturate to the end levels. NaN must be handled by the caller.
    """
    flat = np.ascontiguousarray(x, dtype=np.float64).ravel()
    out = np.empty(flat.size, dtype=level_codes.dtype)
    encode_table(flat, thresholds(levels, tie_to_upper), level_codes, out)
    return out.reshape(np.shape(x))
