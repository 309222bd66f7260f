"""LUT-based logic (NullaNet): neurons of fan-in-constrained, activation-quantized networks as truth tables
(`truth_tables`, full or observed-pattern mode), checked by running the network through them (`lut_forward`),
with LogicNets' LUT-cost estimate (`lutcost`); ESPRESSO minimization with don't-cares and ABC LUT6 mapping
(`map_layer`, `map_network`), and the minimized logic run on inputs (`logic_forward`). A whole network as
hardware: `lut_design` (tables and covers; its Amaranth RTL and Verilog) and `lut_cost` (LUT6/FF/CARRY4 and depth
from synthesis, fmax estimate, gate-level energy per inference and area)."""

from ._logic import (
    LOGIC_VERSION,
    MAPPERS,
    MAX_MAPPED_INPUTS,
    LayerLogic,
    cover_eval,
    default_mapper,
    logic_forward,
    map_layer,
    map_network,
    mapper_version,
    minimize_layer,
    minimize_neuron,
)
from ._network import LEVEL_DELAY_NS, LutCost, LutDesign, LutLayerCost, design_inputs, fmax_mhz, lut_cost, lut_design
from ._tables import (
    LUT_MODES,
    MAX_FULL_INPUTS,
    MAX_OBSERVED_INPUTS,
    LayerTable,
    input_codes,
    lut_forward,
    lutcost,
    truth_tables,
)

__all__ = [
    "LEVEL_DELAY_NS",
    "LOGIC_VERSION",
    "LUT_MODES",
    "MAPPERS",
    "MAX_FULL_INPUTS",
    "MAX_MAPPED_INPUTS",
    "MAX_OBSERVED_INPUTS",
    "LayerLogic",
    "LayerTable",
    "LutCost",
    "LutDesign",
    "LutLayerCost",
    "cover_eval",
    "default_mapper",
    "design_inputs",
    "fmax_mhz",
    "input_codes",
    "logic_forward",
    "lut_cost",
    "lut_design",
    "lut_forward",
    "lutcost",
    "map_layer",
    "map_network",
    "mapper_version",
    "minimize_layer",
    "minimize_neuron",
    "truth_tables",
]
