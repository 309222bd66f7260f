"""Round-to-nearest encoding against a sorted table of levels (for formats with few codes)."""

from __future__ import annotations

import numpy as np


def encode_nearest(x: np.ndarray, levels: np.ndarray, level_codes: np.ndarray,
                   tie_to_upper: np.ndarray) -> np.ndarray:
    """Code of the nearest level for each element of ``x``.

    ``levels`` ascending and distinct; ``level_codes[i]`` is the code of ``levels[i]``. An input exactly
    halfway between ``levels[i]`` and ``levels[i+1]`` goes up when ``tie_to_upper[i]``, else down. Values
    beyond the ends saturate to the end levels. NaN must be handled by the caller.
    """
    mids = (levels[:-1] + levels[1:]) * 0.5  # exact: neighbouring levels are dyadic with few bits
    # side="left": i = number of midpoints strictly below x, so a tie lands on the lower level...
    idx = np.searchsorted(mids, x, side="left")
    # ...and moves up where the tie rule says so.
    if tie_to_upper.any():
        at_tie = (idx < mids.size) & (mids[np.minimum(idx, mids.size - 1)] == x)
        idx = idx + (at_tie & tie_to_upper[np.minimum(idx, mids.size - 1)])
    return level_codes[idx]
