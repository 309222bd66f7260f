"""Pricing: action counts x the ERT, leakage power x time, and the sums by component. Pure functions, and the
only place a simulation's energy is computed.

Reports group the components' energies: ``mac`` (the PE array), ``sram`` (the three buffers), ``dram``,
``vector`` and ``leakage`` (`ENERGY_COMPONENTS`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from ..sim import ActionCounts
from ._tables import CostTables

# Report group of each ERT component: every component of `hwsim.sim.ACTIONS` has one (tests/test_cost.py).
ENERGY_GROUP: Mapping[str, str] = MappingProxyType({
    "pe_array": "mac", "weight_sram": "sram", "act_sram": "sram", "out_sram": "sram", "dram": "dram",
    "vector": "vector",
})
ENERGY_COMPONENTS = ("mac", "sram", "dram", "vector", "leakage")


@dataclass(frozen=True, slots=True)
class EnergyBreakdown:
    """Energy by report component (`ENERGY_COMPONENTS`, in that order) in one unit: pJ for an op
    (`op_energy_pj`), J for a whole run (`total_energy_j`). ``total`` is the sum of the components."""

    by_component: Mapping[str, float]

    def __post_init__(self) -> None:
        if tuple(self.by_component) != ENERGY_COMPONENTS:
            raise ValueError(f"components must be {ENERGY_COMPONENTS}, not {tuple(self.by_component)}")
        object.__setattr__(self, "by_component", MappingProxyType(dict(self.by_component)))

    @property
    def total(self) -> float:
        return sum(self.by_component.values())


def action_energy_pj(counts: ActionCounts, tables: CostTables) -> dict[tuple[str, str], float]:
    """Dynamic energy of each counted action (pJ): its count x the table's entry. An action the table has no
    entry for raises ValueError naming it (it is never priced at 0 pJ)."""
    missing = [key for key in counts if key not in tables.energy_pj]
    if missing:
        names = ", ".join(".".join(k) for k in missing)
        raise ValueError(f"the energy table has no entry for {names}; it prices "
                         f"{', '.join('.'.join(k) for k in tables.energy_pj) or 'nothing'}")
    return {key: n * tables.energy_pj[key] for key, n in counts.items()}


def dynamic_energy_pj(counts: ActionCounts, tables: CostTables) -> dict[str, float]:
    """Dynamic energy (pJ) by report group (mac, sram, dram, vector): the per-action energies summed in
    `hwsim.sim.ACTIONS` order."""
    groups = dict.fromkeys(ENERGY_COMPONENTS[:-1], 0.0)
    for (component, _), pj in action_energy_pj(counts, tables).items():
        groups[ENERGY_GROUP[component]] += pj
    return groups


def leakage_energy_pj(tables: CostTables, cycles: int, clock_mhz: float) -> float:
    """Static energy (pJ) of the whole accelerator over ``cycles`` at ``clock_mhz``: leakage power x time."""
    seconds_per_cycle = 1 / (clock_mhz * 1e6)
    return tables.leakage_w * cycles * seconds_per_cycle * 1e12


def op_energy_pj(counts: ActionCounts, cycles: int, tables: CostTables, clock_mhz: float) -> EnergyBreakdown:
    """Energy of one op (pJ): its action counts x the ERT, plus leakage over its ``cycles``."""
    return EnergyBreakdown({**dynamic_energy_pj(counts, tables), "leakage": leakage_energy_pj(tables, cycles,
                                                                                              clock_mhz)})


def total_energy_j(ops: Iterable[EnergyBreakdown]) -> EnergyBreakdown:
    """Energy of a sequence of ops (J), component by component (numpy's pairwise sum over the ops)."""
    rows = [op.by_component for op in ops]
    return EnergyBreakdown({k: float(np.sum(np.array([r[k] for r in rows], dtype=np.float64))) * 1e-12
                            for k in ENERGY_COMPONENTS})
