"""Gate-level energy and area from the 45 nm cell table: counts x an explicit table, per net and per flip-flop.

Energy of one toggle of a net (uncalibrated, fJ at the library's 1.1 V) = the driver's internal energy + 1/2 V^2
(the sinks' input-pin capacitance + the wire-load capacitance for its fanout); every flip-flop also pays a clock
energy every cycle. Area = cells x X1 cell areas; leakage = area x a leakage density. The calibration
(`hwsim.cost.gate_energy_model`) maps these library estimates onto Horowitz's table.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._data import CELLS, data_view
from ._gatesim import GateSim
from ._netlist import DFF, GateNetlist


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
    cells = data_view(CELLS) if cells is None else cells
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
    cells = data_view(CELLS) if cells is None else cells
    dff = cells["cells"][DFF]
    return float(dff["clock_internal_fj_per_cycle"]) + float(dff["pin_cap_ff"]["C"]) * float(cells["voltage_v"]) ** 2


def netlist_area_um2(netlist: GateNetlist, cells: Mapping | None = None) -> float:
    """Cell area: cells x the table's X1 cell areas (no wiring or utilisation overhead)."""
    lib = (data_view(CELLS) if cells is None else cells)["cells"]
    return float(sum(n * float(lib[t]["area_um2"]) for t, n in netlist.cell_counts().items()))


def leakage_w_per_mm2() -> float:
    """Leakage power density of the cell table (W/mm^2); an estimate, see data/cells_45nm.yaml."""
    return float(data_view(CELLS)["leakage_nw_per_um2"]) * 1e-9 * 1e6


def leakage_mw(area_um2: float) -> float:
    """Leakage power (mW) of ``area_um2`` of standard cells."""
    return area_um2 * float(data_view(CELLS)["leakage_nw_per_um2"]) * 1e-6


def raw_energy_fj(netlist: GateNetlist, sim: GateSim, cells: Mapping | None = None) -> dict[str, float]:
    """Uncalibrated energy (fJ) of a simulation, summed over its counted cycles and lanes, by component:
    ``logic`` (combinational cells), ``flip_flops`` (register outputs toggling), ``clock`` (every flip-flop, every
    cycle) and ``inputs`` (the load on the input-port nets)."""
    cells = data_view(CELLS) if cells is None else cells
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
