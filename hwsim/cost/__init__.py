"""Area and energy: synthesis with a pinned Yosys, gate-level toggle simulation, energy calibrated on Horowitz's
45 nm table, and the ERT/ART of an accelerator that prices the simulator's action counts (docs/cost-model.md)."""

from .._util import cache_dir
from ._area import AreaReport, mac_area, synthesize_verilog
from ._calibration import (
    COST_VERSION,
    REFERENCE_OPS,
    GateEnergyModel,
    ReferenceOp,
    gate_energy_model,
    reference_netlist,
    reference_op_energy,
    validation_table,
)
from ._cells import leakage_w_per_mm2
from ._data import cell_table, horowitz_table
from ._engine_area import ENGINE_DEPTHS, EngineArea, default_engine_depths, engine_area
from ._engine_overhead import engine_overhead
from ._gatesim import GateSim, simulate_gates
from ._layer_energy import layer_mac_energy, layer_mac_stimulus
from ._mac_energy import MacEnergy, mac_energy
from ._mac_gates import check_mac_netlist
from ._memory import dram_energy_pj_per_bit, sram_area_mm2, sram_read_energy_pj
from ._netlist import CELL_PINS, CELL_TYPES, DFF, GateNetlist
from ._pricing import (
    ENERGY_COMPONENTS,
    ENERGY_GROUP,
    EnergyBreakdown,
    action_energy_pj,
    dynamic_energy_pj,
    leakage_energy_pj,
    op_energy_pj,
    total_energy_j,
)
from ._synthesis import mac_netlist, synthesize_netlist
from ._tables import CostTables, cost_tables
from ._yosys import FLOW_VERSION, yosys_version

__all__ = [
    "CELL_PINS",
    "CELL_TYPES",
    "COST_VERSION",
    "DFF",
    "ENERGY_COMPONENTS",
    "ENERGY_GROUP",
    "ENGINE_DEPTHS",
    "FLOW_VERSION",
    "REFERENCE_OPS",
    "AreaReport",
    "CostTables",
    "EnergyBreakdown",
    "EngineArea",
    "GateEnergyModel",
    "GateNetlist",
    "GateSim",
    "MacEnergy",
    "ReferenceOp",
    "action_energy_pj",
    "cache_dir",
    "cell_table",
    "check_mac_netlist",
    "cost_tables",
    "default_engine_depths",
    "dram_energy_pj_per_bit",
    "dynamic_energy_pj",
    "engine_area",
    "engine_overhead",
    "gate_energy_model",
    "horowitz_table",
    "layer_mac_energy",
    "layer_mac_stimulus",
    "leakage_energy_pj",
    "leakage_w_per_mm2",
    "mac_area",
    "mac_energy",
    "mac_netlist",
    "op_energy_pj",
    "reference_netlist",
    "reference_op_energy",
    "simulate_gates",
    "sram_area_mm2",
    "sram_read_energy_pj",
    "synthesize_netlist",
    "synthesize_verilog",
    "total_energy_j",
    "validation_table",
    "yosys_version",
]
