"""SP2: exhaustive over every width up to 8 bits and every split of the magnitude bits."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hwsim.formats import SP2

CASES = [(bits, m1) for bits in range(2, 9) for m1 in range(1, bits) if m1 <= 5 and bits - 1 - m1 <= 5]


def oracle_value(code: int, bits: int, m1: int) -> Fraction:
    m2 = bits - 1 - m1
    e1, e2 = (code >> m2) & ((1 << m1) - 1), code & ((1 << m2) - 1)
    term = lambda e: Fraction(1, 2**e) if e else Fraction(0)  # noqa: E731
    mag = term(e1) + term(e2)
    return -mag if code >> (bits - 1) else mag


@pytest.mark.parametrize(("bits", "m1"), CASES)
def test_decode_every_code(bits, m1):
    fmt = SP2(bits, m1=m1)
    assert fmt.m2 == bits - 1 - m1
    assert fmt.values().tolist() == [float(oracle_value(c, bits, m1)) for c in range(1 << bits)]


@pytest.mark.parametrize(("bits", "m1"), CASES)
def test_terms_give_the_shift_amounts(bits, m1):
    fmt = SP2(bits, m1=m1)
    t = fmt.terms(fmt.codes())
    q = lambda e: np.where(e > 0, 2.0 ** -e.astype(float), 0.0)  # noqa: E731
    assert np.array_equal((1 - 2 * t.sign) * (q(t.e1) + q(t.e2)), fmt.values())
    assert t.e1.max() == (1 << m1) - 1


def _canonical(fmt: SP2, value: float) -> int:
    """The documented canonical code: +0 for zero, else fewest terms, then the larger q1, then lowest code."""
    def key(c):
        t = fmt.terms(c)
        n_terms = int(t.e1 > 0) + int(t.e2 > 0)
        q1 = 2.0 ** -int(t.e1) if t.e1 else 0.0
        return (int(t.sign) if value == 0 else 0, n_terms, -q1, c)
    return min((c for c in range(1 << fmt.bits) if fmt.values()[c] == value), key=key)


@pytest.mark.parametrize(("bits", "m1"), CASES)
def test_encode_nearest_level_ties_toward_zero_canonical_code(bits, m1):
    fmt = SP2(bits, m1=m1)
    levels = sorted(set(fmt.values().tolist()))
    mids = [(a + b) / 2 for a, b in itertools.pairwise(levels)]
    probes = levels + mids + list(np.nextafter(mids, -np.inf)) + list(np.nextafter(mids, np.inf)) + [-3.0, 3.0]
    for x in probes:
        dist = [abs(x - l) for l in levels]
        best = min(dist)
        nearest = [l for l, d in zip(levels, dist, strict=True) if d == best]
        expected_value = min(nearest, key=abs)  # a tie goes toward zero
        assert int(fmt.encode(x)) == _canonical(fmt, expected_value), x


def test_documented_aliases():
    fmt = SP2(4)  # m1=2, m2=1
    assert (fmt.m1, fmt.m2) == (2, 1)
    half = [c for c in range(16) if fmt.values()[c] == 0.5]
    assert half == [0b0001, 0b0010]  # q2=1/2 alone, or q1=1/2 alone
    assert fmt.encode(0.5) == 0b0010  # canonical: the term sits in q1
    assert fmt.encode(-0.0) == 0 and fmt.encode(0.0) == 0
    assert fmt.levels().tolist() == [-1, -0.75, -0.625, -0.5, -0.25, -0.125, 0, 0.125, 0.25, 0.5, 0.625, 0.75, 1]


@given(st.integers(2, 11).flatmap(lambda b: st.tuples(st.just(b), st.integers(max(1, b - 6), min(5, b - 1)))),
       st.floats(-4, 4, allow_nan=False))
def test_quantize_idempotent(bm, x):
    fmt = SP2(bm[0], m1=bm[1])
    q = fmt.quantize(x)
    assert fmt.quantize(q) == q
    assert fmt.encode(fmt.decode(fmt.encode(x))) == fmt.encode(x)


def test_bad_parameters():
    with pytest.raises(ValueError, match=r"m1 \+ m2 \+ 1 must equal bits=4, not m1=1, m2=1"):
        SP2(4, m1=1, m2=1)
    with pytest.raises(ValueError, match="bits must be >= 2, not 1"):
        SP2(1)
    with pytest.raises(ValueError, match="m1 must be >= 1, not 0"):
        SP2(4, m1=0)
    with pytest.raises(ValueError, match="m1 must be <= 5, not 6"):
        SP2(8, m1=6)
    with pytest.raises(ValueError, match="NaN has no code"):
        SP2(4).encode(np.nan)
