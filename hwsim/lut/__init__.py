"""LUT-based logic (NullaNet): neurons of fan-in-constrained, activation-quantized networks as truth tables
(`truth_tables`, full or observed-pattern mode), checked by running the network through them (`lut_forward`),
with LogicNets' LUT-cost estimate (`lutcost`); ESPRESSO minimization with don't-cares and ABC LUT6 mapping
(`map_layer`, `map_network`), and the minimized logic run on inputs (`logic_forward`). RTL, timing and energy
of the LUT networks build on these."""

from ._logic import (
    LOGIC_VERSION,
    MAX_MAPPED_INPUTS,
    LayerLogic,
    cover_eval,
    logic_forward,
    map_layer,
    map_network,
    minimize_neuron,
)
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

__all__ = ["LOGIC_VERSION", "LUT_MODES", "MAX_FULL_INPUTS", "MAX_MAPPED_INPUTS", "MAX_OBSERVED_INPUTS",
           "LayerLogic", "LayerTable", "cover_eval", "input_codes", "logic_forward", "lut_forward", "lutcost",
           "map_layer", "map_network", "minimize_neuron", "truth_tables"]
