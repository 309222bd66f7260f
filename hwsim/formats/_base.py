"""Shared machinery of the number formats: the abstract base and code/array helpers."""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod

import numpy as np

# Formats whose full code table is materialised (values(), table-based encode) stop here: 2**20 codes.
MAX_TABLE_BITS = 20


def code_dtype(bits: int) -> np.dtype:
    """Smallest unsigned integer dtype that holds a `bits`-wide code."""
    for dt in (np.uint8, np.uint16, np.uint32, np.uint64):
        if bits <= np.iinfo(dt).bits:
            return np.dtype(dt)
    raise ValueError(f"code width must be <= 64 bits, not {bits!r}")


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


class NumberFormat(ABC):
    """A number format: a finite set of codes, each with a value.

    Codes are the unsigned bit patterns the hardware stores, in ``[0, 2**bits)``. Every method is
    vectorised over numpy arrays; scalars come back as 0-d results.
    """

    __slots__ = ()
    # Every format has ``bits``, the width of a code (a dataclass field or a property of the subclass;
    # declaring it here would hand the dataclass fields a bogus default).
    bits: int

    @property
    @abstractmethod
    def name(self) -> str:
        """Short spec string that `parse_format` reads back, e.g. ``posit:8:2``."""

    @abstractmethod
    def encode(self, x) -> np.ndarray:
        """Round real values to codes (the format's rounding rule, documented on the class)."""

    @abstractmethod
    def decode(self, codes) -> np.ndarray:
        """Exact float64 value of each code (NaR/NaN as nan)."""

    def quantize(self, x) -> np.ndarray:
        """``decode(encode(x))``: the nearest representable value under the format's rounding."""
        return self.decode(self.encode(x))

    def codes(self) -> np.ndarray:
        """Every code, ``0 .. 2**bits - 1``."""
        if self.bits > MAX_TABLE_BITS:
            raise ValueError(f"{self.name} has 2**{self.bits} codes; tables stop at {MAX_TABLE_BITS} bits")
        return np.arange(1 << self.bits, dtype=code_dtype(self.bits))

    def values(self) -> np.ndarray:
        """Value of every code, indexed by code (a read-only float64 array)."""
        return _value_table(self)

    def levels(self) -> np.ndarray:
        """Distinct finite values, ascending."""
        v = self.values()
        return np.unique(v[np.isfinite(v)] + 0.0)  # + 0.0 folds -0 into +0

    def __str__(self) -> str:
        return self.name


@functools.lru_cache(maxsize=64)
def _value_table(fmt: NumberFormat) -> np.ndarray:
    table = fmt.decode(fmt.codes()).astype(np.float64)
    table.setflags(write=False)
    return table
