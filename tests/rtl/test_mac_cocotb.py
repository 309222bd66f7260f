"""Tier 3: every MAC kind's generated Verilog under cocotb, on Icarus and on Verilator, against the golden model.

Each design gets its own build directory (xdist workers must not share one). Small designs run exhaustively
over every weight code x every activation code plus a random stream; wide ones run random streams with valid
gaps, clears, overflow bursts and (posits) NaR.
"""

from __future__ import annotations

import json

import pytest
from cocotb_tools.runner import get_runner
from simulators import SIMULATORS, build_args, require_simulator

from hwsim.mac import make_mac
from hwsim.rtl import mac_component, write_verilog

pytestmark = pytest.mark.rtl

EXHAUSTIVE_AND_RANDOM = [["exhaustive"], ["random", 1500, 7]]
RANDOM = [["random", 3000, 11], ["random", 3000, 12]]

DESIGNS = [
    ("fixed", dict(w_bits=4, x_bits=8, acc_bits=12, overflow="saturate"), EXHAUSTIVE_AND_RANDOM),
    ("fixed", dict(w_bits=8, x_bits=8, acc_bits=16), RANDOM),
    ("sp2", dict(w_bits=4, x_bits=8, acc_bits=12, overflow="saturate"), EXHAUSTIVE_AND_RANDOM),
    ("sp2", dict(w_bits=8, x_bits=8, acc_bits=24), RANDOM),
    ("msq", dict(w_bits=4, x_bits=8, acc_bits=12), EXHAUSTIVE_AND_RANDOM),
    ("msq", dict(w_bits=8, x_bits=8, acc_bits=26, overflow="saturate"), RANDOM),
    ("posit_fixp", dict(n=4, es=1, x_bits=8, overflow="saturate"), EXHAUSTIVE_AND_RANDOM),
    ("posit_fixp", dict(n=8, es=2, x_bits=8), RANDOM),
    ("posit_quire", dict(n=4, es=1), EXHAUSTIVE_AND_RANDOM),
    ("posit_quire", dict(n=8, es=2), RANDOM),
    ("posit_or_fixed", dict(n=4, es=1, fixed_bits=4, x_bits=4, overflow="saturate"), EXHAUSTIVE_AND_RANDOM),
    ("posit_or_fixed", dict(n=6, es=1, fixed_bits=8, x_bits=8), RANDOM),
]


def _id(design) -> str:
    kind, params, _ = design
    return kind + "-" + "-".join(f"{k}{v}" for k, v in params.items())


@pytest.mark.parametrize("sim", SIMULATORS)
@pytest.mark.parametrize("design", DESIGNS, ids=[_id(d) for d in DESIGNS])
def test_mac_rtl_matches_golden_model(design, sim, tmp_path, monkeypatch):
    kind, params, streams = design
    require_simulator(sim, monkeypatch)
    unit = make_mac(kind, **params)
    top = f"mac_{kind}"
    source = write_verilog(mac_component(unit), top, tmp_path / "src")
    runner = get_runner(sim)
    build_dir = tmp_path / f"build_{sim}"
    runner.build(sources=[source], hdl_toplevel=top, build_dir=build_dir, timescale=("1ns", "1ps"),
                 always=True, build_args=build_args(sim))
    report = tmp_path / "mismatch.txt"
    env = {"HWSIM_MAC": json.dumps({"kind": kind, **unit.params()}), "HWSIM_STREAMS": json.dumps(streams),
           "COCOTB_REWRITE_ASSERTION_FILES": "tb_mac.py",  # not every imported module (numba, scipy: ~4 s)
           "HWSIM_REPORT": str(report)}
    try:
        runner.test(hdl_toplevel=top, test_module="tb_mac", build_dir=build_dir, test_dir=tmp_path,
                    extra_env=env, timescale=("1ns", "1ps"))
    except SystemExit:  # the runner exits when a cocotb test fails; surface the bench's report instead
        pytest.fail(report.read_text() if report.exists() else f"{sim} run failed before any check (see log)")
