"""The HDL simulators for the cocotb benches (`hwsim.verify`), from pytest: skipped when not installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from hwsim.verify._run import run_cocotb
from hwsim.verify._simulators import SIMULATORS, simulator_env

__all__ = ["SIMULATORS", "require_simulator", "run_bench"]


def require_simulator(sim: str) -> None:
    """Skip the test, saying why, when ``sim`` cannot run here (`run_bench` sets up its environment)."""
    try:
        simulator_env(sim)
    except ValueError as e:
        if sim not in SIMULATORS:
            raise
        pytest.skip(str(e))


def run_bench(sim: str, source: Path, top: str, bench: str, env: dict[str, str], tmp_path: Path) -> None:
    """Build ``source`` for ``sim`` in its own folder and run the cocotb module ``bench`` on it (as `hwsim rtl
    verify` does); a failing bench fails the test with the mismatch the bench wrote to ``env["HWSIM_REPORT"]``."""
    passed, report, _ = run_cocotb(sim, source, top, bench, env, tmp_path, waves=False)
    if not passed:
        pytest.fail(report)
