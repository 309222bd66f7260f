"""MAC units at gate level: port arrays from `hwsim.mac.MacInputs` streams, `hwsim.mac.MacOutputs` read back
from a gate simulation, and the check of a MAC's synthesized netlist against its golden model.

`check_mac_netlist` replays random streams through the netlist and compares ``acc`` (``nar``, ``out``) with
`hwsim.mac.expected_outputs` bit for bit: that checks both the gate simulator and the synthesized netlist
against the golden model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._gatesim import GateSim, simulate_gates
from ._netlist import GateNetlist
from ._synthesis import mac_netlist


def mac_stimulus(unit, streams: Sequence[Sequence]) -> dict[str, np.ndarray]:
    """Port arrays (cycles, lanes) from one `hwsim.mac.MacInputs` stream per lane (all of the same length)."""
    if not streams:
        raise ValueError("need at least one stream")
    n = {len(s) for s in streams}
    if len(n) != 1:
        raise ValueError(f"streams must have equal lengths, got {sorted(n)}")
    names = ["valid", "clear", "w", "x", *(["mode"] if unit.has_mode else [])]
    return {p: np.array([[getattr(i, p) for i in s] for s in streams], dtype=np.int64).T for p in names}


def _signed(values: np.ndarray, bits: int) -> np.ndarray:
    """Two's complement reading of unsigned values (int64 or object arrays)."""
    if values.dtype == object:
        half = 1 << (bits - 1)
        return np.array([[x - (1 << bits) if x >= half else x for x in row] for row in values], dtype=object)
    return np.where(values >= (1 << (bits - 1)), values - (1 << bits), values)


def mac_gate_outputs(unit, sim: GateSim) -> list[list]:
    """Per lane, the `hwsim.mac.MacOutputs` of every cycle read from a gate simulation of a MAC netlist."""
    from ..mac import MacOutputs

    acc = _signed(sim.outputs["acc"], unit.acc_bits)
    nar = sim.outputs["nar"] if unit.has_nar else np.zeros_like(acc, dtype=np.int64)
    out = sim.outputs["out"] if unit.has_readout else acc
    return [[MacOutputs(int(acc[t, lane]), int(nar[t, lane]), int(out[t, lane])) for t in range(sim.cycles)]
            for lane in range(sim.lanes)]


def check_mac_netlist(unit, netlist: GateNetlist | None = None, *, lanes: int = 64, cycles: int = 200,
                      seed: int = 0) -> GateSim:
    """Simulate ``lanes`` random streams (`hwsim.mac.random_stream`: valid gaps, clears, overflow bursts, NaR)
    through the MAC's gate netlist and raise AssertionError at the first output that differs from the golden
    model (`hwsim.mac.first_mismatch`: cycle, inputs, expected, got). Returns the simulation."""
    from ..mac import first_mismatch, random_stream

    netlist = netlist or mac_netlist(unit)
    streams = [random_stream(unit, cycles, seed * 100_003 + lane) for lane in range(lanes)]
    sim = simulate_gates(netlist, mac_stimulus(unit, streams), lanes=lanes)
    for lane, (stream, got) in enumerate(zip(streams, mac_gate_outputs(unit, sim), strict=True)):
        report = first_mismatch(unit, stream, got)
        if report:
            raise AssertionError(f"gate netlist, lane {lane}: {report}")
    return sim
