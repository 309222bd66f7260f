"""Tier 3: the block-sparse GEMM engine's generated Verilog under cocotb, against hwsim.sim.

Every run of tests/rtl/gemm_cases.py (one engine design computing 2-3 problems back to back: every array
shape, block_n vs cols, densities 0 to 1, all-zero W, a single block, bias on and off, every MAC kind in both
overflow modes) goes through Icarus; a few also through Verilator. Each problem's Y must match `gemm_outputs`
bit for bit and its start-to-done must take exactly `gemm_timing(...).cycles`. Each design gets its own build
directory (xdist workers must not share one).
"""

from __future__ import annotations

import json

import pytest
from cocotb_tools.runner import get_runner
from gemm_cases import build_case, gemm_runs, run_depths, run_id
from simulators import build_args, require_simulator

from hwsim.rtl import BlockSparseGemm, write_verilog

pytestmark = pytest.mark.rtl

RUNS = gemm_runs()
# small designs (Verilator compiles for a while): fixed 1x1, MSQ 2x2, posit_fixp 1x1, quire 2x2
VERILATOR_RUNS = [RUNS[i] for i in (0, 8, 12, 14)]


def run_on(sim: str, run: list[dict], tmp_path, monkeypatch) -> None:
    require_simulator(sim, monkeypatch)
    cases = [build_case(spec) for spec in run]
    top = "gemm"
    source = write_verilog(BlockSparseGemm(cases[0].cfg, **run_depths(cases)), top, tmp_path / "src")
    runner = get_runner(sim)
    build_dir = tmp_path / f"build_{sim}"
    runner.build(sources=[source], hdl_toplevel=top, build_dir=build_dir, timescale=("1ns", "1ps"),
                 always=True, build_args=build_args(sim))
    report = tmp_path / "mismatch.txt"
    # assertion rewriting for the bench only: by default cocotb rewrites every module imported (numba, scipy...)
    env = {"HWSIM_GEMM": json.dumps(run), "HWSIM_REPORT": str(report), "COCOTB_REWRITE_ASSERTION_FILES": "tb_gemm.py"}
    try:
        runner.test(hdl_toplevel=top, test_module="tb_gemm", build_dir=build_dir, test_dir=tmp_path,
                    extra_env=env, timescale=("1ns", "1ps"))
    except SystemExit:  # the runner exits when a cocotb test fails; surface the bench's report instead
        pytest.fail(report.read_text() if report.exists() else f"{sim} run failed before any check (see log)")


def test_enough_configurations():
    assert sum(len(run) for run in RUNS) >= 50


@pytest.mark.parametrize("run", RUNS, ids=run_id)
def test_gemm_icarus(run, tmp_path, monkeypatch):
    run_on("icarus", run, tmp_path, monkeypatch)


@pytest.mark.parametrize("run", VERILATOR_RUNS, ids=run_id)
def test_gemm_verilator(run, tmp_path, monkeypatch):
    run_on("verilator", run, tmp_path, monkeypatch)
