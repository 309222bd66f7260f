"""Bit-exact number formats: fixed point, SP2, posits, and the MSQ per-row SP2/fixed assignment.

Every format is an immutable, hashable object with ``values()``, ``encode``, ``decode`` and ``quantize``,
vectorised over numpy arrays. Codes are the unsigned bit patterns the hardware stores.
"""

from ._base import NumberFormat
from ._fixed import Fixed
from ._msq import msq_assign, msq_row_errors
from ._posit import Posit, PositFields, round_scaled_int
from ._sp2 import SP2, SP2Terms
from ._spec import FORMAT_KINDS, parse_format

__all__ = [
    "FORMAT_KINDS",
    "SP2",
    "Fixed",
    "NumberFormat",
    "Posit",
    "PositFields",
    "SP2Terms",
    "msq_assign",
    "msq_row_errors",
    "parse_format",
    "round_scaled_int",
]
