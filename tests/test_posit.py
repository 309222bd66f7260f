"""Posit: exhaustive decode against two oracles, encode at every rounding boundary, properties."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import softposit
from hypothesis import assume, given
from hypothesis import strategies as st
from oracles.posit import posit_encode, posit_value, positive_table

from hwsim.formats import Posit

SIZES = [*range(3, 13), 16]
ES = [0, 1, 2, 3]


def oracle_values(n: int, es: int) -> np.ndarray:
    return np.array([np.nan if (v := posit_value(c, n, es)) is None else float(v) for c in range(1 << n)])


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal element for element, nan matching nan."""
    return bool(np.array_equal(a, b, equal_nan=True))


@pytest.mark.parametrize("es", ES)
@pytest.mark.parametrize("n", SIZES)
def test_decode_every_code_matches_exact_oracle(n, es):
    assert same(Posit(n, es).values(), oracle_values(n, es))


def _softposit_values(n: int, es: int) -> np.ndarray:
    if (n, es) == (8, 0):
        make = lambda b: softposit.posit8(bits=b)  # noqa: E731
    elif (n, es) == (16, 1):
        make = lambda b: softposit.posit16(bits=b)  # noqa: E731
    else:
        assert es == 2
        make = lambda b: softposit.posit_2(x=n, bits=b)  # noqa: E731
    out = np.array([float(make(c)) for c in range(1 << n)])
    out[1 << (n - 1)] = np.nan  # softposit decodes NaR as inf
    return out


SOFTPOSIT_FORMATS = [(8, 0), (16, 1)] + [(n, 2) for n in SIZES]


@pytest.mark.parametrize(("n", "es"), SOFTPOSIT_FORMATS)
def test_decode_every_code_matches_softposit(n, es):
    assert same(Posit(n, es).values(), _softposit_values(n, es))


def _softposit_encode(x: float, n: int, es: int) -> int:
    if (n, es) == (8, 0):
        return softposit.posit8(x).v.v
    if (n, es) == (16, 1):
        return softposit.posit16(x).v.v
    return softposit.posit_2(x, x=n).v.v >> (32 - n)


@pytest.mark.parametrize("es", ES)
@pytest.mark.parametrize("n", SIZES)
def test_encode_at_every_midpoint_and_one_ulp_either_side(n, es):
    fmt = Posit(n, es)
    values, mids = positive_table(n, es)
    mid = np.array([float(m) for m in mids])
    assert all(float(m) == m for m in mids)  # the midpoints are exact in float64
    lower = np.arange(1, len(values))  # code just below each midpoint
    upper = lower + 1
    even = np.where(lower % 2 == 0, lower, upper)
    neg = lambda c: (1 << n) - c  # noqa: E731
    for sign, conv in ((1, lambda c: c), (-1, neg)):
        x = sign * mid
        assert np.array_equal(fmt.encode(x), conv(even)), "tie must go to the even code"
        below = sign * np.nextafter(mid, 0)
        above = sign * np.nextafter(mid, np.inf)
        assert np.array_equal(fmt.encode(below), conv(lower))
        assert np.array_equal(fmt.encode(above), conv(upper))


@pytest.mark.parametrize("es", ES)
@pytest.mark.parametrize("n", [2, 3, 5, 8, 16, 24, 32])
def test_encode_saturates_and_never_flushes_to_zero(n, es):
    fmt = Posit(n, es)
    maxcode = (1 << (n - 1)) - 1
    big = [fmt.maxpos, np.nextafter(fmt.maxpos, np.inf), 2 * fmt.maxpos, 1e308, np.inf]
    tiny = [fmt.minpos, np.nextafter(fmt.minpos, 0), fmt.minpos / 2, 5e-324]
    assert (fmt.encode(big[:-1]) == maxcode).all()
    assert (fmt.encode(np.negative(big[:-1])) == (1 << n) - maxcode).all()
    assert (fmt.encode(tiny) == 1).all()
    assert (fmt.encode(np.negative(tiny)) == (1 << n) - 1).all()
    assert (fmt.encode([np.nan, np.inf, -np.inf]) == fmt.nar_code).all()
    assert (fmt.encode([0.0, -0.0]) == 0).all()


@pytest.mark.parametrize("es", ES)
@pytest.mark.parametrize("n", SIZES)
def test_encode_random_lognormal_matches_exact_oracle(n, es):
    rng = np.random.default_rng(1000 * n + es)
    spread = (n - 2) * (1 << es) * math.log(2) / 2  # covers the dynamic range, and beyond it
    x = rng.lognormal(0.0, spread, 2000) * rng.choice([-1.0, 1.0], 2000)
    expected = np.array([posit_encode(v, n, es) for v in x])
    assert np.array_equal(Posit(n, es).encode(x), expected)


@pytest.mark.parametrize(("n", "es"), [*SOFTPOSIT_FORMATS, (20, 2), (24, 2), (32, 2)])
def test_encode_random_lognormal_matches_softposit(n, es):
    rng = np.random.default_rng(n)
    x = rng.lognormal(0.0, 8.0, 3000) * rng.choice([-1.0, 1.0], 3000)
    # softposit works in its own precision; float32 inputs keep it exact and still exercise rounding.
    x = x.astype(np.float32).astype(np.float64)
    expected = np.array([_softposit_encode(float(v), n, es) for v in x])
    assert np.array_equal(Posit(n, es).encode(x), expected)


@pytest.mark.parametrize("n", [20, 24, 32])
def test_wide_posit_decode_matches_exact_oracle_on_random_codes(n):
    es = 2
    codes = np.random.default_rng(n).integers(0, 1 << n, 5000)
    expected = np.array([np.nan if (v := posit_value(int(c), n, es)) is None else float(v) for c in codes])
    assert same(Posit(n, es).decode(codes), expected)


def test_float32_and_float64_inputs_agree():
    x = np.random.default_rng(0).normal(0, 3, 10_000).astype(np.float32)
    fmt = Posit(8, 2)
    assert np.array_equal(fmt.encode(x), fmt.encode(x.astype(np.float64)))
    assert fmt.encode(x).dtype == np.uint8
    assert fmt.encode(x.reshape(100, 100)).shape == (100, 100)


def test_fields_reconstruct_the_value():
    fmt = Posit(10, 1)
    codes = np.arange(1 << 10)
    f = fmt.fields(codes)
    ok = ~(f.is_zero | f.is_nar)
    rebuilt = (-1.0) ** f.sign * np.ldexp(1.0 + f.frac / 2**fmt.frac_bits, f.scale)
    assert np.array_equal(rebuilt[ok], fmt.values()[ok])
    assert f.is_zero.sum() == 1 and f.is_nar.sum() == 1
    assert (f.frac < (1 << fmt.frac_bits)).all()


def _signed(code: int, n: int) -> int:
    return code - (1 << n) if code >= (1 << (n - 1)) else code


formats = st.builds(Posit, n=st.integers(2, 32), es=st.integers(0, 3))


@given(formats, st.data())
def test_decode_is_monotonic_in_signed_code_order(fmt, data):
    n = fmt.n
    a = data.draw(st.integers(-(1 << (n - 1)) + 1, (1 << (n - 1)) - 1))
    b = data.draw(st.integers(-(1 << (n - 1)) + 1, (1 << (n - 1)) - 1))
    assume(a != b)
    a, b = sorted((a, b))
    va, vb = fmt.decode([a % (1 << n), b % (1 << n)])
    assert va < vb
    assert _signed(int(fmt.encode(va)), n) == a


@given(formats, st.data())
def test_encode_decode_round_trips_every_non_nar_code(fmt, data):
    code = data.draw(st.integers(0, (1 << fmt.n) - 1).filter(lambda c: c != fmt.nar_code))
    assert fmt.encode(fmt.decode(code)) == code


@given(formats, st.floats(allow_nan=True, allow_infinity=True))
def test_quantize_is_idempotent(fmt, x):
    q = fmt.quantize(x)
    assert same(fmt.quantize(q), q)


@pytest.mark.parametrize(
    ("args", "message"),
    [((1, 0), "n must be >= 2, not 1"), ((8, -1), "es must be >= 0, not -1"), ((33, 2), "n must be <= 32"),
     ((32, 6), "es=6 is too large")],
)
def test_bad_parameters_raise_value_error_naming_them(args, message):
    with pytest.raises(ValueError, match=message):
        Posit(*args)


def test_non_integer_parameters_raise_type_error():
    with pytest.raises(TypeError, match="n must be an integer"):
        Posit(8.0, 2)
    with pytest.raises(TypeError, match="x must be numeric"):
        Posit(8, 2).encode(["a"])


@pytest.mark.parametrize(("n", "es"), [(3, 0), (4, 1), (6, 2), (8, 0), (8, 2), (10, 3), (16, 1)])
def test_round_scaled_int_matches_exact_oracle(n, es):
    from hwsim.formats import round_scaled_int

    fmt = Posit(n, es)
    rng = np.random.default_rng(n * 10 + es)
    for _ in range(1500):
        q = int(rng.integers(-(1 << 62), 1 << 62)) >> int(rng.integers(0, 62))
        lsb = int(rng.integers(-3 * fmt.max_scale - 70, fmt.max_scale + 5))
        x = Fraction(q) * Fraction(2) ** lsb
        expected = posit_encode(x, n, es)
        assert round_scaled_int(fmt, q, lsb) == expected, (q, lsb)
    # exact float64 values agree with encode
    codes = np.arange(1 << n)
    v = fmt.values()
    ok = np.isfinite(v)
    for c, value in zip(codes[ok], v[ok], strict=True):
        m, e = math.frexp(value)
        assert round_scaled_int(fmt, int(m * 2**53), e - 53) == c

