"""Tier 2: the posit MAC RTL (posit x fixed point, posit x posit quire, the posit/fixed row mix) and its posit
blocks in Amaranth's simulator, bit for bit and cycle for cycle against the golden models."""

from __future__ import annotations

import random

import numpy as np
import pytest
from amaranth.hdl import Cat, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from hwsim.formats import Posit, round_scaled_int
from hwsim.mac import (
    MacInputs,
    MacPipeline,
    MacUnit,
    exhaustive_stream,
    expected_outputs,
    first_mismatch,
    make_mac,
    random_stream,
)
from hwsim.rtl import mac_component, simulate_mac
from hwsim.rtl.posit import PositRounder, posit_decode, shift_width


def run_and_check(unit: MacUnit, stream) -> list:
    got = simulate_mac(mac_component(unit), stream)
    assert (report := first_mismatch(unit, stream, got)) is None, report
    return got


# ---------------------------------------------------------------------------------------------- MAC units

EXHAUSTIVE = [
    ("posit_fixp", dict(n=4, es=0, x_bits=8)),
    ("posit_fixp", dict(n=4, es=1, x_bits=8)),
    ("posit_fixp", dict(n=4, es=2, x_bits=4)),
    ("posit_quire", dict(n=4, es=0)),
    ("posit_quire", dict(n=4, es=1)),
    ("posit_quire", dict(n=3, es=1)),
    # both modes; fixed_bits = n, > n (masked posit codes, the fixed point sets F), < n (masked fixed codes)
    ("posit_or_fixed", dict(n=4, es=1, fixed_bits=4, x_bits=4)),
    ("posit_or_fixed", dict(n=4, es=1, fixed_bits=8, x_bits=4, overflow="saturate")),
    ("posit_or_fixed", dict(n=5, es=0, fixed_bits=3, x_bits=3)),
]

RANDOM = [
    ("posit_fixp", dict(n=8, es=2, x_bits=8)),
    ("posit_fixp", dict(n=8, es=0, x_bits=8)),
    ("posit_fixp", dict(n=6, es=1, x_bits=6)),
    ("posit_quire", dict(n=8, es=2)),  # 134-bit quire, products past int64
    ("posit_quire", dict(n=8, es=0)),
    ("posit_quire", dict(n=6, es=1)),
    ("posit_or_fixed", dict(n=8, es=1, fixed_bits=8, x_bits=8)),
    ("posit_or_fixed", dict(n=6, es=2, fixed_bits=4, x_bits=6, overflow="saturate")),
]


@pytest.mark.parametrize(("kind", "params"), EXHAUSTIVE, ids=str)
def test_exhaustive_products(kind, params):
    unit = make_mac(kind, **params)
    run_and_check(unit, exhaustive_stream(unit))


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize(("kind", "params"), RANDOM, ids=str)
def test_random_streams(kind, params, seed):
    unit = make_mac(kind, **params)
    run_and_check(unit, random_stream(unit, 3000, seed))


def test_quire_rounding_with_few_nar():
    """The default stream is NaR for a large share of cycles; with rare corners the read-out rounds real sums."""
    unit = make_mac("posit_quire", n=8, es=1)
    stream = random_stream(unit, 2000, 5, p_corner=0.02, p_burst=0.1)
    got = run_and_check(unit, stream)
    assert sum(o.nar == 0 for o in got) > 1500
    assert len({o.out for o in got}) > 100


@pytest.mark.parametrize("seed", [3, 4])
@pytest.mark.parametrize(
    ("kind", "params"),
    [("posit_fixp", dict(n=6, es=1, x_bits=6, acc_bits=25)),
     ("posit_or_fixed", dict(n=4, es=1, fixed_bits=8, x_bits=6, acc_bits=18))],
    ids=str,
)
def test_posit_fixp_saturates_at_minimal_width(kind, params, seed):
    unit = make_mac(kind, **params, overflow="saturate")
    assert unit.acc_bits == unit.product_bits
    stream = random_stream(unit, 3000, seed)
    got = run_and_check(unit, stream)
    hi = (1 << (unit.acc_bits - 1)) - 1
    assert any(o.acc in (hi, -hi - 1) for o in got), "the stream never saturated the accumulator"


def _wrapped(unit: MacUnit, stream) -> bool:
    """Whether the stream overflows ``unit``'s accumulator: a roomy twin gives a different trace."""
    roomy = make_mac(unit.kind, **{**unit.params(), "acc_bits": unit.acc_bits + 64})
    return expected_outputs(roomy, stream) != expected_outputs(unit, stream)


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("posit_fixp", dict(n=6, es=1, x_bits=6, acc_bits=25)),  # acc_bits == product_bits
        ("posit_quire", dict(n=6, es=1, carry_bits=2)),
        ("posit_or_fixed", dict(n=4, es=1, fixed_bits=8, x_bits=6, acc_bits=18)),
    ],
    ids=str,
)
def test_accumulator_wraps(kind, params):
    unit = make_mac(kind, **params)
    stream = random_stream(unit, 3000, 6)
    run_and_check(unit, stream)
    assert _wrapped(unit, stream), "the stream never wrapped the accumulator"


@pytest.mark.parametrize(
    ("kind", "params"),
    [("posit_fixp", dict(n=16, es=1, x_bits=8)), ("posit_quire", dict(n=16, es=1)),
     ("posit_or_fixed", dict(n=16, es=1, fixed_bits=16, x_bits=8))],
    ids=str,
)
def test_sixteen_bit_posits(kind, params):
    unit = make_mac(kind, **params)
    run_and_check(unit, random_stream(unit, 800, 7))


def test_golden_step_takes_wide_products():
    """MacPipeline.step (scalar codes) should agree with expected_outputs (arrays) on a 105-bit product."""
    unit = make_mac("posit_quire", n=8, es=2)
    maxpos = (1 << (unit.n - 1)) - 1
    stream = [MacInputs(valid=1, clear=1, w=maxpos, x=maxpos), *[MacInputs()] * 3]
    pipe = MacPipeline(unit)
    assert [pipe.step(i) for i in stream] == expected_outputs(unit, stream)


def test_verilog_converts():
    from hwsim.rtl import to_verilog

    for kind in ("posit_fixp", "posit_quire", "posit_or_fixed"):
        text = to_verilog(mac_component(make_mac(kind, n=8, es=2)), "q")
        assert "module q" in text


def test_posit_or_fixed_nar_flag_follows_the_mode():
    """The same NaR code, in a posit row and in a fixed row: only the posit row raises the sticky flag."""
    unit = make_mac("posit_or_fixed", n=4, es=1, fixed_bits=8, x_bits=4)
    nar = unit.w_format.nar_code
    stream = [MacInputs(valid=1, clear=1, w=nar | 0x30, x=3, mode=0), MacInputs(valid=1, w=0x12, x=1, mode=0),
              MacInputs(), MacInputs(valid=1, clear=1, w=nar | 0x30, x=3, mode=1), *[MacInputs()] * 3]
    got = run_and_check(unit, stream)
    assert [o.nar for o in got] == [0, 0, 0, 0, 1, 1, 1]
    assert got[2].acc == unit.product(nar | 0x30, 3, 0) + unit.product(0x12, 1, 0) != 0


# ---------------------------------------------------------------------------------------------- decoder


class _DecoderBank(wiring.Component):
    """``lanes`` decoders side by side, so one simulator step checks many codes."""

    def __init__(self, n: int, es: int, lanes: int) -> None:
        self.n, self.es, self.lanes = n, es, lanes
        fmt = Posit(n, es)
        self.shift_bits, self.sig_bits = shift_width(fmt), fmt.frac_bits + 1
        self.lane_bits = 3 + self.shift_bits + self.sig_bits
        super().__init__({"codes": In(n * lanes), "fields": Out(self.lane_bits * lanes)})

    def elaborate(self, platform) -> Module:
        m = Module()
        lanes = []
        for i in range(self.lanes):
            d = posit_decode(m, self.codes[i * self.n : (i + 1) * self.n], self.n, self.es)
            lanes.append(Cat(d.sign, d.is_zero, d.is_nar, d.shift, d.sig))
        m.d.comb += self.fields.eq(Cat(*lanes))
        return m

    def unpack(self, word: int) -> list[tuple[int, int, int, int, int]]:
        out = []
        for i in range(self.lanes):
            v = word >> (i * self.lane_bits)
            shift = (v >> 3) & ((1 << self.shift_bits) - 1)
            sig = (v >> (3 + self.shift_bits)) & ((1 << self.sig_bits) - 1)
            out.append((v & 1, shift, sig, (v >> 1) & 1, (v >> 2) & 1))
        return out


DECODER_FORMATS = [(n, es) for n in (2, 3, 4, 5, 6, 8, 16) for es in range(4)]


@pytest.mark.parametrize(("n", "es"), DECODER_FORMATS)
def test_decoder_every_code(n, es):
    fmt = Posit(n, es)
    codes = np.arange(1 << n)
    f = fmt.fields(codes)
    special = f.is_zero | f.is_nar
    want = list(zip(
        f.sign.tolist(),
        np.where(special, 0, f.scale + fmt.max_scale).tolist(),
        np.where(special, 0, (1 << fmt.frac_bits) + f.frac).tolist(),
        f.is_zero.astype(int).tolist(),
        f.is_nar.astype(int).tolist(),
        strict=True,
    ))
    dut = _DecoderBank(n, es, min(16, 1 << n))
    got: list = []

    async def bench(ctx):
        for base in range(0, 1 << n, dut.lanes):
            ctx.set(dut.codes, sum(int(c) << (i * n) for i, c in enumerate(codes[base : base + dut.lanes])))
            got.extend(dut.unpack(ctx.get(dut.fields)))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    bad = [(c, g, w) for c, (g, w) in enumerate(zip(got, want, strict=True)) if g != w]
    assert not bad, f"posit<{n},{es}>: {len(bad)} codes differ, (code, got, want): {bad[:3]}"


# ---------------------------------------------------------------------------------------------- rounding unit


def _rounder_values(fmt: Posit, q_bits: int, frac_bits: int, count: int, seed: int) -> list[tuple[int, int]]:
    """(q, nar) pairs: corners, clamp boundaries, rounding ties and their neighbours, random magnitudes, NaR."""
    rng = random.Random(seed)
    lo, hi = -(1 << (q_bits - 1)), (1 << (q_bits - 1)) - 1
    ms = fmt.max_scale
    mags = {0, 1, 2, 3, hi, hi - 1}
    for e in (frac_bits + ms, frac_bits - ms, frac_bits - ms - 1, frac_bits):  # maxpos, minpos, below, 1.0
        if e >= 0:
            mags |= {(1 << e) - 1, 1 << e, (1 << e) + 1}
    # midpoints between neighbouring posits (ties to even), from the (n+1)-bit posit between them
    mid = Posit(fmt.n + 1, fmt.es)
    codes = range(1, (1 << (fmt.n - 1)) - 1)
    mf = mid.fields(np.array([2 * c + 1 for c in rng.sample(codes, min(150, len(codes)))], dtype=np.int64))
    for scale, frac in zip(mf.scale.tolist(), mf.frac.tolist(), strict=True):
        e = scale - mid.frac_bits + frac_bits
        if e >= 0:
            t = ((1 << mid.frac_bits) + frac) << e
            mags |= {t - 1, t, t + 1}
    for _ in range(count):
        length = rng.randint(1, q_bits - 1)
        mags.add(rng.getrandbits(length) | (1 << (length - 1)))
    values = {(v, 0) for m in mags for v in (m, -m) if lo <= v <= hi} | {(lo, 0), (lo + 1, 0)}
    values |= {(0, 1), (lo, 1), (hi, 1)} | {(rng.randint(lo, hi), 1) for _ in range(20)}
    return sorted(values)


ROUNDER_GEOMETRIES = [
    *[(n, es, "quire") for n, es in [(2, 0), (2, 2), (3, 0), (3, 1), (4, 1), (5, 2), (6, 1), (8, 0), (8, 2), (16, 1)]],
    (8, 1, (12, 3)),  # a narrow fixed point: binary point above minpos, top below maxpos
    (6, 2, (40, 0)),  # an integer
]


def _check_rounder(n: int, es: int, q_bits: int, frac_bits: int, values: list[tuple[int, int]]) -> None:
    fmt = Posit(n, es)
    dut = PositRounder(n, es, q_bits, frac_bits)
    bad: list = []

    async def bench(ctx):
        for q, nar in values:
            ctx.set(dut.q, q)
            ctx.set(dut.nar, nar)
            want = fmt.nar_code if nar else round_scaled_int(fmt, q, -frac_bits)
            got = ctx.get(dut.code)
            if got != want:
                bad.append((q, nar, got, want))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    assert not bad, f"posit<{n},{es}> from {q_bits} bits, point {frac_bits}: (q, nar, got, want) {bad[:3]}"


@pytest.mark.parametrize(("n", "es", "geometry"), ROUNDER_GEOMETRIES, ids=str)
def test_rounder_matches_round_scaled_int(n, es, geometry):
    if geometry == "quire":
        unit = make_mac("posit_quire", n=n, es=es)
        q_bits, frac_bits = unit.acc_bits, unit.acc_frac_bits
    else:
        q_bits, frac_bits = geometry
    _check_rounder(n, es, q_bits, frac_bits, _rounder_values(Posit(n, es), q_bits, frac_bits, 600, seed=n * 10 + es))


@pytest.mark.parametrize(("n", "es", "q_bits", "frac_bits"), [(4, 0, 13, 6), (5, 1, 12, 7)])
def test_rounder_every_value(n, es, q_bits, frac_bits):
    """Every input of a small geometry: (4, 0, 13, 6) is the quire of posit<4,0> with one carry bit."""
    if (n, es) == (4, 0):
        unit = make_mac("posit_quire", n=4, es=0, carry_bits=1)
        assert (unit.acc_bits, unit.acc_frac_bits) == (q_bits, frac_bits)
    half = 1 << (q_bits - 1)
    _check_rounder(n, es, q_bits, frac_bits, [(q, 0) for q in range(-half, half)] + [(0, 1), (-half, 1)])
