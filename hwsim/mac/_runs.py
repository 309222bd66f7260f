"""Which number formats a MAC unit runs, and the exact code conversion into its ports.

A layer's weight format runs on a MAC mode when every code of the format maps to a code of the port whose
value is the same up to one power of two (absorbed by the row's scale): a narrower fixed-point code is
sign-extended, a narrower posit<n, es> code gets zero bits appended (posit<n, es> values are a subset of
posit<m, es>'s for m > n), an SP2 code must be the MAC's own SP2 format. Activations are fixed point: a signed
B-bit code needs an activation port of B bits, an unsigned one B + 1 (the ports are two's complement).

Each MAC kind says what it reads in one method, `MacUnit.reads`; a new kind cannot be built without it.
"""

from __future__ import annotations

import numpy as np

from ..formats import Fixed, NumberFormat, Posit
from ._units import MacUnit


def weight_mode(unit: MacUnit, fmt: NumberFormat) -> int | None:
    """The mode of ``unit`` that reads weight codes of ``fmt`` exactly (0 for kinds without modes), or None."""
    modes = unit.reads(fmt)
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
    modes = unit.reads(fmt)
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


def weight_port_codes(unit: MacUnit, codes, main: NumberFormat, alt: NumberFormat | None = None, modes=None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A layer's (K, N) weight codes as ``unit``'s weight-port codes, column by column (a GEMM output column is
    one weight row): ``(port codes (K, N), MAC mode per column, shift per column)`` with port value = format
    value * 2**shift. ``modes`` (N,) picks ``main`` (1) or ``alt`` (0) per column for mixed schemes."""
    c = np.asarray(codes, dtype=np.int64)
    n = c.shape[1]
    use_main = np.ones(n, dtype=bool) if modes is None else np.asarray(modes).astype(bool)
    if use_main.shape != (n,):
        raise ValueError(f"modes must hold one entry per column ({n}), not shape {use_main.shape}")
    if alt is None and not use_main.all():
        raise ValueError("columns in mode 0 need the scheme's second format")
    port = np.zeros(c.shape, dtype=np.int64)
    mac_modes = np.zeros(n, dtype=np.int64)
    shift = np.zeros(n, dtype=np.int64)
    for fmt, sel in ((main, use_main), (alt, ~use_main)):
        if sel.any():
            port[:, sel], mode, s = to_port_codes(unit, fmt, c[:, sel])
            mac_modes[sel], shift[sel] = mode, s
    return port, mac_modes, shift
