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
}


def _value(fmt, code: int) -> Fraction | None:
    v = float(fmt.decode(code))
    return None if np.isnan(v) else Fraction(v)


@pytest.mark.parametrize(("kind", "params"), [(k, p) for k, ps in SMALL.items() for p in ps])
def test_every_product_is_exact(kind, params):
    """product(w, x) == w_value * x_value * 2**F for every code pair (NaR adds nothing)."""
    unit = make_mac(kind, **params)
    w, x = np.meshgrid(np.arange(1 << unit.w_bits), np.arange(1 << unit.x_bits), indexing="ij")
    modes = (0, 1) if unit.has_mode else (None,)
    for mode in modes:
        got = unit.product(w, x, mode)
        w_fmt = unit.fixed_format if mode == 0 else unit.w_format
        scale = Fraction(2) ** unit.acc_frac_bits
        for wc, xc, p in zip(w.ravel(), x.ravel(), got.ravel(), strict=True):
            wv, xv = _value(w_fmt, int(wc)), _value(unit.x_format, int(xc))
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


def test_every_kind_has_a_name_and_params_round_trip():
    for kind in MAC_KINDS:
        unit = make_mac(kind)
        assert make_mac(kind, **unit.params()) == unit
        assert unit.name.startswith(kind)
