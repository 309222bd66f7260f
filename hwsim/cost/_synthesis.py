"""Gate netlists by synthesis: Verilog through the pinned Yosys gate flow to a `GateNetlist`, cached on disk.

The cache key is (design, params, Yosys version, gate-flow version, netlist-format version); the Verilog itself
is not in the key, so a design's builder must be a pure function of its params.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from .._util import cache_path, read_cached, write_cached
from ._netlist import NETLIST_VERSION, GateNetlist
from ._yosys import FLOW_VERSION, GATES_SCRIPT, rtl_fingerprint, run_yosys, yosys_version


def synthesize_netlist(verilog: str, top: str) -> GateNetlist:
    """Run the gate flow (`GATES_SCRIPT`) on Verilog text and load the mapped netlist (uncached)."""
    script = GATES_SCRIPT.format(src="design.v", top=top) + "write_json netlist.json\n"
    with tempfile.TemporaryDirectory(prefix="hwsim-gates-") as tmp:
        work = Path(tmp)
        (work / "design.v").write_text(verilog)
        run_yosys(script, work)  # inside the work folder, relative paths (yowasp maps its own /tmp)
        data = json.loads((work / "netlist.json").read_text())
    return GateNetlist.from_yosys_json(data, top)


def cached_netlist(design: str, params: Mapping[str, object], build: Callable[[], tuple[str, str]], *,
                   use_cache: bool = True) -> GateNetlist:
    """The gate netlist of a design, synthesized by ``build() -> (verilog, top)`` unless the disk cache holds it.

    The cache key is (design, params, Yosys version, gate-flow version, netlist-format version), as for
    `hwsim.cost.mac_area`; entries live in ``cache_dir()/netlist``.
    """
    path = cache_path("netlist", design, {"design": design, "params": dict(params), "yosys": yosys_version(),
                                          "flow": FLOW_VERSION, "netlist": NETLIST_VERSION, "rtl": rtl_fingerprint()})
    cached = read_cached(path, use_cache)
    if cached is not None:
        try:
            return GateNetlist.from_json(cached)
        except (KeyError, TypeError, ValueError, IndexError):
            pass  # an outdated entry: synthesize again and overwrite it
    verilog, top = build()
    netlist = synthesize_netlist(verilog, top)
    write_cached(path, netlist.to_json(), use_cache, compact=True)
    return netlist


def mac_netlist(unit, *, use_cache: bool = True) -> GateNetlist:
    """Gate netlist of a `hwsim.mac.MacUnit`'s RTL (cached like `hwsim.cost.mac_area`)."""

    def build() -> tuple[str, str]:
        from ..rtl import mac_component, to_verilog  # amaranth only when we really synthesize

        top = f"mac_{unit.kind}"
        return to_verilog(mac_component(unit), top), top

    return cached_netlist(f"mac_{unit.kind}", unit.params(), build, use_cache=use_cache)
