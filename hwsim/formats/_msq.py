"""Per-row assignment of SP2 or fixed point: the mixed scheme of MSQ (Chang et al., arXiv 2012.04240).

MSQ splits the rows of every weight matrix between an SP2 (shift-add, LUT) and a fixed-point (DSP) PE
array in a ratio fixed by the hardware. Which rows go to SP2 is decided here by quantization error:
each row is scaled so that its max |w| lands on the format's largest level (symmetric max scaling, so
both formats cover the row exactly), quantized with both formats, and the rows where SP2's mean
squared error is lowest relative to fixed point's (the ratio, so large and small rows compete fairly)
are given to SP2. These are the bell-shaped rows with most weights near zero, where SP2's levels crowd.
"""

from __future__ import annotations

import numpy as np

from .._util import as_float_array, check_int
from ._base import as_rows
from ._fixed import Fixed
from ._kernels import row_peaks, row_square_sums
from ._rows import row_square_errors
from ._sp2 import SP2


def row_scales(peaks: np.ndarray, fmt) -> np.ndarray:
    """Per-row scale that maps the row's max |w| (``peaks``, `row_peaks`) onto ``fmt``'s largest level (1 for an
    all-zero row)."""
    s = peaks / fmt.levels().max()
    return np.where(s > 0, s, 1.0)


def msq_row_errors(weight, bits: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Mean squared quantization error of each row under per-row-scaled SP2(bits) and Fixed(bits, bits-1)."""
    w, peaks = _check_weight(weight)
    return _row_errors(w, peaks, check_int("bits", bits, 2, 11))


def _row_errors(w: np.ndarray, peaks: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """`msq_row_errors` of checked rows ``w`` with max |w| ``peaks``."""
    sp2, fixed = SP2(bits), Fixed(bits, bits - 1)
    return tuple(row_square_errors(fmt, w, row_scales(peaks, fmt)) / w.shape[1] for fmt in (sp2, fixed))


def msq_assign(weight, sp2_fraction: float, bits: int = 4) -> np.ndarray:
    """Boolean mask over the rows of a 2-D ``weight``: True where the row is quantized to SP2.

    Exactly ``round(sp2_fraction * rows)`` rows are True: those with the largest error ratio
    ``mse_fixed / mse_sp2`` (see `msq_row_errors`); ties go to the lower row.
    """
    w, peaks = _check_weight(weight)
    if isinstance(sp2_fraction, bool) or not isinstance(sp2_fraction, (int, float, np.floating)):
        raise TypeError(f"sp2_fraction must be a number, not {sp2_fraction!r}")
    if not 0.0 <= float(sp2_fraction) <= 1.0:
        raise ValueError(f"sp2_fraction must lie in [0, 1], not {sp2_fraction!r}")
    mse_sp2, mse_fixed = _row_errors(w, peaks, check_int("bits", bits, 2, 11))
    # log of the ratio; the floor keeps exact rows (error 0) finite and ranks them by the other error
    floor = np.maximum(1e-30 * (row_square_sums(w) / w.shape[1]), 1e-300)
    advantage = np.log(mse_fixed + floor) - np.log(mse_sp2 + floor)
    n_sp2 = round(float(sp2_fraction) * w.shape[0])
    order = np.argsort(-advantage, kind="stable")
    mask = np.zeros(w.shape[0], dtype=bool)
    mask[order[:n_sp2]] = True
    return mask


def _check_weight(weight) -> tuple[np.ndarray, np.ndarray]:
    """``weight`` as 2-D float rows (`as_rows`), and their `row_peaks`."""
    w = np.asarray(weight)
    if w.dtype not in (np.float32, np.float64):  # float32 stays float32: the kernels read it as is
        w = as_float_array(w, "weight")
    if w.ndim != 2:
        raise ValueError(f"weight must be a 2-D matrix (rows x columns), not shape {w.shape}")
    w = as_rows(w)
    peaks = row_peaks(w)
    if not np.isfinite(peaks).all():  # a row's max |w| is NaN or inf when one of its weights is
        raise ValueError("weight must be finite (it holds NaN or inf)")
    return w, peaks
