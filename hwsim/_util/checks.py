"""Argument checks shared by every layer: each raises at once, naming the parameter and the value."""

from __future__ import annotations

import numpy as np


def check_int(name: str, value, lo: int | None = None, hi: int | None = None) -> int:
    """Validate an integer parameter, raising with its name and value."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    value = int(value)
    if lo is not None and value < lo:
        raise ValueError(f"{name} must be >= {lo}, not {value!r}")
    if hi is not None and value > hi:
        raise ValueError(f"{name} must be <= {hi}, not {value!r}")
    return value


def as_float_array(x, name: str = "x") -> np.ndarray:
    """`x` as a float64 array (float32 and integer inputs convert exactly), or TypeError naming it."""
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{name} must be numeric, not an array of {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real, not complex")
    return arr.astype(np.float64, copy=False)


def as_code_array(codes, bits: int, name: str = "codes") -> np.ndarray:
    """`codes` as an int64 array, checked to lie in [0, 2**bits)."""
    arr = np.asarray(codes)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must be integers, not an array of {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and (arr.min() < 0 or arr.max() >= (1 << bits)):
        bad = arr[(arr < 0) | (arr >= (1 << bits))].flat[0]
        raise ValueError(f"{name} must lie in [0, 2**{bits}) for a {bits}-bit format, got {int(bad)}")
    return arr
