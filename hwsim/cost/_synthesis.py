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


def mac_netlist_job(unit) -> NetlistJob:
    """The `NetlistJob` of a `hwsim.mac.MacUnit`'s RTL."""

    def build() -> tuple[str, str]:
        from ..rtl import mac_component, to_verilog  # amaranth only when we really synthesize

        top = f"mac_{unit.kind}"
        return to_verilog(mac_component(unit), top), top

    return NetlistJob(f"mac_{unit.kind}", unit.params(), build)


def mac_netlist(unit, *, use_cache: bool = True) -> GateNetlist:
    """Gate netlist of a `hwsim.mac.MacUnit`'s RTL (cached like `hwsim.cost.mac_area`)."""
    return cached_netlists([mac_netlist_job(unit)], use_cache=use_cache)[0]
