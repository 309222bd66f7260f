"""Which number formats a MAC unit runs, and the exact code conversion into its ports.

A layer's weight format runs on a MAC mode when every code of the format maps to a code of the port whose
value is the same up to one power of two (absorbed by the row's scale): a narrower fixed-point code is
sign-extended, a narrower posit<n, es> code gets zero bits appended (posit<n, es> values are a subset of
posit<m, es>'s for m > n), an SP2 code must be the MAC's own SP2 format. Activations are fixed point: a signed
B-bit code needs an activation port of B bits, an unsigned one B + 1 (the ports are two's complement).

`RULES` holds one entry per MAC kind; a kind without an entry runs nothing, so a new MAC kind must say here
what it runs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..formats import SP2, Fixed, NumberFormat, Posit
from ._units import MacUnit

# A rule: (unit, format) -> [(mode, port format)] of the unit's modes that read the format's codes exactly.
Rule = Callable[[MacUnit, NumberFormat], list[tuple[int, NumberFormat]]]


def _fixed_port(fmt: NumberFormat, bits: int, port: NumberFormat) -> bool:
    return isinstance(fmt, Fixed) and fmt.signed and fmt.bits <= bits and isinstance(port, Fixed)


def _posit_port(fmt: NumberFormat, port: Posit) -> bool:
    return isinstance(fmt, Posit) and fmt.es == port.es and fmt.n <= port.n


def _fixed_rule(u, f):
    return [(0, u.w_format)] if _fixed_port(f, u.w_bits, u.w_format) else []


def _sp2_rule(u, f):
    return [(0, u.w_format)] if isinstance(f, SP2) and f == u.w_format else []


def _msq_rule(u, f):
    if isinstance(f, SP2):
        return [(1, u.w_format)] if f == u.w_format else []
    return [(0, u.fixed_format)] if _fixed_port(f, u.w_bits, u.fixed_format) else []


def _posit_rule(u, f):
    return [(0, u.w_format)] if _posit_port(f, u.w_format) else []


def _posit_or_fixed_rule(u, f):
    if isinstance(f, Posit):
        return [(1, u.w_format)] if _posit_port(f, u.w_format) else []
    return [(0, u.fixed_format)] if _fixed_port(f, u.fixed_format.bits, u.fixed_format) else []


RULES: dict[str, Rule] = {
    "fixed": _fixed_rule,
    "sp2": _sp2_rule,
    "msq": _msq_rule,
    "posit_fixp": _posit_rule,
    "posit_quire": _posit_rule,
    "posit_or_fixed": _posit_or_fixed_rule,
}


def weight_mode(unit: MacUnit, fmt: NumberFormat) -> int | None:
    """The mode of ``unit`` that reads weight codes of ``fmt`` exactly (0 for kinds without modes), or None."""
    rule = RULES.get(unit.kind)
    if rule is None:
        return None
    modes = rule(unit, fmt)
    return modes[0][0] if modes else None


def act_port_bits(fmt: Fixed) -> int:
    """Bits a two's-complement activation port needs for ``fmt``'s codes (an unsigned code needs a sign bit)."""
    return fmt.bits if fmt.signed else fmt.bits + 1


def act_fits(unit: MacUnit, fmt: Fixed) -> bool:
    """Whether ``unit``'s activation port takes ``fmt``'s codes exactly (fixed-point ports only)."""
    port = unit.x_format
    return isinstance(port, Fixed) and isinstance(fmt, Fixed) and act_port_bits(fmt) <= port.bits


def to_port_codes(unit: MacUnit, fmt: NumberFormat, codes) -> tuple[np.ndarray, int, int]:
    """Weight codes of ``fmt`` as codes of ``unit``'s weight port: (port codes, mode, shift) with
    ``port value == fmt value * 2**shift`` for every code, exactly. ValueError when no mode reads ``fmt``."""
    rule = RULES.get(unit.kind)
    modes = rule(unit, fmt) if rule else []
    if not modes:
        raise ValueError(f"the {unit.kind} MAC ({unit.name}) cannot run {fmt.name} weights")
    mode, port = modes[0]
    c = np.asarray(codes, dtype=np.int64)
    if isinstance(fmt, Fixed):  # sign-extend into the port's width: the integer is unchanged
        ints = np.where(c >= 1 << (fmt.bits - 1), c - (1 << fmt.bits), c)
        return ints & ((1 << unit.w_bits) - 1), mode, fmt.frac - port.frac
    if isinstance(fmt, Posit):  # append zero bits: posit<n, es> c and posit<m, es> c << (m - n) are one value
        return c << (port.n - fmt.n), mode, 0
    return c.copy(), mode, 0


def act_to_port_codes(unit: MacUnit, fmt: Fixed, codes) -> tuple[np.ndarray, int]:
    """Activation codes of ``fmt`` as ``unit``'s x-port codes: (port codes, shift), port value = value * 2**shift."""
    if not act_fits(unit, fmt):
        raise ValueError(f"the {unit.kind} MAC's activation port ({unit.x_format.name}) cannot take {fmt.name}")
    c = np.asarray(codes, dtype=np.int64)
    ints = np.where(c >= 1 << (fmt.bits - 1), c - (1 << fmt.bits), c) if fmt.signed else c
    return ints & ((1 << unit.x_bits) - 1), fmt.frac
