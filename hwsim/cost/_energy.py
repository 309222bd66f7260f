"""Energy and area of RTL from gate-level toggles, calibrated on one published anchor (Accelergy's ERT/ART idea).

Method (docs/cost-model.md):
1. synthesize with the pinned Yosys gate flow and simulate the netlist at gate level (`hwsim.cost._gates`) on
   random operands, counting every net's toggles;
2. energy = sum over nets of toggles x an energy per toggle from the 45 nm cell table (data/cells_45nm.yaml:
   the driver's internal energy plus 1/2 V^2 of the pins and wire it drives), plus a clock energy per flip-flop
   per cycle. These are counts times an explicit table, computed by pure functions;
3. ONE scale factor maps that library estimate onto Horowitz's 45 nm table (data/horowitz_45nm.yaml): an 8x8
   signed multiplier with registered inputs and outputs is simulated, and the energy of its operator -- the
   combinational cells and the nets they drive; the harness registers and their clock are left out, because
   Horowitz's figures are for the operations -- is set to his int8 multiply, 0.2 pJ. The 8-bit and 32-bit
   adders and the 32x32 multiplier, built and simulated the same way, are then a validation: nothing is tuned
   to them (`validation_table`, which also shows the whole registered designs for comparison);
4. area = cells x cell areas; leakage = area x a leakage density; SRAM and DRAM energies come from the Horowitz
   table directly, with size scaling.
Results are cached on disk by (design, parameters, Yosys version, COST_VERSION, the data files' hash).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import yaml

from ._gates import (
    DFF,
    NETLIST_VERSION,
    GateNetlist,
    GateSim,
    cached_netlist,
    mac_netlist,
    mac_stimulus,
    simulate_gates,
)
from ._synth import FLOW_VERSION, cache_path, read_cached, write_cached, yosys_version

# Bump when the energy method or its simulation settings change, so cached results are not reused.
COST_VERSION = 1

DATA_DIR = Path(__file__).parent / "data"

# Reference designs for calibration and validation: Horowitz operation -> (operator, operand bits). Both operands
# are signed and registered, and so is the full-width result (2w bits for a product, w+1 for a sum).
REFERENCE_OPS: dict[str, tuple[str, int]] = {
    "int8_mul": ("mul", 8),
    "int8_add": ("add", 8),
    "int32_add": ("add", 32),
    "int32_mul": ("mul", 32),
}
# Simulation settings (part of every cache key): lanes x (cycles - warm-up) operations per design.
REF_LANES, REF_CYCLES = 256, 44
MAC_LANES, MAC_CYCLES = 128, 132
WARMUP = 4  # cycles not counted: the registers fill from their reset values first
DOT_LENGTH = 64  # the default MAC activity clears its accumulator every 64 MACs


# ---------------------------------------------------------------------------------------------------------------
# Data tables
# ---------------------------------------------------------------------------------------------------------------


@cache
def _data_text(name: str) -> str:
    return (DATA_DIR / name).read_text()


def cell_table() -> dict:
    """The 45 nm cell table (data/cells_45nm.yaml), parsed."""
    return yaml.safe_load(_data_text("cells_45nm.yaml"))


def horowitz_table() -> dict:
    """The Horowitz ISSCC 2014 anchors (data/horowitz_45nm.yaml), parsed."""
    return yaml.safe_load(_data_text("horowitz_45nm.yaml"))


def data_fingerprint() -> str:
    """Hash of both data files: part of every energy cache key, so editing a table invalidates old results."""
    text = _data_text("cells_45nm.yaml") + "\0" + _data_text("horowitz_45nm.yaml")
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _wire_cap_ff(fanout: int, wire: Mapping) -> float:
    """Wire capacitance of a net with ``fanout`` sinks from the library's wire-load table (linear in between)."""
    if fanout <= 0:
        return 0.0
    table = {int(k): float(v) for k, v in wire["fanout_length_um"].items()}
    top = max(table)
    if fanout > top:
        length = table[top] + float(wire["slope_um"]) * (fanout - top)
    else:
        xs = sorted(table)
        length = float(np.interp(fanout, xs, [table[x] for x in xs]))
    return float(wire["cap_ff_per_um"]) * length


def net_energy_fj(netlist: GateNetlist, cells: Mapping | None = None) -> np.ndarray:
    """Uncalibrated energy of one toggle of every net (fJ at the library voltage), a pure function of the netlist
    and the cell table: the driver's internal energy plus 1/2 V^2 (input-pin caps of the sinks + wire cap).

    Output-port bits add one external load; input-port nets have no driver here, so they get the load part only.
    """
    cells = cell_table() if cells is None else cells
    lib = cells["cells"]
    half_v2 = 0.5 * float(cells["voltage_v"]) ** 2
    external = float(cells["external_load_ff"])
    weights = np.zeros(netlist.n_nets)
    driver = netlist.driver
    for n, sinks in enumerate(netlist.sinks):
        if n < 2:
            continue  # the constants never toggle
        cap = sum(external if t == "port" else float(lib[t]["pin_cap_ff"][pin]) for t, pin in sinks)
        cap += _wire_cap_ff(len(sinks), cells["wire_load"])
        d = driver[n]
        internal = float(lib[netlist.cell_type[d]]["internal_fj"]) if d >= 0 else 0.0
        weights[n] = internal + half_v2 * cap
    return weights


def clock_energy_fj(cells: Mapping | None = None) -> float:
    """Uncalibrated clock energy of one flip-flop in one cycle: its internal clock energy plus C_clk V^2."""
    cells = cell_table() if cells is None else cells
    dff = cells["cells"][DFF]
    return float(dff["clock_internal_fj_per_cycle"]) + float(dff["pin_cap_ff"]["C"]) * float(cells["voltage_v"]) ** 2


def netlist_area_um2(netlist: GateNetlist, cells: Mapping | None = None) -> float:
    """Cell area: cells x the table's X1 cell areas (no wiring or utilisation overhead)."""
    lib = (cell_table() if cells is None else cells)["cells"]
    return float(sum(n * float(lib[t]["area_um2"]) for t, n in netlist.cell_counts().items()))


def leakage_w_per_mm2() -> float:
    """Leakage power density of the cell table (W/mm^2); an estimate, see data/cells_45nm.yaml."""
    return float(cell_table()["leakage_nw_per_um2"]) * 1e-9 * 1e6


def leakage_mw(area_um2: float) -> float:
    """Leakage power (mW) of ``area_um2`` of standard cells."""
    return area_um2 * float(cell_table()["leakage_nw_per_um2"]) * 1e-6


def raw_energy_fj(netlist: GateNetlist, sim: GateSim, cells: Mapping | None = None) -> dict[str, float]:
    """Uncalibrated energy (fJ) of a simulation, summed over its counted cycles and lanes, by component:
    ``logic`` (combinational cells), ``flip_flops`` (register outputs toggling), ``clock`` (every flip-flop, every
    cycle) and ``inputs`` (the load on the input-port nets)."""
    cells = cell_table() if cells is None else cells
    per_net = sim.net_toggles * net_energy_fj(netlist, cells)
    driver = netlist.driver
    is_dff = np.array([t == DFF for t in netlist.cell_type] + [False])  # index -1 (no driver) -> False
    from_dff = is_dff[driver]
    from_cell = driver >= 0
    n_dff = len(netlist.dff_cells)
    return {
        "logic": float(per_net[from_cell & ~from_dff].sum()),
        "flip_flops": float(per_net[from_dff].sum()),
        "clock": n_dff * clock_energy_fj(cells) * sim.counted_cycles * sim.lanes,
        "inputs": float(per_net[~from_cell].sum()),
    }


# ---------------------------------------------------------------------------------------------------------------
# Reference designs and the calibration
# ---------------------------------------------------------------------------------------------------------------


def _reference_verilog(op: str, bits: int) -> tuple[str, str]:
    """Amaranth: registered signed operands a, b -> a op b -> registered full-width result y."""
    from amaranth.hdl import Module, Signal, signed
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    from ..rtl import to_verilog

    out_bits = 2 * bits if op == "mul" else bits + 1

    class RegisteredOp(wiring.Component):
        def __init__(self) -> None:
            super().__init__({"a": In(signed(bits)), "b": In(signed(bits)), "y": Out(signed(out_bits))})

        def elaborate(self, platform) -> Module:
            m = Module()
            ra, rb = Signal(signed(bits)), Signal(signed(bits))
            m.d.sync += [ra.eq(self.a), rb.eq(self.b)]
            m.d.sync += self.y.eq(ra * rb if op == "mul" else ra + rb)
            return m

    top = f"ref_{op}{bits}"
    return to_verilog(RegisteredOp(), top), top


def reference_netlist(name: str, *, use_cache: bool = True) -> GateNetlist:
    """Gate netlist of one reference design of `REFERENCE_OPS` (cached)."""
    op, bits = REFERENCE_OPS[name]
    return cached_netlist(f"ref_{op}{bits}", {"op": op, "bits": bits}, lambda: _reference_verilog(op, bits),
                          use_cache=use_cache)


@dataclass(frozen=True)
class ReferenceOp:
    """One reference design, simulated on uniform random operands; energies per operation."""

    name: str
    horowitz_pj: float
    raw_fj_per_op: float  # the operator's library estimate before calibration (fJ at 1.1 V)
    dynamic_pj: float  # the operator (combinational cells and the nets they drive), calibrated
    total_pj: float  # the whole registered test design: operator + registers + clock + input load, calibrated
    breakdown_pj: dict[str, float]  # calibrated, by component (see `raw_energy_fj`); "logic" is the operator
    toggles_per_op: float  # cell-output toggles
    cells: dict[str, int]  # the whole registered test design
    area_um2: float  # the whole registered test design (operand and result registers included)
    leakage_mw: float


def _simulate_reference(name: str, seed: int, use_cache: bool) -> tuple[float, dict[str, float], float, dict, float]:
    netlist = reference_netlist(name, use_cache=use_cache)
    op, bits = REFERENCE_OPS[name]
    rng = np.random.default_rng([seed, bits, op == "mul"])
    lo, hi = -(1 << (bits - 1)), 1 << (bits - 1)
    stim = {p: rng.integers(lo, hi, size=(REF_CYCLES, REF_LANES), dtype=np.int64) for p in ("a", "b")}
    sim = simulate_gates(netlist, stim, lanes=REF_LANES, count_from=WARMUP, outputs=())
    ops = sim.counted_cycles * sim.lanes
    parts = {k: v / ops for k, v in raw_energy_fj(netlist, sim).items()}
    comb = np.array([t != DFF for t in netlist.cell_type])
    toggles = float(sim.cell_toggles[comb].sum()) / ops  # the operator's gates only
    return parts["logic"], parts, toggles, netlist.cell_counts(), netlist_area_um2(netlist)


@dataclass(frozen=True)
class GateEnergyModel:
    """The calibrated energy scale: ``pJ = scale x (library estimate in fJ) / 1000``.

    ``scale`` is dimensionless: 1 would mean the 45 nm cell library at 1.1 V and Horowitz's table agree on the
    anchor; (0.9/1.1)^2 = 0.67 is what the supply voltage difference alone would give. It was fitted on the
    anchor's operator energy and applies to every component (registers and clock included) of other designs.
    """

    scale: float
    anchor: str
    anchor_pj: float
    references: dict[str, ReferenceOp]
    yosys: str
    cost_version: int
    data: str
    seed: int = 0
    source: str = ""

    def pj(self, raw_fj: float) -> float:
        """Calibrated energy (pJ) of a library estimate (fJ)."""
        return raw_fj * self.scale * 1e-3

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping) -> GateEnergyModel:
        refs = {k: ReferenceOp(**v) for k, v in d["references"].items()}
        return cls(**{**d, "references": refs})


def _base_key() -> dict:
    return {"yosys": yosys_version(), "flow": FLOW_VERSION, "netlist": NETLIST_VERSION, "cost": COST_VERSION,
            "data": data_fingerprint()}


def gate_energy_model(*, use_cache: bool = True, seed: int = 0) -> GateEnergyModel:
    """Calibrate the per-toggle energy scale on Horowitz's anchor (int8 multiply, 0.2 pJ) and predict the other
    reference operations with the same scale. Synthesizes four small designs once, then reads the disk cache."""
    table = horowitz_table()
    anchor = table["calibration_anchor"]
    key = {**_base_key(), "refs": REFERENCE_OPS, "lanes": REF_LANES, "cycles": REF_CYCLES, "warmup": WARMUP,
           "seed": seed}
    path = cache_path("energy", "calibration", key)
    cached = read_cached(path, use_cache)
    if cached is not None:
        try:
            return GateEnergyModel.from_dict(cached)
        except (KeyError, TypeError):
            pass
    sims = {name: _simulate_reference(name, seed, use_cache) for name in REFERENCE_OPS}
    anchor_pj = float(table["operations_pj"][anchor])
    scale = anchor_pj / (sims[anchor][0] * 1e-3)  # the one calibrated number: operator energy -> Horowitz
    leak = float(cell_table()["leakage_nw_per_um2"]) * 1e-6
    refs = {}
    for name, (raw, parts, toggles, cells, area) in sims.items():
        refs[name] = ReferenceOp(
            name=name,
            horowitz_pj=float(table["operations_pj"][name]),
            raw_fj_per_op=raw,
            # the anchor reads back exactly what it was calibrated to, not raw * (0.2 / raw) rounded
            dynamic_pj=anchor_pj if name == anchor else raw * scale * 1e-3,
            total_pj=sum(parts.values()) * scale * 1e-3,
            breakdown_pj={k: v * scale * 1e-3 for k, v in parts.items()},
            toggles_per_op=toggles,
            cells=cells,
            area_um2=area,
            leakage_mw=area * leak,
        )
    model = GateEnergyModel(scale=scale, anchor=anchor, anchor_pj=anchor_pj, references=refs, yosys=yosys_version(),
                            cost_version=COST_VERSION, data=data_fingerprint(), seed=seed, source=table["source"])
    write_cached(path, model.to_dict(), use_cache)
    return model


def reference_op_energy(name: str, model: GateEnergyModel | None = None) -> ReferenceOp:
    """Calibrated energy and area of one reference operation (``int8_add``, ``int8_mul``, ``int32_add``,
    ``int32_mul``): for example a vector lane's 32-bit ALU operation."""
    model = model or gate_energy_model()
    if name not in model.references:
        raise ValueError(f"unknown reference operation {name!r}; choose from {', '.join(model.references)}")
    return model.references[name]


def validation_table(model: GateEnergyModel | None = None):
    """pandas DataFrame: each reference operation's Horowitz energy, hwsim's prediction and their ratio.

    ``hwsim_pj`` is the operator's energy (the basis of the calibration); the anchor row equals Horowitz by
    construction, the other rows are measured, not tuned. ``registered_pj`` / ``registered_ratio`` show the whole
    registered test design (operand and result registers and their clock added) with the same scale.
    """
    import pandas as pd

    model = model or gate_energy_model()
    rows = []
    order = [n for n in REFERENCE_OPS if n in model.references] + sorted(set(model.references) - set(REFERENCE_OPS))
    for name in order:
        r = model.references[name]
        rows.append({
            "operation": name,
            "role": "anchor" if name == model.anchor else "validation",
            "horowitz_pj": r.horowitz_pj,
            "hwsim_pj": r.dynamic_pj,
            "ratio": r.dynamic_pj / r.horowitz_pj,
            "registered_pj": r.total_pj,
            "registered_ratio": r.total_pj / r.horowitz_pj,
            "gates": sum(n for t, n in r.cells.items() if t != DFF),
            "flip_flops": r.cells.get(DFF, 0),
            "toggles_per_op": r.toggles_per_op,
        })
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------------------
# MAC units
# ---------------------------------------------------------------------------------------------------------------


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


def _random_mac_streams(unit, activity: str, lanes: int, cycles: int, seed: int) -> dict[str, np.ndarray]:
    """Default activity: valid every cycle, a clear every `DOT_LENGTH` MACs (staggered over lanes), and uniformly
    random codes of the unit's formats ("random") or all-zero codes ("zero"). MSQ lanes alternate SP2/fixed rows."""
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


def mac_energy(unit, *, activity: str | Sequence = "random", use_cache: bool = True, seed: int = 0,
               model: GateEnergyModel | None = None) -> MacEnergy:
    """Energy per MAC, leakage and area of any `hwsim.mac` unit, from its synthesized RTL at gate level.

    ``activity``: ``"random"`` (default: valid every cycle, a clear every 64 MACs, uniform random codes of the
    unit's formats), ``"zero"`` (same timing, all-zero operands), or a stimulus: one sequence of
    `hwsim.mac.MacInputs` or one per lane. Energy is per valid input (per cycle if none is valid), over the
    cycles after a short warm-up. Cached on disk by unit kind, parameters, Yosys version, COST_VERSION, the data
    files and the activity.
    """
    if isinstance(activity, str):
        if activity not in ("random", "zero"):
            raise ValueError(f"activity must be 'random', 'zero' or a MacInputs stream, not {activity!r}")
        stim = _random_mac_streams(unit, activity, MAC_LANES, MAC_CYCLES, seed)
        described = activity
    else:
        stim = _stimulus_from_streams(unit, activity)
        digest = hashlib.sha256(b"".join(np.ascontiguousarray(stim[k]).tobytes() + k.encode()
                                         for k in sorted(stim))).hexdigest()[:16]
        described = f"stream:{digest}"
    cycles, lanes = stim["valid"].shape
    count_from = min(WARMUP, cycles - 1)
    key = {**_base_key(), "unit": unit.kind, "params": unit.params(), "activity": described, "cycles": cycles,
           "lanes": lanes, "seed": seed, "warmup": count_from}
    path = cache_path("energy", f"mac-{unit.kind}", key)
    use_cache_here = use_cache and model is None  # results of another calibration are not the cached ones
    cached = read_cached(path, use_cache_here)
    if cached is not None:
        try:
            return MacEnergy(**cached)
        except TypeError:
            pass
    model = model or gate_energy_model(use_cache=use_cache)
    netlist = mac_netlist(unit, use_cache=use_cache)
    sim = simulate_gates(netlist, stim, lanes=lanes, count_from=count_from, outputs=())
    macs = int(stim["valid"][count_from:].astype(bool).sum()) or sim.counted_cycles * lanes
    parts = {k: model.pj(v) / macs for k, v in raw_energy_fj(netlist, sim).items()}
    area = netlist_area_um2(netlist)
    result = MacEnergy(
        kind=unit.kind,
        params=unit.params(),
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
        extra={"cycles": cycles, "lanes": lanes, "warmup": count_from, "depth": netlist._program.depth},
    )
    write_cached(path, result.to_dict(), use_cache_here)
    return result


# ---------------------------------------------------------------------------------------------------------------
# Memories (Horowitz table with size scaling)
# ---------------------------------------------------------------------------------------------------------------


def _sram_anchors() -> tuple[np.ndarray, np.ndarray]:
    anchors = horowitz_table()["sram_64bit_read_pj"]
    sizes = sorted(anchors, key=float)
    return np.array([float(k) for k in sizes]), np.array([float(anchors[k]) for k in sizes])


def sram_read_energy_pj(kbytes: float, bits: int = 64) -> float:
    """Energy (pJ) of one ``bits``-wide read from an SRAM of ``kbytes`` KB, from Horowitz's three anchors.

    Per 64-bit read the energy is interpolated piecewise linearly in log(energy) against log(size) -- a power law
    between neighbouring anchors (exponent 0.5 from 8 to 32 KB, 0.46 from 32 KB to 1 MB) -- so it hits 8 KB
    10 pJ, 32 KB 20 pJ and 1 MB 100 pJ exactly. Below 8 KB and above 1 MB the nearest segment's exponent is
    extended. The access width scales the energy linearly (bits / 64): wordline and sense-amplifier energy
    per bit, which ignores the shared decoder (an approximation for widths far from 64).
    """
    if not kbytes > 0 or not bits > 0:
        raise ValueError(f"SRAM size and width must be positive, got {kbytes} KB, {bits} bits")
    kb, pj = _sram_anchors()
    lx, ly = np.log(kb), np.log(pj)
    x = math.log(kbytes)
    i = int(np.clip(np.searchsorted(lx, x) - 1, 0, len(lx) - 2))  # segment, extended at both ends
    slope = float((ly[i + 1] - ly[i]) / (lx[i + 1] - lx[i]))
    j = i if abs(x - lx[i]) <= abs(x - lx[i + 1]) else i + 1  # power law from the nearer end: anchors exact
    per64 = float(pj[j]) * (kbytes / float(kb[j])) ** slope
    return per64 * bits / 64.0


def sram_area_mm2(kbytes: float) -> float:
    """Area (mm^2) of a ``kbytes`` KB SRAM: bits x 45 nm 6T bitcell area / array efficiency (an estimate, see
    data/cells_45nm.yaml)."""
    if not kbytes > 0:
        raise ValueError(f"SRAM size must be positive, got {kbytes} KB")
    s = cell_table()["sram"]
    return kbytes * 1024 * 8 * float(s["bitcell_um2"]) / float(s["array_efficiency"]) * 1e-6


def dram_energy_pj_per_bit(bound: str | None = None) -> float:
    """DRAM access energy per bit (pJ) from Horowitz's 1.3-2.6 nJ per 64-bit access: ``"low"`` 20, ``"mid"`` 30
    (the default we take) or ``"high"`` 40 pJ/bit."""
    d = horowitz_table()["dram_pj_per_bit"]
    bound = bound or d["taken"]
    if bound not in ("low", "mid", "high"):
        raise ValueError(f"bound must be 'low', 'mid' or 'high', not {bound!r}")
    return float(d[bound])


__all__ = [
    "COST_VERSION",
    "REFERENCE_OPS",
    "GateEnergyModel",
    "MacEnergy",
    "ReferenceOp",
    "cell_table",
    "clock_energy_fj",
    "data_fingerprint",
    "dram_energy_pj_per_bit",
    "gate_energy_model",
    "horowitz_table",
    "leakage_mw",
    "leakage_w_per_mm2",
    "mac_energy",
    "net_energy_fj",
    "netlist_area_um2",
    "raw_energy_fj",
    "reference_netlist",
    "reference_op_energy",
    "sram_area_mm2",
    "sram_read_energy_pj",
    "validation_table",
]
