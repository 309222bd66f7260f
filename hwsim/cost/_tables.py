"""ERT and ART for one accelerator: energy per action and area per component (Accelergy's idea).

Energy = action counts x this table, a pure function; nothing here keeps global state. The MAC entry comes from
the project's own RTL (gate-level toggles of the synthesized MAC, calibrated on one Horowitz anchor: see
docs/cost-model.md); SRAM and DRAM entries from the Horowitz 45 nm table with size scaling.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..arch import AcceleratorConfig


@dataclass(frozen=True)
class CostTables:
    """ERT (pJ per action) and ART (mm^2 per component) of one accelerator config."""

    mac_pj: float  # dynamic energy of one MAC in a PE
    sram_pj: dict[str, float]  # per access of sram_width_bits, by buffer (reads and writes alike)
    dram_pj_per_byte: float
    vector_pj: float  # one vector-unit element-cycle
    area_mm2: dict[str, float]  # pe_array, weight_sram, act_sram, out_sram, vector
    leakage_w: float  # static power of the whole accelerator
    sources: dict[str, str]

    @property
    def total_area_mm2(self) -> float:
        return sum(self.area_mm2.values())


def cost_tables(cfg: AcceleratorConfig) -> CostTables:
    """Build the ERT/ART of ``cfg`` (MAC entries synthesized and simulated once, then cached on disk)."""
    from ._energy import (
        dram_energy_pj_per_bit,
        leakage_w_per_mm2,
        mac_energy,
        reference_op_energy,
        sram_area_mm2,
        sram_read_energy_pj,
    )

    mem = cfg.memory
    unit = cfg.array.mac.unit
    pes = cfg.array.rows * cfg.array.cols
    mac = mac_energy(unit)
    buffers = {"weight_sram": mem.weight_sram_kb, "act_sram": mem.act_sram_kb, "out_sram": mem.out_sram_kb}
    sram_pj = {name: sram_read_energy_pj(kb, mem.sram_width_bits) for name, kb in buffers.items()}
    alu = reference_op_energy("int32_add")  # a vector lane's element-cycle: one 32-bit ALU operation
    area = {"pe_array": pes * mac.area_um2 * 1e-6}
    area.update({name: sram_area_mm2(kb) for name, kb in buffers.items()})
    area["vector"] = cfg.vector.lanes * alu.area_um2 * 1e-6
    return CostTables(
        mac_pj=mac.dynamic_pj_per_mac,
        sram_pj=sram_pj,
        dram_pj_per_byte=8 * dram_energy_pj_per_bit(),
        vector_pj=alu.dynamic_pj,
        area_mm2=area,
        leakage_w=sum(area.values()) * leakage_w_per_mm2(),
        sources={
            "mac": f"gate-level toggles of the synthesized {unit.kind} MAC, calibrated on Horowitz int8 multiply",
            "sram": "Horowitz ISSCC 2014, 45 nm: 64-bit read 8 KB 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ (log-size interp.)",
            "dram": "Horowitz ISSCC 2014, 45 nm DRAM access energy",
            "vector": "one 32-bit add per element-cycle (synthesized reference adder, calibrated)",
        },
    )


def op_energy_pj(counts: dict[str, float], macs: float, tables: CostTables) -> dict[str, float]:
    """Dynamic energy of one op by component (pJ): counts x the table."""
    sram = sum(counts.get(f"{b}_reads", 0.0) * pj for b, pj in tables.sram_pj.items())
    sram += counts.get("weight_sram_writes", 0.0) * tables.sram_pj["weight_sram"]
    sram += counts.get("act_sram_writes", 0.0) * tables.sram_pj["act_sram"]
    sram += counts.get("out_sram_writes", 0.0) * tables.sram_pj["out_sram"]
    return {
        "mac": macs * tables.mac_pj,
        "sram": sram,
        "dram": (counts.get("dram_read_bytes", 0.0) + counts.get("dram_write_bytes", 0.0)) * tables.dram_pj_per_byte,
        "vector": counts.get("vector_ops", 0.0) * tables.vector_pj,
    }
