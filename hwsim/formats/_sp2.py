"""Sum-of-two-powers-of-two (SP2) weights, the shift-add format of MSQ (Chang et al., arXiv 2012.04240)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .._util import as_code_array, as_float_array, check_int
from ._base import NumberFormat, code_dtype
from ._table import encode_nearest

# A 6-bit field would reach 2**-63, and 2**-1 + 2**-63 is not exact in float64: fields stop at 5 bits.
_MAX_FIELD = 5


class SP2Terms(NamedTuple):
    """The fields of SP2 codes: what a shift-add MAC needs.

    ``e1``/``e2`` are the shift amounts of the two terms: 0 means the term is absent, ``e > 0`` means the
    term is ``2**-e`` (shift the activation right by ``e``). ``sign`` is 1 for negative.
    """

    sign: np.ndarray
    e1: np.ndarray
    e2: np.ndarray


@dataclass(frozen=True, slots=True)
class SP2(NumberFormat):
    """SP2: value = (-1)**sign * (q1 + q2), q1 = 2**-e1 (0 if e1 == 0), q2 likewise with e2.

    A code is ``sign | e1 (m1 bits) | e2 (m2 bits)``, MSB first, so ``m1 + m2 + 1 == bits`` and the
    magnitude ranges over {0, 2**-(2**m1 - 1), ..., 1}. By default ``m1 = ceil((bits-1)/2) >= m2``.
    Each field is at most 5 bits wide (shifts up to 31), so every value is exact in float64.

    Aliases: -0 equals +0, and wherever ``q1 + q2 == q1' + q2'`` two codes share a value (for example
    ``e1=1, e2=0`` and ``e1=0, e2=1`` both give 1/2, and ``e1=e2=e`` equals ``e1=e-1, e2=0``).
    `encode` returns the canonical code: +0 for zero, else the code of that value with the fewest
    non-zero terms, then the larger term in q1 (the wider field).
    Rounding is to the nearest level; an exact tie goes to the level of smaller magnitude.
    """

    bits: int
    m1: int | None = None
    m2: int | None = None

    def __post_init__(self) -> None:
        bits = check_int("bits", self.bits, 2, 2 * _MAX_FIELD + 1)
        m1, m2 = self.m1, self.m2
        if m1 is None and m2 is None:
            m2 = (bits - 1) // 2
            m1 = bits - 1 - m2
        elif m1 is None:
            m1 = bits - 1 - check_int("m2", m2, 0)
        elif m2 is None:
            m2 = bits - 1 - check_int("m1", m1, 0)
        m1 = check_int("m1", m1, 1, _MAX_FIELD)
        m2 = check_int("m2", m2, 0, _MAX_FIELD)
        if m1 + m2 + 1 != bits:
            raise ValueError(f"m1 + m2 + 1 must equal bits={bits}, not m1={m1}, m2={m2}")
        object.__setattr__(self, "m1", m1)
        object.__setattr__(self, "m2", m2)

    @property
    def name(self) -> str:
        return f"sp2:{self.bits}:{self.m1}:{self.m2}"

    def code_fields(self, codes) -> dict[str, np.ndarray]:
        """Sign and shift fields, and whether the code is the canonical one for its value (`encode` gives it)."""
        codes = np.asarray(codes, dtype=np.int64)
        sign, e1, e2 = self.terms(codes)
        return {"sign": sign, "e1": e1, "e2": e2,
                "canonical": self.encode(self.decode(codes)).astype(np.int64) == codes}

    def terms(self, codes) -> SP2Terms:
        """Sign and the two shift amounts of each code."""
        c = as_code_array(codes, self.bits)
        return SP2Terms(
            sign=(c >> (self.bits - 1)) & 1,
            e1=(c >> self.m2) & ((1 << self.m1) - 1),
            e2=c & ((1 << self.m2) - 1),
        )

    def decode(self, codes) -> np.ndarray:
        return _sp2_values(self)[as_code_array(codes, self.bits)]  # at most 2**11 codes: a table lookup

    def values(self) -> np.ndarray:
        return _sp2_values(self)

    def encode(self, x) -> np.ndarray:
        v = as_float_array(x)
        if np.isnan(v).any():
            raise ValueError(f"NaN has no code in {self.name}")
        levels, level_codes, tie_up = _sp2_table(self)
        return encode_nearest(v, levels, level_codes, tie_up)


@functools.lru_cache(maxsize=32)
def _sp2_values(fmt: SP2) -> np.ndarray:
    """Value of every code, from the definition: +-(2**-e1 + 2**-e2), a zero field meaning no term."""
    t = fmt.terms(np.arange(1 << fmt.bits))
    q1 = np.where(t.e1 > 0, np.ldexp(1.0, -t.e1), 0.0)
    q2 = np.where(t.e2 > 0, np.ldexp(1.0, -t.e2), 0.0)
    values = np.where(t.sign == 1, -(q1 + q2), q1 + q2)
    values.setflags(write=False)
    return values


@functools.lru_cache(maxsize=32)
def _sp2_table(fmt: SP2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    codes = np.arange(1 << fmt.bits, dtype=np.int64)
    t = fmt.terms(codes)
    values = fmt.decode(codes)
    n_terms = (t.e1 > 0).astype(np.int64) + (t.e2 > 0)
    q1 = np.where(t.e1 > 0, np.ldexp(1.0, -t.e1), 0.0)
    # Canonical code of a value: positive sign, fewest terms, larger q1, then smallest code.
    order = np.lexsort((codes, -q1, n_terms, t.sign, values))
    values_sorted = values[order]
    first = np.ones(values_sorted.size, dtype=bool)
    first[1:] = values_sorted[1:] != values_sorted[:-1]
    levels = values_sorted[first]
    level_codes = codes[order][first].astype(code_dtype(fmt.bits))
    # Ties go toward zero: up for the negative half, down for the positive half.
    tie_up = levels[1:] <= 0
    return levels, level_codes, tie_up
