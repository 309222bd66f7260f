"""Area by synthesis: both flows of the pinned Yosys on one design, cell counts and a transistor estimate.

Results are cached on disk by (unit, parameters, Yosys version, flow version).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .._util import cache_path, read_cached, write_cached
from ._yosys import FLOW_VERSION, FPGA_SCRIPT, GATES_SCRIPT, rtl_fingerprint, run_yosys, yosys_version


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


def synthesize_verilog(verilog: str, top: str, *, design: str | None = None,
                       params: dict | None = None) -> AreaReport:
    """Run both flows on Verilog text (uncached)."""
    with tempfile.TemporaryDirectory(prefix="hwsim-yosys-") as tmp:
        work = Path(tmp)
        (work / "design.v").write_text(verilog)
        run_yosys(FPGA_SCRIPT.format(src="design.v", top=top), work)
        run_yosys(GATES_SCRIPT.format(src="design.v", top=top), work)
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


def mac_area(unit, *, use_cache: bool = True, nm_group: int = 1) -> AreaReport:
    """Area of a MAC unit's RTL (`hwsim.mac.MacUnit`), or with ``nm_group`` > 1 of its N:M PE (the MAC behind an
    activation mux, `hwsim.rtl.NMPe`), from the cache when it holds this exact design."""
    from ._synthesis import pe_params, pe_top

    params = pe_params(unit, nm_group)
    name = unit.kind if nm_group == 1 else pe_top(unit, nm_group)
    path = cache_path("area", name,
                      {"unit": unit.kind, "params": params, "yosys": yosys_version(), "flow": FLOW_VERSION,
                       "rtl": rtl_fingerprint()})
    cached = read_cached(path, use_cache)
    if cached is not None:
        try:
            return AreaReport(**cached)
        except TypeError:
            pass  # an outdated entry: synthesize again and overwrite it
    from ..rtl import pe_component, to_verilog  # amaranth only when we really synthesize

    top = pe_top(unit, nm_group)
    report = synthesize_verilog(to_verilog(pe_component(unit, nm_group), top), top, design=name, params=params)
    write_cached(path, report.to_dict(), use_cache)
    return report
