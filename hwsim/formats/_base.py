"""Shared machinery of the number formats: the abstract base, its code tables and the code dtype helper."""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod

import numpy as np

from ._kernels import row_peaks

# Formats whose full code table is materialised (values(), table-based encode) stop here: 2**20 codes.
MAX_TABLE_BITS = 20


def code_dtype(bits: int) -> np.dtype:
    """Smallest unsigned integer dtype that holds a `bits`-wide code."""
    for dt in (np.uint8, np.uint16, np.uint32, np.uint64):
        if bits <= np.iinfo(dt).bits:
            return np.dtype(dt)
    raise ValueError(f"code width must be <= 64 bits, not {bits!r}")


def as_rows(rows) -> np.ndarray:
    """``rows`` as a 2-D float32 or float64 array in C or F order, not copied when it already is one.

    Other dtypes convert to float64 (exactly), other strides to C order: the row kernels sum rows in numpy's
    order for those two layouts (see `hwsim.formats._kernels`).
    """
    arr = np.asarray(rows)
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    if arr.ndim != 2:
        raise ValueError(f"rows must be a 2-D array, not shape {arr.shape}")
    return arr if arr.flags.c_contiguous or arr.flags.f_contiguous else np.ascontiguousarray(arr)


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

    @property
    def largest(self) -> float:
        """The largest finite value."""
        return float(self.levels().max())

    def row_scales(self, rows: np.ndarray) -> np.ndarray:
        """Per-row float64 scale s putting each row of ``rows`` (out, K) on this format's grid as ``rows / s``:
        the row's max |w| lands on the largest value (1 for an all-zero row). Formats whose precision is not
        uniform override it."""
        s = row_peaks(as_rows(rows)) / self.largest
        return np.where(s > 0, s, 1.0)

    def code_fields(self, codes) -> dict[str, np.ndarray]:
        """The fields of each code's encoding, for code tables (`hwsim.report.format_table`); none by default."""
        return {}

    def __str__(self) -> str:
        return self.name


@functools.lru_cache(maxsize=64)
def _value_table(fmt: NumberFormat) -> np.ndarray:
    table = fmt.decode(fmt.codes()).astype(np.float64)
    table.setflags(write=False)
    return table
