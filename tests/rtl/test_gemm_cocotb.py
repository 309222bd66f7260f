"""Tier 3: the block-sparse GEMM engine's generated Verilog (both dataflows, N:M PEs) under cocotb, against hwsim.sim.

Every run of hwsim/verify/gemm_cases.py -- `gemm_runs` (output-stationary), `ws_gemm_runs` (weight-stationary)
and `nm_gemm_runs` (N:M PEs) -- goes through Icarus, a few also through Verilator. A run is one engine design
computing 2-4 problems back to back; together they cover every array shape, block_n vs cols, densities 0 to 1,
all-zero W, a single block, bias on and off, N of M kept from 1 to M, every MAC kind in both overflow modes. Each
problem's Y must match `gemm_outputs` bit for bit and its start-to-done must take exactly
`gemm_timing(...).cycles`. Each design gets its own build directory (xdist workers must not share one).
"""

from __future__ import annotations

import json

import pytest
from simulators import require_simulator, run_bench

from hwsim.rtl import gemm_component, write_verilog
from hwsim.verify.gemm_cases import build_case, gemm_runs, nm_gemm_runs, run_depths, run_id, ws_gemm_runs

pytestmark = pytest.mark.rtl

RUNS = gemm_runs()
WS_RUNS = ws_gemm_runs()
NM_RUNS = nm_gemm_runs()
# small designs (Verilator compiles for a while): fixed 1x1, MSQ 2x2, posit_fixp 1x1, quire 2x2; WS fixed 1x1,
# sp2 2x2, quire 2x2; N:M fixed 2x2 in groups of 2, MSQ 2x3 in groups of 2
VERILATOR_RUNS = ([RUNS[i] for i in (0, 8, 12, 14)] + [WS_RUNS[i] for i in (0, 5, 10)]
                  + [NM_RUNS[i] for i in (0, 3)])


def run_on(sim: str, run: list[dict], tmp_path) -> None:
    require_simulator(sim)
    cases = [build_case(spec) for spec in run]
    top = "gemm"
    source = write_verilog(gemm_component(cases[0].cfg, **run_depths(cases)), top, tmp_path / "src")
    env = {"HWSIM_GEMM": json.dumps(run), "HWSIM_REPORT": str(tmp_path / "mismatch.txt")}
    run_bench(sim, source, top, "hwsim.verify.tb_gemm", env, tmp_path)


def test_enough_configurations():
    assert sum(len(run) for run in RUNS) >= 50
    assert sum(len(run) for run in WS_RUNS) >= 40
    assert all(spec["dataflow"] == "ws" for run in WS_RUNS for spec in run)
    assert sum(len(run) for run in NM_RUNS) >= 30


@pytest.mark.parametrize("run", RUNS + WS_RUNS + NM_RUNS, ids=run_id)
def test_gemm_icarus(run, tmp_path):
    run_on("icarus", run, tmp_path)


@pytest.mark.parametrize("run", VERILATOR_RUNS, ids=run_id)
def test_gemm_verilator(run, tmp_path):
    run_on("verilator", run, tmp_path)
