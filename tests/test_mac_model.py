"""Tier 1: the MAC golden models against exact rational arithmetic, and the pipeline's timing."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from oracles.posit import posit_encode

from hwsim.mac import (
    LATENCY,
    MAC_KINDS,
    MacInputs,
    MacPipeline,
    expected_outputs,
    make_mac,
    random_stream,
)

SMALL = {
    "fixed": [dict(w_bits=4, x_bits=8), dict(w_bits=3, x_bits=5)],
    "sp2": [dict(w_bits=4, x_bits=8), dict(w_bits=5, m1=3, x_bits=6), dict(w_bits=3, x_bits=4)],
    "msq": [dict(w_bits=4, x_bits=8), dict(w_bits=5, x_bits=4)],
    "posit_fixp": [dict(n=4, es=0, x_bits=8), dict(n=4, es=1, x_bits=8), dict(n=5, es=2, x_bits=4)],
    "posit_quire": [dict(n=4, es=0), dict(n=4, es=1), dict(n=5, es=2)],
    # fixed_bits = n, > n (the fixed point sets F) and < n (the posit's high bits are the port's)
    "posit_or_fixed": [dict(n=4, es=1, fixed_bits=4, x_bits=4), dict(n=4, es=0, fixed_bits=8, x_bits=4),
                       dict(n=5, es=1, fixed_bits=3, x_bits=4)],
}


def _value(fmt, code: int) -> Fraction | None:
    v = float(fmt.decode(code))
    return None if np.isnan(v) else Fraction(v)


@pytest.mark.parametrize(("kind", "params"), [(k, p) for k, ps in SMALL.items() for p in ps])
def test_every_product_is_exact(kind, params):
    """product(w, x) == w_value * x_value * 2**F for every code pair (NaR adds nothing).

    A mode reads the low w_fmt.bits bits of the weight port (the posit/fixed mix has a port wider than one of
    its formats); for the other kinds that is the whole code."""
    unit = make_mac(kind, **params)
    w, x = np.meshgrid(np.arange(1 << unit.w_bits), np.arange(1 << unit.x_bits), indexing="ij")
    modes = (0, 1) if unit.has_mode else (None,)
    for mode in modes:
        got = unit.product(w, x, mode)
        w_fmt = unit.fixed_format if mode == 0 else unit.w_format
        scale = Fraction(2) ** unit.acc_frac_bits
        for wc, xc, p in zip(w.ravel(), x.ravel(), got.ravel(), strict=True):
            wv, xv = _value(w_fmt, int(wc) & ((1 << w_fmt.bits) - 1)), _value(unit.x_format, int(xc))
            want = 0 if wv is None or xv is None else wv * xv * scale
            assert want == int(p), (kind, params, mode, int(wc), int(xc))
            assert abs(int(p)) < 1 << (unit.product_bits - 1) or int(p) == -(1 << (unit.product_bits - 1))


def test_fixed_mac_reads_codes_as_integers():
    unit = make_mac("fixed", w_bits=8, x_bits=8)
    assert unit.w_format.frac == 0  # fixed weights are integers; a layer's scale lives outside the MAC
    assert unit.product(0xFF, 0x80) == 128  # -1 * -128


def test_msq_modes_share_one_binary_point():
    unit = make_mac("msq", w_bits=4, x_bits=8)
    # 0.5 as SP2 (code 0b0010) and as Fixed(4, 3) (code 0b0100) give the same product
    assert unit.product(0b0010, 7, 1) == unit.product(0b0100, 7, 0) == 7 * 4


@pytest.mark.parametrize(("n", "es", "fixed_bits"), [(4, 1, 4), (4, 0, 8), (6, 2, 4), (16, 1, 16)])
def test_posit_or_fixed_geometry(n, es, fixed_bits):
    """One binary point for both modes, a port as wide as the wider format, product_bits tight."""
    unit = make_mac("posit_or_fixed", n=n, es=es, fixed_bits=fixed_bits, x_bits=6)
    posit, fixed = unit.w_format, unit.fixed_format
    assert (posit.n, posit.es, fixed.bits, fixed.frac) == (n, es, fixed_bits, fixed_bits - 1)
    assert unit.w_bits == max(n, fixed_bits)
    assert unit.acc_frac_bits == max(posit.max_scale + posit.frac_bits, fixed_bits - 1)
    # 0.5 and -1 as a posit and as a fixed-point code give the same product
    for v in (0.5, -1.0):
        assert unit.product(int(posit.encode(v)), 5, 1) == unit.product(int(fixed.encode(v)), 5, 0) == int(
            5 * v * 2**unit.acc_frac_bits)
    # the largest product of each mode: -maxpos x -32 and -1 x -32, and the smallest non-zero one
    xmin = 1 << 5
    maxpos, neg_one = (1 << (n - 1)) - 1, 1 << (fixed_bits - 1)
    big = int(unit.product(-maxpos % (1 << n), xmin, 1))
    assert big == 32 * 2 ** (posit.max_scale + unit.acc_frac_bits)
    assert int(unit.product(neg_one, xmin, 0)) == 32 * 2**unit.acc_frac_bits
    assert big.bit_length() + 1 == unit.product_bits  # product_bits is exactly what the largest one needs
    assert min(int(unit.product(1, 1, 1)), int(unit.product(1, 1, 0))) >= 1  # minpos and 1 LSB are whole LSBs


def test_posit_or_fixed_masks_the_bits_above_each_format():
    unit = make_mac("posit_or_fixed", n=4, es=1, fixed_bits=8, x_bits=8)
    w = np.arange(256)
    np.testing.assert_array_equal(unit.product(w, 7, 1), unit.product(w & 0xF, 7, 1))
    narrow = make_mac("posit_or_fixed", n=6, es=1, fixed_bits=3, x_bits=8)
    w = np.arange(64)
    np.testing.assert_array_equal(narrow.product(w, 7, 0), narrow.product(w & 0b111, 7, 0))


def test_posit_or_fixed_nar_only_in_posit_rows():
    unit = make_mac("posit_or_fixed", n=4, es=1, fixed_bits=4, x_bits=8)
    nar = unit.w_format.nar_code  # 0b1000: -1 as Fixed(4, 3)
    assert unit.is_nar(nar, 3, 1) and not unit.is_nar(nar, 3, 0)
    assert unit.product(nar, 3, 1) == 0 and unit.product(nar, 3, 0) == -3 * 2**unit.acc_frac_bits
    wide = make_mac("posit_or_fixed", n=4, es=1, fixed_bits=8)
    assert wide.is_nar(0xF8, 1, 1) and not wide.is_nar(0xF8, 1, 0)  # masked to the posit's 4 bits: NaR
    stream = [MacInputs(valid=1, clear=1, w=nar, x=5, mode=0), MacInputs(valid=1, w=4, x=1, mode=1),
              MacInputs(), MacInputs(valid=1, w=nar, x=5, mode=1), MacInputs(), MacInputs(clear=1), MacInputs(),
              MacInputs()]
    outs = expected_outputs(unit, stream)
    assert [o.nar for o in outs] == [0, 0, 0, 0, 1, 1, 0, 0]  # the fixed row's 0b1000 is -1, not NaR
    assert outs[4].acc == unit.product(nar, 5, 0) + unit.product(4, 1, 1)  # NaR added nothing
    pipe = MacPipeline(unit)
    assert [pipe.step(i) for i in stream] == outs


def test_posit_or_fixed_random_streams_cover_both_formats_and_nar():
    """The stimulus must give both modes the other format's corners and NaR in both modes."""
    unit = make_mac("posit_or_fixed", n=4, es=1, fixed_bits=8, x_bits=8)
    stream = [i for i in random_stream(unit, 4000, seed=3) if i.valid]
    nar = unit.w_format.nar_code
    for mode in (0, 1):
        ws = {i.w for i in stream if i.mode == mode}
        assert {nar, 127, 128, 255} <= ws and any(w >> 4 and w & 0xF == nar for w in ws)
    outs = expected_outputs(unit, random_stream(unit, 4000, seed=3))
    assert any(o.nar for o in outs) and not all(o.nar for o in outs)


@pytest.mark.parametrize("overflow", ["wrap", "saturate"])
def test_dot_accumulates_in_order_with_overflow(overflow):
    unit = make_mac("fixed", w_bits=8, x_bits=8, acc_bits=16, overflow=overflow)
    rng = np.random.default_rng(0)
    w = rng.integers(0, 256, (50, 300))
    x = rng.integers(0, 256, (50, 300))
    got = unit.dot(w, x)
    p = unit.product(w, x)
    for row in range(50):
        acc = 0
        for v in p[row]:
            acc += int(v)
            acc = ((acc + 2**15) % 2**16) - 2**15 if overflow == "wrap" else min(max(acc, -(2**15)), 2**15 - 1)
        assert got[row] == acc


def test_wide_accumulators_use_exact_python_ints():
    unit = make_mac("posit_quire", n=8, es=2)
    assert unit.acc_bits == 16 * 8 + 2 * unit.w_format.frac_bits  # the standard's 16n plus 2 FB low bits
    maxpos = (1 << 7) - 1
    w = np.full((1, 3), maxpos)
    assert unit.dot(w, w)[0] == 3 * (1 << (4 * unit.w_format.max_scale)) * (1 << (2 * unit.w_format.frac_bits))


@pytest.mark.parametrize(("n", "es"), [(4, 0), (4, 1), (6, 2), (8, 0), (8, 2)])
def test_quire_dot_rounds_once_to_the_nearest_posit(n, es):
    unit = make_mac("posit_quire", n=n, es=es)
    fmt = unit.w_format
    rng = np.random.default_rng(n + es)
    codes = [c for c in range(1 << n) if c != fmt.nar_code]
    w = rng.choice(codes, (40, 16))
    x = rng.choice(codes, (40, 16))
    got = unit.dot_posit(w, x)
    for row in range(40):
        exact = sum(Fraction(float(fmt.decode(a))) * Fraction(float(fmt.decode(b))) for a, b in zip(w[row], x[row],
                                                                                                   strict=True))
        assert got[row] == posit_encode(exact, n, es)
    w[0, 3] = fmt.nar_code
    assert unit.dot_posit(w, x)[0] == fmt.nar_code


def test_pipeline_latency_clear_and_hold():
    unit = make_mac("fixed", w_bits=4, x_bits=4)
    pipe = MacPipeline(unit)
    outs = [pipe.step(i) for i in [
        MacInputs(valid=1, clear=1, w=2, x=3),  # cycle 0: 6 starts a new sum
        MacInputs(valid=1, w=1, x=1),           # cycle 1: + 1
        MacInputs(),                             # cycle 2: a gap
        MacInputs(valid=1, w=2, x=2),           # cycle 3: + 4
        MacInputs(clear=1),                      # cycle 4: clear alone empties
        MacInputs(),
        MacInputs(),
    ]]
    acc = [o.acc for o in outs]
    assert LATENCY == 2
    assert acc == [0, 6, 7, 7, 11, 0, 0]  # the clear of cycle 4 lands with the same two-cycle latency


def test_quire_read_out_lags_the_quire_by_one_cycle():
    unit = make_mac("posit_quire", n=4, es=1)
    one = int(unit.w_format.encode(1.0))
    pipe = MacPipeline(unit)
    outs = [pipe.step(MacInputs(valid=1, clear=1, w=one, x=one))] + [pipe.step(MacInputs()) for _ in range(3)]
    assert [o.acc != 0 for o in outs] == [False, True, True, True]
    assert [o.out for o in outs] == [0, 0, one, one]


def test_posit_nar_is_sticky_until_clear():
    unit = make_mac("posit_fixp", n=4, es=1)
    nar = unit.w_format.nar_code
    outs = expected_outputs(unit, [MacInputs(valid=1, clear=1, w=nar, x=5), MacInputs(valid=1, w=4, x=1),
                                   MacInputs(), MacInputs(), MacInputs(clear=1), MacInputs(), MacInputs()])
    assert [o.nar for o in outs] == [0, 1, 1, 1, 1, 0, 0]
    assert outs[3].acc == unit.product(4, 1)  # NaR added nothing


@pytest.mark.parametrize("overflow", ["wrap", "saturate"])
def test_random_streams_reach_the_accumulator_limits(overflow):
    """The stimulus must exercise overflow, or the RTL benches would never see it."""
    unit = make_mac("fixed", w_bits=8, x_bits=8, acc_bits=16, overflow=overflow)
    outs = expected_outputs(unit, random_stream(unit, 4000, seed=1))
    acc = np.array([o.acc for o in outs])
    if overflow == "saturate":
        assert (acc == 2**15 - 1).any() and (acc == -(2**15)).any()
    else:
        jumps = np.abs(np.diff(acc))
        assert (jumps > 2**15).any()  # a wrap-around step


@pytest.mark.parametrize(("kind", "params", "message"), [
    ("fixed", dict(acc_bits=15), "acc_bits must be >= 16 (one fixed product), not 15"),
    ("sp2", dict(w_bits=4, acc_bits=8), "acc_bits must be >= 12"),
    ("posit_fixp", dict(n=8, es=8), "es=8 is too large"),
    ("posit_fixp", dict(n=8, es=-1), "es must be >= 0"),
    ("posit_quire", dict(overflow="saturate"), "overflow must be 'wrap' for a quire"),
    ("posit_or_fixed", dict(fixed_bits=1), "fixed_bits must be >= 2, not 1"),
    ("posit_or_fixed", dict(fixed_bits=17), "fixed_bits must be <= 16, not 17"),
    ("posit_or_fixed", dict(n=17), "n must be <= 16, not 17"),
    ("posit_or_fixed", dict(n=4, es=1, x_bits=8, acc_bits=16), "acc_bits must be >= 17 (one posit_or_fixed product)"),
    ("fixed", dict(overflow="clamp"), "overflow must be one of"),
    ("fixed", dict(wbits=8), "unknown parameter 'wbits' for the fixed MAC"),
    ("tensor", {}, "unknown MAC kind 'tensor'"),
])
def test_bad_parameters(kind, params, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make_mac(kind, **params)


def test_bad_operands():
    with pytest.raises(ValueError, match="w must lie in"):
        make_mac("fixed", w_bits=4).product(16, 0)
    with pytest.raises(ValueError, match="needs mode"):
        make_mac("msq").product(1, 1)
    pof = make_mac("posit_or_fixed")
    for call in (lambda: pof.product(1, 1), lambda: pof.is_nar(1, 1)):
        with pytest.raises(ValueError, match="the posit_or_fixed MAC needs mode"):
            call()
    with pytest.raises(ValueError, match="mode must be 0 or 1"):
        pof.product(1, 1, 2)
    with pytest.raises(ValueError, match="w must lie in"):
        pof.product(16, 0, 1)


def test_every_kind_has_a_name_and_params_round_trip():
    for kind in MAC_KINDS:
        unit = make_mac(kind)
        assert make_mac(kind, **unit.params()) == unit
        assert unit.name.startswith(kind)
