"""Fixed point: exhaustive for widths up to 8 bits."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hwsim.formats import Fixed

CASES = [(bits, frac, signed) for bits in range(1, 9) for frac in (-2, 0, 3, bits - 1, bits + 2)
         for signed in (True, False)]


def oracle_value(code: int, bits: int, frac: int, signed: bool) -> Fraction:
    integer = code - (1 << bits) if signed and code >> (bits - 1) else code
    return Fraction(integer) * Fraction(2) ** -frac


@pytest.mark.parametrize(("bits", "frac", "signed"), CASES)
def test_decode_every_code(bits, frac, signed):
    fmt = Fixed(bits, frac, signed)
    expected = [float(oracle_value(c, bits, frac, signed)) for c in range(1 << bits)]
    assert fmt.values().tolist() == expected


@pytest.mark.parametrize(("bits", "frac", "signed"), CASES)
def test_encode_rounds_half_to_even_and_saturates(bits, frac, signed):
    fmt = Fixed(bits, frac, signed)
    ints = np.arange(fmt.int_min, fmt.int_max + 1)
    lsb = 2.0**-frac
    # every value and every midpoint between neighbours, with one ulp either side
    assert np.array_equal(fmt.to_int(fmt.encode(ints * lsb)), ints)
    mids = (ints[:-1] + 0.5) * lsb
    even = np.where(ints[:-1] % 2 == 0, ints[:-1], ints[1:])
    assert np.array_equal(fmt.to_int(fmt.encode(mids)), even)
    assert np.array_equal(fmt.to_int(fmt.encode(np.nextafter(mids, -np.inf))), ints[:-1])
    assert np.array_equal(fmt.to_int(fmt.encode(np.nextafter(mids, np.inf))), ints[1:])
    # beyond the range
    over = [(fmt.int_max + 0.5) * lsb, (fmt.int_max + 7) * lsb, 1e300, np.inf]
    under = [(fmt.int_min - 0.5) * lsb, (fmt.int_min - 7) * lsb, -1e300, -np.inf]
    assert (fmt.to_int(fmt.encode(over)) == fmt.int_max).all()
    assert (fmt.to_int(fmt.encode(under)) == fmt.int_min).all()


def test_codes_are_twos_complement_bit_patterns():
    fmt = Fixed(8, 4)
    assert fmt.encode(-1.0) == 0xF0
    assert fmt.encode(7.9375) == 0x7F
    assert fmt.encode(-8.0) == 0x80
    assert fmt.to_int(0xF0) == -16
    assert np.array_equal(fmt.from_int(fmt.to_int(fmt.codes())), fmt.codes())
    assert fmt.encode(np.zeros((3, 4))).shape == (3, 4)


def test_nan_has_no_code():
    with pytest.raises(ValueError, match="NaN has no code in fixed:8:4"):
        Fixed(8, 4).encode([1.0, np.nan])


@given(st.integers(1, 32), st.integers(-20, 40), st.booleans(),
       st.floats(-1e12, 1e12, allow_nan=False))
def test_quantize_is_idempotent_and_within_half_lsb_inside_the_range(bits, frac, signed, x):
    fmt = Fixed(bits, frac, signed)
    q = fmt.quantize(x)
    assert fmt.quantize(q) == q
    lo, hi = fmt.int_min * fmt.scale, fmt.int_max * fmt.scale
    if lo <= x <= hi:
        assert abs(q - x) <= fmt.scale / 2


@pytest.mark.parametrize(("args", "message"), [((0, 0), "bits must be >= 1, not 0"),
                                               ((33, 0), "bits must be <= 32, not 33")])
def test_bad_parameters(args, message):
    with pytest.raises(ValueError, match=message):
        Fixed(*args)
    with pytest.raises(TypeError, match="signed must be a bool"):
        Fixed(8, 4, signed=1)
