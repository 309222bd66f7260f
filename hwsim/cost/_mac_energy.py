"""Energy per MAC, leakage and area of any `hwsim.mac` unit, from its own synthesized RTL at gate level.

The unit's RTL (`hwsim.rtl.mac_component`) is synthesized with the gate flow, simulated on many lanes of an
activity (random codes by default), and all of its energy -- logic, pipeline registers, clock, operand-input
load -- is priced with the calibrated scale (`hwsim.cost.gate_energy_model`), per valid MAC.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from .._util.cache import cache_lock, cache_path, read_cached, write_cached
from ._calibration import COST_VERSION, WARMUP, GateEnergyModel, calibrated_netlists, energy_cache_key
from ._cells import leakage_mw, netlist_area_um2, raw_energy_fj
from ._gatesim import simulate_gates
from ._mac_gates import mac_stimulus
from ._netlist import DFF
from ._synthesis import mac_netlist, mac_netlist_job, pe_params, pe_top
from ._yosys import yosys_version

# Simulation settings (part of every cache key): lanes x (cycles - warm-up) MACs.
MAC_LANES, MAC_CYCLES = 128, 132
DOT_LENGTH = 64  # the default MAC activity clears its accumulator every 64 MACs


@dataclass(frozen=True)
class MacEnergy:
    """Energy and area of one MAC unit from its synthesized RTL.

    ``dynamic_pj_per_mac`` is the calibrated switching energy per valid MAC (clock included), ``leakage_mw``
    the static power, ``area_um2`` the cell area; ``breakdown_pj_per_mac`` splits the dynamic energy into
    logic, flip-flop outputs, clock and input-port load.
    """

    kind: str
    params: dict
    activity: str
    dynamic_pj_per_mac: float
    leakage_mw: float
    area_um2: float
    cells: dict[str, int]
    toggles_per_mac: float
    breakdown_pj_per_mac: dict[str, float]
    macs: int  # valid MACs simulated (counted cycles x lanes)
    scale: float  # the calibration factor used
    yosys: str
    cost_version: int = COST_VERSION
    extra: dict = field(default_factory=dict)

    @property
    def gates(self) -> int:
        return sum(n for t, n in self.cells.items() if t != DFF)

    @property
    def flip_flops(self) -> int:
        return self.cells.get(DFF, 0)

    def to_dict(self) -> dict:
        return asdict(self)


def _random_mac_streams(unit, activity: str, lanes: int, cycles: int, seed: int, nm_group: int = 1
                        ) -> dict[str, np.ndarray]:
    """Default activity: valid every cycle, a clear every `DOT_LENGTH` MACs (staggered over lanes), and uniformly
    random codes of the unit's formats ("random") or all-zero codes ("zero"). MSQ lanes alternate SP2/fixed rows.
    An N:M PE gets a group of random activations and a random position in it per cycle (zero: all zeros)."""
    rng = np.random.default_rng([seed, unit.w_bits, unit.x_bits])
    t = np.arange(cycles)[:, None]
    lane = np.arange(lanes)[None, :]
    stim = {
        "valid": np.ones((cycles, lanes), dtype=np.int64),
        "clear": ((t + lane) % DOT_LENGTH == 0).astype(np.int64),
    }
    if activity == "random":
        stim["w"] = rng.integers(0, 1 << unit.w_bits, size=(cycles, lanes), dtype=np.int64)
        stim["x"] = rng.integers(0, 1 << unit.x_bits, size=(cycles, lanes), dtype=np.int64)
    else:
        stim["w"] = np.zeros((cycles, lanes), dtype=np.int64)
        stim["x"] = np.zeros((cycles, lanes), dtype=np.int64)
    if nm_group > 1:  # the group's other activations drawn like the first, the position at random
        group_rng = np.random.default_rng([seed, unit.w_bits, unit.x_bits, nm_group])
        stim["x0"] = stim.pop("x")
        for e in range(1, nm_group):
            stim[f"x{e}"] = (group_rng.integers(0, 1 << unit.x_bits, size=(cycles, lanes), dtype=np.int64)
                             if activity == "random" else np.zeros((cycles, lanes), dtype=np.int64))
        stim["idx"] = (group_rng.integers(0, nm_group, size=(cycles, lanes), dtype=np.int64) if activity == "random"
                       else np.zeros((cycles, lanes), dtype=np.int64))
    if unit.has_mode:
        stim["mode"] = np.broadcast_to(lane % 2, (cycles, lanes)).astype(np.int64)
    return stim


def _stimulus_from_streams(unit, activity) -> dict[str, np.ndarray]:
    """User streams: one `hwsim.mac.MacInputs` sequence (every lane the same) or one per lane."""
    streams = list(activity)
    if not streams:
        raise ValueError("activity stream is empty")
    if not isinstance(streams[0], Sequence):
        streams = [streams]
    return mac_stimulus(unit, streams)


def _stimulus_from_arrays(unit, arrays: Mapping) -> dict[str, np.ndarray]:
    names = ["valid", "clear", "w", "x", *(["mode"] if unit.has_mode else [])]
    missing = [n for n in names if n not in arrays]
    extra = sorted(set(arrays) - set(names))
    if missing or extra:
        raise ValueError(f"a {unit.kind} stimulus needs ports {', '.join(names)}"
                         + (f"; missing {', '.join(missing)}" if missing else "")
                         + (f"; {', '.join(extra)} do not exist" if extra else ""))
    stim = {n: np.asarray(arrays[n], dtype=np.int64) for n in names}
    shape = stim["valid"].shape
    if len(shape) != 2 or shape[0] < 2 or any(a.shape != shape for a in stim.values()):
        shapes = [a.shape for a in stim.values()]
        raise ValueError(f"stimulus arrays must all be (cycles >= 2, lanes), not {shapes}")
    return stim


def mac_energy(unit, *, activity: str | Sequence = "random", use_cache: bool = True, seed: int = 0,
               model: GateEnergyModel | None = None, nm_group: int = 1) -> MacEnergy:
    """Energy per MAC, leakage and area of any `hwsim.mac` unit, from its synthesized RTL at gate level.

    ``activity``: ``"random"`` (default: valid every cycle, a clear every 64 MACs, uniform random codes of the
    unit's formats), ``"zero"`` (same timing, all-zero operands), or a stimulus: one sequence of
    `hwsim.mac.MacInputs` or one per lane, or the port arrays themselves (a mapping of valid, clear, w, x and,
    for kinds with a mode, mode, each (cycles, lanes); see `layer_mac_stimulus`). Energy is per valid input
    (per cycle if none is valid), over the cycles after a short warm-up. Cached on disk by unit kind,
    parameters, Yosys version, COST_VERSION, the data files and the activity.

    ``nm_group`` > 1: the N:M PE of ``unit`` (`hwsim.rtl.NMPe`: the MAC behind a group-wide activation mux), with
    the "random" or "zero" activity only.
    """
    from .._util import check_int

    check_int("nm_group", nm_group, 1)
    if nm_group > 1 and not isinstance(activity, str):
        raise ValueError("an N:M PE's energy takes the 'random' or 'zero' activity, not a stream")
    if isinstance(activity, str):
        if activity not in ("random", "zero"):
            raise ValueError(f"activity must be 'random', 'zero' or a MacInputs stream, not {activity!r}")
        stim = None  # drawn only when the cache misses: the key needs just its shape
        described, cycles, lanes = activity, MAC_CYCLES, MAC_LANES
    else:
        stim = _stimulus_from_arrays(unit, activity) if isinstance(activity, Mapping) else \
            _stimulus_from_streams(unit, activity)
        digest = hashlib.sha256(b"".join(np.ascontiguousarray(stim[k]).tobytes() + k.encode()
                                         for k in sorted(stim))).hexdigest()[:16]
        described = f"stream:{digest}"
        cycles, lanes = stim["valid"].shape
    count_from = min(WARMUP, cycles - 1)
    key = {**energy_cache_key(), "unit": unit.kind, "params": pe_params(unit, nm_group), "activity": described,
           "cycles": cycles, "lanes": lanes, "seed": seed, "warmup": count_from}
    path = cache_path("energy", f"mac-{unit.kind}" if nm_group == 1 else pe_top(unit, nm_group), key)
    use_cache_here = use_cache and model is None  # results of another calibration are not the cached ones
    cached = _cached_energy(path, use_cache_here)
    if cached is not None:
        return cached
    with cache_lock(path) if use_cache_here else contextlib.nullcontext():
        cached = _cached_energy(path, use_cache_here)  # another process may have computed it while we waited
        if cached is not None:
            return cached
        return _compute_energy(unit, activity, stim, lanes, cycles, seed, model, use_cache, count_from, described,
                               path, use_cache_here, nm_group)


def _cached_energy(path, use_cache: bool) -> MacEnergy | None:
    cached = read_cached(path, use_cache)
    if cached is not None:
        try:
            return MacEnergy(**cached)
        except TypeError:
            pass
    return None


def _compute_energy(unit, activity, stim, lanes, cycles, seed, model, use_cache, count_from, described, path,
                    use_cache_here, nm_group: int = 1) -> MacEnergy:
    if stim is None:
        stim = _random_mac_streams(unit, activity, lanes, cycles, seed, nm_group)
    if model is None:  # a cold cache synthesizes the MAC beside the calibration's designs
        model, (netlist,) = calibrated_netlists([mac_netlist_job(unit, nm_group)], use_cache=use_cache)
    else:
        netlist = mac_netlist(unit, use_cache=use_cache, nm_group=nm_group)
    sim = simulate_gates(netlist, stim, lanes=lanes, count_from=count_from, outputs=())
    macs = int(stim["valid"][count_from:].astype(bool).sum()) or sim.counted_cycles * lanes
    parts = {k: model.pj(v) / macs for k, v in raw_energy_fj(netlist, sim).items()}
    area = netlist_area_um2(netlist)
    result = MacEnergy(
        kind=unit.kind,
        params=pe_params(unit, nm_group),
        activity=described,
        dynamic_pj_per_mac=sum(parts.values()),
        leakage_mw=leakage_mw(area),
        area_um2=area,
        cells=netlist.cell_counts(),
        toggles_per_mac=float(sim.cell_toggles.sum()) / macs,
        breakdown_pj_per_mac=parts,
        macs=macs,
        scale=model.scale,
        yosys=yosys_version(),
        extra={"cycles": cycles, "lanes": lanes, "warmup": count_from, "depth": netlist.depth},
    )
    write_cached(path, result.to_dict(), use_cache_here)
    return result
