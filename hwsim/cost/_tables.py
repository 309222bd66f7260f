"""ERT and ART for one accelerator: energy per action and area per component (Accelergy's idea).

The ERT is keyed by the simulator's (component, action) pairs (`hwsim.sim.ACTIONS`), so pricing is counts x this
table (`hwsim.cost.op_energy_pj`), a pure function; nothing here keeps global state. The MAC entry comes from
the project's own RTL (gate-level toggles of the synthesized MAC, calibrated on one Horowitz anchor: see
docs/cost-model.md); SRAM and DRAM entries from the Horowitz 45 nm table with size scaling.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real
from types import MappingProxyType

from ..arch import AcceleratorConfig
from ..sim import check_action

# the components an accelerator's area is the sum of (`cost_tables` prices each)
AREA_COMPONENTS = ("pe_array", "weight_sram", "act_sram", "out_sram", "vector")


@dataclass(frozen=True, slots=True, kw_only=True)
class CostTables:
    """ERT (pJ per action) and ART (mm^2 per component) of one accelerator config.

    ``energy_pj`` is keyed by (component, action) pairs of `hwsim.sim.ACTIONS`: a key outside them raises
    ValueError naming it, and every entry must be finite and >= 0. A table may leave actions out; pricing a
    count of an action the table lacks is an error, never 0 pJ.
    """

    energy_pj: Mapping[tuple[str, str], float]
    area_mm2: Mapping[str, float]  # AREA_COMPONENTS
    leakage_w: float  # static power of the whole accelerator
    sources: Mapping[str, str]

    def __post_init__(self) -> None:
        ert = {}
        for key, pj in dict(self.energy_pj).items():
            check_action(key)
            if isinstance(pj, bool) or not isinstance(pj, Real) or not math.isfinite(pj) or pj < 0:
                raise ValueError(f"energy of {'.'.join(key)} must be a finite number of pJ >= 0, not {pj!r}")
            ert[key] = float(pj)
        if not math.isfinite(self.leakage_w) or self.leakage_w < 0:
            raise ValueError(f"leakage_w must be finite and >= 0, not {self.leakage_w!r}")
        object.__setattr__(self, "energy_pj", MappingProxyType(ert))
        object.__setattr__(self, "area_mm2", MappingProxyType(dict(self.area_mm2)))
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))

    @property
    def total_area_mm2(self) -> float:
        return sum(self.area_mm2.values())


def cost_tables(cfg: AcceleratorConfig) -> CostTables:
    """Build the ERT/ART of ``cfg`` (MAC entries synthesized and simulated once, then cached on disk)."""
    from ._calibration import reference_op_energy
    from ._cells import leakage_w_per_mm2
    from ._engine_overhead import engine_overhead
    from ._mac_energy import mac_energy
    from ._memory import dram_energy_pj_per_bit, sram_area_mm2, sram_read_energy_pj

    mem = cfg.memory
    unit = cfg.array.mac.unit
    pes = cfg.array.rows * cfg.array.cols
    nm_group = cfg.array.nm_group
    mac = mac_energy(unit, nm_group=nm_group)  # an N:M engine's PE is the MAC behind its activation mux
    buffers = {"weight_sram": mem.weight_sram_kb, "act_sram": mem.act_sram_kb, "out_sram": mem.out_sram_kb}
    alu = reference_op_energy("int32_add")  # a vector lane's element-cycle: one 32-bit ALU operation
    ert = {("pe_array", "mac"): mac.dynamic_pj_per_mac}
    for name, kb in buffers.items():
        pj = sram_read_energy_pj(kb, mem.sram_width_bits)  # per access of sram_width_bits, reads and writes alike
        ert[name, "read"] = ert[name, "write"] = pj
    ert["dram", "read_bytes"] = ert["dram", "write_bytes"] = 8 * dram_energy_pj_per_bit()
    ert["vector", "element_cycle"] = alu.dynamic_pj
    # the PEs and the engine logic around them (skew and inter-PE registers, issuer, drain), calibrated from the
    # synthesized engine (data/engine_overhead.yaml)
    overhead = engine_overhead(cfg.array.dataflow, pes, nm_group)
    area = {"pe_array": pes * mac.area_um2 * overhead * 1e-6}
    area.update({name: sram_area_mm2(kb) for name, kb in buffers.items()})
    area["vector"] = cfg.vector.lanes * alu.area_um2 * 1e-6
    return CostTables(
        energy_pj=ert,
        area_mm2=area,
        leakage_w=sum(area.values()) * leakage_w_per_mm2(),
        sources={
            "mac": f"gate-level toggles of the synthesized {unit.kind} MAC"
                   + (f" behind its {nm_group}:1 N:M activation mux" if nm_group > 1 else "")
                   + ", calibrated on Horowitz int8 multiply",
            "sram": "Horowitz ISSCC 2014, 45 nm: 64-bit read 8 KB 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ (log-size interp.)",
            "dram": "Horowitz ISSCC 2014, 45 nm DRAM access energy",
            "vector": "one 32-bit add per element-cycle (synthesized reference adder, calibrated)",
            "pe_array_area": f"PEs x the synthesized PE's cell area x {overhead:.3f}, the engine logic around them "
                             "(fitted to the synthesized engine: data/engine_overhead.yaml)",
        },
    )
