"""Golden models of the MAC units: exact vectorised arithmetic and a cycle-accurate pipeline model.

Each kind is the single source of truth for both the simulator and the RTL tests.
"""

from ._arith import dot_saturate, dot_wrap, int_dtype, saturate, wrap
from ._pipeline import MacInputs, MacOutputs, MacPipeline
from ._runs import act_fits, act_port_bits, act_to_port_codes, to_port_codes, weight_mode, weight_port_codes
from ._stimulus import (
    corner_codes,
    exhaustive_stream,
    expected_outputs,
    first_mismatch,
    random_stream,
    weight_corner_codes,
)
from ._units import (
    LATENCY,
    MAC_KINDS,
    MAC_UNITS,
    OVERFLOW_MODES,
    FixedMac,
    MacUnit,
    MSQMac,
    PositFixpMac,
    PositOrFixedMac,
    PositQuireMac,
    SP2Mac,
    make_mac,
)

__all__ = [
    "LATENCY",
    "MAC_KINDS",
    "MAC_UNITS",
    "OVERFLOW_MODES",
    "FixedMac",
    "MSQMac",
    "MacInputs",
    "MacOutputs",
    "MacPipeline",
    "MacUnit",
    "PositFixpMac",
    "PositOrFixedMac",
    "PositQuireMac",
    "SP2Mac",
    "act_fits",
    "act_port_bits",
    "act_to_port_codes",
    "corner_codes",
    "dot_saturate",
    "dot_wrap",
    "exhaustive_stream",
    "expected_outputs",
    "first_mismatch",
    "int_dtype",
    "make_mac",
    "random_stream",
    "saturate",
    "to_port_codes",
    "weight_corner_codes",
    "weight_mode",
    "weight_port_codes",
    "wrap",
]
