"""Tier 2: the fixed, SP2 and MSQ MAC RTL in Amaranth's simulator, cycle for cycle against the golden model.

(The posit kinds have their own file, tests/test_mac_posit_rtl.py.)
"""

from __future__ import annotations

import pytest

from hwsim.mac import MacInputs, exhaustive_stream, first_mismatch, make_mac, random_stream
from hwsim.rtl import mac_component, simulate_mac

EXHAUSTIVE = [
    ("fixed", dict(w_bits=4, x_bits=8)),
    ("fixed", dict(w_bits=2, x_bits=3, acc_bits=5, overflow="saturate")),
    ("sp2", dict(w_bits=4, x_bits=8)),
    ("sp2", dict(w_bits=4, m1=1, x_bits=8)),  # m2 > m1
    ("sp2", dict(w_bits=3, x_bits=6)),
    ("msq", dict(w_bits=4, x_bits=8)),
]

RANDOM = [
    ("fixed", dict(w_bits=8, x_bits=8)),
    ("fixed", dict(w_bits=8, x_bits=8, acc_bits=16)),  # minimal accumulator: wraps often
    ("fixed", dict(w_bits=8, x_bits=8, acc_bits=16, overflow="saturate")),
    ("fixed", dict(w_bits=16, x_bits=12, acc_bits=40)),
    ("sp2", dict(w_bits=8, x_bits=8)),
    ("sp2", dict(w_bits=6, x_bits=8, acc_bits=16, overflow="saturate")),
    ("sp2", dict(w_bits=5, x_bits=8, acc_bits=16)),
    ("msq", dict(w_bits=8, x_bits=8)),
    ("msq", dict(w_bits=6, x_bits=8, acc_bits=40, overflow="saturate")),
    ("msq", dict(w_bits=4, x_bits=8, acc_bits=12, overflow="saturate")),
]


@pytest.mark.parametrize(("kind", "params"), EXHAUSTIVE, ids=lambda v: str(v))
def test_exhaustive_products(kind, params):
    unit = make_mac(kind, **params)
    stream = exhaustive_stream(unit)
    got = simulate_mac(mac_component(unit), stream)
    assert (report := first_mismatch(unit, stream, got)) is None, report


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize(("kind", "params"), RANDOM, ids=lambda v: str(v))
def test_random_streams(kind, params, seed):
    unit = make_mac(kind, **params)
    stream = random_stream(unit, 2500, seed)
    got = simulate_mac(mac_component(unit), stream)
    assert (report := first_mismatch(unit, stream, got)) is None, report


def test_a_mismatch_report_names_cycle_inputs_expected_and_got():
    """The checker must catch a wrong trace and say where: perturb one cycle of a real RTL trace."""
    unit = make_mac("fixed", w_bits=4, x_bits=4)
    stream = [MacInputs(valid=1, clear=1, w=3, x=5), MacInputs(valid=1, w=1, x=1), MacInputs(), MacInputs()]
    got = simulate_mac(mac_component(unit), stream)
    assert first_mismatch(unit, stream, got) is None
    bad = list(got)
    bad[2] = type(got[2])(acc=got[2].acc + 1, nar=0, out=got[2].acc + 1)
    report = first_mismatch(unit, stream, bad)
    assert report is not None
    assert "cycle 2: acc expected 16, got 17" in report
    assert "MacInputs(valid=1, clear=0, w=1, x=1, mode=0)" in report  # the input that fed it
