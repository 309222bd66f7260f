"""Two's complement (or unsigned) fixed point."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._util import as_code_array, as_float_array, check_int
from ._base import NumberFormat, code_dtype


@dataclass(frozen=True, slots=True)
class Fixed(NumberFormat):
    """Fixed point: ``bits`` wide with ``frac`` fraction bits; value = integer * 2**-frac.

    Codes are the bit patterns (two's complement when ``signed``). ``encode`` rounds half to even and
    saturates to the representable range (+-inf saturate too); NaN has no code and raises ValueError.
    """

    bits: int
    frac: int
    signed: bool = True

    def __post_init__(self) -> None:
        check_int("bits", self.bits, 1, 32)
        check_int("frac", self.frac, -64, 64)
        if not isinstance(self.signed, bool):
            raise TypeError(f"signed must be a bool, not {self.signed!r}")

    @property
    def name(self) -> str:
        return f"{'fixed' if self.signed else 'ufixed'}:{self.bits}:{self.frac}"

    @property
    def int_min(self) -> int:
        """Smallest integer (code interpreted as a number)."""
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def int_max(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def scale(self) -> float:
        """Value of one LSB, 2**-frac."""
        return float(np.ldexp(1.0, -self.frac))

    @property
    def largest(self) -> float:
        return self.int_max * self.scale  # no code table: fixed point goes up to 32 bits

    def code_fields(self, codes) -> dict[str, np.ndarray]:
        return {"integer": self.to_int(codes)}

    def to_int(self, codes) -> np.ndarray:
        """The integer each code stands for (two's complement sign-extended when signed), as int64."""
        c = as_code_array(codes, self.bits)
        if self.signed:
            c = np.where(c >= (1 << (self.bits - 1)), c - (1 << self.bits), c)
        return c

    def from_int(self, ints) -> np.ndarray:
        """Codes of integers already in range (the inverse of `to_int`)."""
        i = np.asarray(ints, dtype=np.int64)
        if i.size and (i.min() < self.int_min or i.max() > self.int_max):
            raise ValueError(f"integers must lie in [{self.int_min}, {self.int_max}] for {self.name}")
        return (i & ((1 << self.bits) - 1)).astype(code_dtype(self.bits))

    def encode(self, x) -> np.ndarray:
        v = as_float_array(x)
        if np.isnan(v).any():
            raise ValueError(f"NaN has no code in {self.name}")
        # Scaling by a power of two is exact, and rint rounds half to even.
        q = np.rint(np.clip(np.ldexp(v, self.frac), self.int_min, self.int_max)).astype(np.int64)
        return (q & ((1 << self.bits) - 1)).astype(code_dtype(self.bits))

    def decode(self, codes) -> np.ndarray:
        return np.ldexp(self.to_int(codes).astype(np.float64), -self.frac)
