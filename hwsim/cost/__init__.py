"""Area and energy: synthesis with a pinned Yosys, gate-level toggle simulation, and energy calibrated on
Horowitz's 45 nm table (docs/cost-model.md)."""

from ._energy import (
    COST_VERSION,
    REFERENCE_OPS,
    GateEnergyModel,
    MacEnergy,
    ReferenceOp,
    dram_energy_pj_per_bit,
    gate_energy_model,
    leakage_w_per_mm2,
    mac_energy,
    reference_op_energy,
    sram_area_mm2,
    sram_read_energy_pj,
    validation_table,
)
from ._gates import GateNetlist, GateSim, check_mac_netlist, mac_netlist, simulate_gates, synthesize_netlist
from ._synth import FLOW_VERSION, AreaReport, cache_dir, mac_area, synthesize_verilog, yosys_version
from ._tables import CostTables, cost_tables, op_energy_pj

__all__ = [
    "COST_VERSION",
    "FLOW_VERSION",
    "REFERENCE_OPS",
    "AreaReport",
    "CostTables",
    "GateEnergyModel",
    "GateNetlist",
    "GateSim",
    "MacEnergy",
    "ReferenceOp",
    "cache_dir",
    "check_mac_netlist",
    "cost_tables",
    "dram_energy_pj_per_bit",
    "gate_energy_model",
    "leakage_w_per_mm2",
    "mac_area",
    "mac_energy",
    "mac_netlist",
    "op_energy_pj",
    "reference_op_energy",
    "simulate_gates",
    "sram_area_mm2",
    "sram_read_energy_pj",
    "synthesize_netlist",
    "synthesize_verilog",
    "validation_table",
    "yosys_version",
]
