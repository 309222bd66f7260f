"""Bit-exact number formats: fixed point, SP2, posits, and the MSQ per-row SP2/fixed assignment,
and the weight quantization schemes built from them (`QuantSpec`, `SCHEMES`).

Every format is an immutable, hashable object with ``values()``, ``encode``, ``decode`` and ``quantize``,
vectorised over numpy arrays. Codes are the unsigned bit patterns the hardware stores.
"""

from ._base import NumberFormat
from ._fixed import Fixed
from ._msq import msq_assign, msq_row_errors
from ._posit import Posit, PositFields, round_scaled_int
from ._registry import Registry
from ._schemes import QUANT_SCHEMES, SCHEMES, QuantSpec, SchemeKind, fixed_weights, parse_quant
from ._sp2 import SP2, SP2Terms
from ._spec import FORMAT_KINDS, FORMATS, FormatKind, format_spec, parse_format, spec_number

__all__ = [
    "FORMATS",
    "FORMAT_KINDS",
    "QUANT_SCHEMES",
    "SCHEMES",
    "SP2",
    "Fixed",
    "FormatKind",
    "NumberFormat",
    "Posit",
    "PositFields",
    "QuantSpec",
    "Registry",
    "SP2Terms",
    "SchemeKind",
    "fixed_weights",
    "format_spec",
    "msq_assign",
    "msq_row_errors",
    "parse_format",
    "parse_quant",
    "round_scaled_int",
    "spec_number",
]
