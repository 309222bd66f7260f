"""Gate netlists by synthesis: Verilog through the pinned Yosys gate flow to a `GateNetlist`, cached on disk.

The cache key is (design, params, Yosys version, gate-flow version, netlist-format version); the Verilog itself
is not in the key, so a design's builder must be a pure function of its params. Designs missing from the cache
are synthesized in parallel (`cached_netlists`).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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


@dataclass(frozen=True)
class NetlistJob:
    """One design for `cached_netlists`: its cache identity (name and params) and ``build() -> (verilog, top)``."""

    design: str
    params: Mapping[str, object]
    build: Callable[[], tuple[str, str]]

    def cache_path(self) -> Path:
        return cache_path("netlist", self.design, {
            "design": self.design, "params": dict(self.params), "yosys": yosys_version(), "flow": FLOW_VERSION,
            "netlist": NETLIST_VERSION, "rtl": rtl_fingerprint()})


def _read_netlist(path: Path, use_cache: bool) -> GateNetlist | None:
    cached = read_cached(path, use_cache)
    if cached is not None:
        try:
            return GateNetlist.from_json(cached)
        except (KeyError, TypeError, ValueError, IndexError):
            pass  # an outdated entry: synthesize again and overwrite it
    return None


def _synthesize_job(job: NetlistJob, path: Path, use_cache: bool) -> GateNetlist:
    verilog, top = job.build()
    netlist = synthesize_netlist(verilog, top)
    write_cached(path, netlist.to_json(), use_cache, compact=True)
    return netlist


def cached_netlists(jobs: Sequence[NetlistJob], *, use_cache: bool = True) -> list[GateNetlist]:
    """The gate netlists of ``jobs``, in order: read from the disk cache (``cache_dir()/netlist``, keyed as the
    module docstring says, like `hwsim.cost.mac_area`), or synthesized when missing.

    The missing designs are synthesized in parallel on up to ``os.cpu_count()`` threads, started in the order
    given (put the longest first). Threads suffice: Amaranth's and our Yosys runs are child processes, so the
    threads only wait on them. Each design's netlist and cache entry are the same as from a serial run.
    """
    paths = [job.cache_path() for job in jobs]
    netlists = [_read_netlist(path, use_cache) for path in paths]
    missing = [i for i, netlist in enumerate(netlists) if netlist is None]
    if not missing:
        return netlists
    from .._util import phase

    workers = min(len(missing), os.cpu_count() or 1)
    names = ", ".join(jobs[i].design for i in missing)
    with phase(f"synthesize {names} (Yosys)"):
        if workers > 1:
            with ThreadPoolExecutor(workers, thread_name_prefix="hwsim-yosys") as pool:
                built = list(pool.map(lambda i: _synthesize_job(jobs[i], paths[i], use_cache), missing))
        else:
            built = [_synthesize_job(jobs[i], paths[i], use_cache) for i in missing]
    for i, netlist in zip(missing, built, strict=True):
        netlists[i] = netlist
    return netlists


def pe_top(unit, nm_group: int = 1) -> str:
    """Top module name of a PE's RTL: mac_<kind>, or nmpe<M>_<kind> for an N:M PE."""
    return f"mac_{unit.kind}" if nm_group == 1 else f"nmpe{nm_group}_{unit.kind}"


def pe_params(unit, nm_group: int = 1) -> dict:
    """A PE's design parameters, as cache keys see them (a plain MAC's are its unit's, as before N:M PEs)."""
    return unit.params() if nm_group == 1 else {**unit.params(), "nm_group": nm_group}


def mac_netlist_job(unit, nm_group: int = 1) -> NetlistJob:
    """The `NetlistJob` of a `hwsim.mac.MacUnit`'s RTL, or with ``nm_group`` > 1 of its N:M PE (`hwsim.rtl.NMPe`)."""

    def build() -> tuple[str, str]:
        from ..rtl import pe_component, to_verilog  # amaranth only when we really synthesize

        top = pe_top(unit, nm_group)
        return to_verilog(pe_component(unit, nm_group), top), top

    return NetlistJob(pe_top(unit, nm_group), pe_params(unit, nm_group), build)


def mac_netlist(unit, *, use_cache: bool = True, nm_group: int = 1) -> GateNetlist:
    """Gate netlist of a `hwsim.mac.MacUnit`'s RTL, or of its N:M PE (cached like `hwsim.cost.mac_area`)."""
    return cached_netlists([mac_netlist_job(unit, nm_group)], use_cache=use_cache)[0]
