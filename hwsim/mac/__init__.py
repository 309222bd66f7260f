"""Golden models of the MAC units: exact vectorised arithmetic and a cycle-accurate pipeline model.

Each kind is the single source of truth for both the simulator and the RTL tests.
"""

from ._pipeline import MacInputs, MacOutputs, MacPipeline
from ._stimulus import check_trace, corner_codes, exhaustive_stream, expected_outputs, first_mismatch, random_stream
from ._units import (
    LATENCY,
    MAC_KINDS,
    MAC_UNITS,
    OVERFLOW_MODES,
    FixedMac,
    MacUnit,
    MSQMac,
    PositFixpMac,
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
    "PositQuireMac",
    "SP2Mac",
    "check_trace",
    "corner_codes",
    "exhaustive_stream",
    "expected_outputs",
    "first_mismatch",
    "make_mac",
    "random_stream",
]
