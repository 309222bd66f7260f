"""Golden models of the MAC units: what one product is, exactly, and how the accumulator adds it.

Every kind multiplies a weight code by an activation code and accumulates an exact integer. The accumulator
holds ``sum(w_value * x_value) * 2**acc_frac_bits``: products are shifted so that the smallest one any
code pair can make is a whole number of accumulator LSBs, and nothing is ever rounded until read-out.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from .._util import as_code_array, check_int
from ..formats import SP2, Fixed, NumberFormat, Posit, Registry, round_scaled_int
from ..formats._sp2 import _MAX_FIELD as SP2_MAX_FIELD
from ._arith import dot_saturate, dot_wrap, int_dtype, saturate, wrap

OVERFLOW_MODES = ("wrap", "saturate")
# Accumulator headroom over one product when acc_bits is not given: 2**8 worst-case products.
DEFAULT_GUARD_BITS = 8
# Pipeline depth from an input to the accumulator output: a product register, then the accumulator.
LATENCY = 2


def _narrower_signed_fixed(fmt: NumberFormat, bits: int) -> bool:
    return isinstance(fmt, Fixed) and fmt.signed and fmt.bits <= bits


def _nested_posit(fmt: NumberFormat, port: Posit) -> bool:
    return isinstance(fmt, Posit) and fmt.es == port.es and fmt.n <= port.n


@dataclass(frozen=True, slots=True, kw_only=True)
class MacUnit(ABC):
    """Common parameters and behaviour of a MAC unit; subclasses define the product.

    ``acc_bits`` defaults to one product plus 8 guard bits; narrower than one product is an error.
    ``overflow`` is what the accumulator does past its range: ``wrap`` (two's complement) or ``saturate``.
    """

    kind: ClassVar[str]
    has_mode: ClassVar[bool] = False  # a per-row mode input (MSQ)
    has_nar: ClassVar[bool] = False  # a sticky NaR flag (posit weights)
    has_readout: ClassVar[bool] = False  # a rounded read-out register (quire -> posit)

    latency: ClassVar[int] = LATENCY

    acc_bits: int | None = None
    overflow: str = "wrap"

    def __post_init__(self) -> None:
        self._check_widths()
        if self.overflow not in OVERFLOW_MODES:
            raise ValueError(f"overflow must be one of {OVERFLOW_MODES}, not {self.overflow!r}")
        if self.acc_bits is None:
            object.__setattr__(self, "acc_bits", self.product_bits + DEFAULT_GUARD_BITS)
        acc = check_int("acc_bits", self.acc_bits, 2, 4096)
        if acc < self.product_bits:
            raise ValueError(
                f"acc_bits must be >= {self.product_bits} (one {self.kind} product), not {acc!r}"
            )

    @abstractmethod
    def _check_widths(self) -> None: ...

    @abstractmethod
    def reads(self, fmt: NumberFormat) -> list[tuple[int, NumberFormat]]:
        """The modes that read weight codes of ``fmt`` exactly, each with the port format it reads them as: a
        value is the same up to one power of two (absorbed by the row scale). A narrower signed fixed-point code
        is sign-extended, a posit<n, es> code gets zero bits appended on a posit<m >= n, es> port (the same
        value: posits nest), SP2 must be the port's own format. Empty: this MAC cannot run ``fmt``."""

    @property
    @abstractmethod
    def w_format(self) -> NumberFormat:
        """Format of the weight codes."""

    @property
    @abstractmethod
    def x_format(self) -> NumberFormat:
        """Format of the activation codes (fixed-point activations are integers: frac 0)."""

    @property
    @abstractmethod
    def product_bits(self) -> int:
        """Signed width that holds any one product, in accumulator units."""

    @property
    @abstractmethod
    def acc_frac_bits(self) -> int:
        """F such that the accumulator holds sum(w_value * x_value) * 2**F."""

    @abstractmethod
    def weight_ints(self, w, mode=None) -> np.ndarray:
        """Integer image of weight codes: every product is ``weight_ints(w) * act_ints(x)``."""

    @abstractmethod
    def act_ints(self, x) -> np.ndarray:
        """Integer image of activation codes (see `weight_ints`)."""

    def product(self, w, x, mode=None) -> np.ndarray:
        """Exact products of code arrays, in accumulator units (int64, or Python ints when wide).

        Every kind's product is bilinear in integer images of its operands (a decoded, shifted weight times a
        decoded, shifted activation); the hardware computes the same number with shifts and adders.
        """
        w, x = self._codes(w, x)
        dt = int_dtype(self.product_bits)
        a = np.asarray(self.weight_ints(w, mode), dtype=dt)
        b = np.asarray(self.act_ints(x), dtype=dt)
        return np.asarray(a * b, dtype=dt)

    @property
    def w_bits(self) -> int:
        return self.w_format.bits

    @property
    def x_bits(self) -> int:
        return self.x_format.bits

    def params(self) -> dict[str, object]:
        """The constructor parameters, resolved (defaults filled in): the key of every cache and export."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def name(self) -> str:
        return self.kind + "".join(f"_{k}{v}" for k, v in self.params().items())

    def is_nar(self, w, x, mode=None) -> np.ndarray:
        """Whether each operand pair involves NaR (always False without posit operands). ``mode`` is the row
        mode of kinds that have one (`has_mode`); the others ignore it."""
        return np.zeros(np.broadcast_shapes(np.shape(w), np.shape(x)), dtype=bool)

    def accumulate(self, acc: int, product: int) -> int:
        """One accumulator update, as the hardware adder does it."""
        total = int(acc) + int(product)
        return int(wrap(total, self.acc_bits) if self.overflow == "wrap" else saturate(total, self.acc_bits))

    def dot(self, w, x, mode=None) -> np.ndarray:
        """Accumulate products along the last axis from a cleared accumulator (K ascending)."""
        p = self.product(w, x, mode)
        if self.overflow == "wrap":
            return dot_wrap(p, self.acc_bits)
        return dot_saturate(p, self.acc_bits)

    def acc_value(self, acc) -> np.ndarray:
        """Real value of accumulator integers: acc * 2**-F (float64, exact while it fits)."""
        return np.ldexp(np.asarray(acc, dtype=np.float64), -self.acc_frac_bits)

    def read_out(self, acc: int, nar: bool = False) -> int:
        """What the read-out port shows for an accumulator value (the accumulator itself, unless rounded)."""
        return int(acc)

    def _codes(self, w, x):
        w = as_code_array(w, self.w_bits, "w")
        x = as_code_array(x, self.x_bits, "x")
        return np.broadcast_arrays(w, x)


def _signed_int(codes: np.ndarray, bits: int, dtype: np.dtype) -> np.ndarray:
    c = codes.astype(dtype)
    return np.where(codes >= (1 << (bits - 1)), c - (1 << bits), c)


@dataclass(frozen=True, slots=True, kw_only=True)
class FixedMac(MacUnit):
    """Signed w_bits x x_bits integer multiply-accumulate."""

    kind: ClassVar[str] = "fixed"
    w_bits: int = 8
    x_bits: int = 8

    def reads(self, fmt: NumberFormat) -> list[tuple[int, NumberFormat]]:
        return [(0, self.w_format)] if _narrower_signed_fixed(fmt, self.w_bits) else []

    def _check_widths(self) -> None:
        check_int("w_bits", self.w_bits, 2, 32)
        check_int("x_bits", self.x_bits, 2, 32)

    @property
    def w_format(self) -> Fixed:
        return Fixed(self.w_bits, 0)

    @property
    def x_format(self) -> Fixed:
        return Fixed(self.x_bits, 0)

    @property
    def product_bits(self) -> int:
        return self.w_bits + self.x_bits

    @property
    def acc_frac_bits(self) -> int:
        return 0

    def weight_ints(self, w, mode=None) -> np.ndarray:
        return _signed_int(as_code_array(w, self.w_bits, "w"), self.w_bits, np.dtype(np.int64))

    def act_ints(self, x) -> np.ndarray:
        return _signed_int(as_code_array(x, self.x_bits, "x"), self.x_bits, np.dtype(np.int64))


def _sp2_ints(fmt: SP2, w: np.ndarray, shift_to: int) -> np.ndarray:
    """(q1 + q2) * 2**shift_to as an integer (shift_to >= every e): what x is multiplied by with two shifts."""
    sign, e1, e2 = fmt.terms(w)
    t1 = np.where(e1 > 0, np.left_shift(1, shift_to - e1), 0)
    t2 = np.where(e2 > 0, np.left_shift(1, shift_to - e2), 0)
    mag = (t1 + t2).astype(np.int64)
    return np.where(sign == 1, -mag, mag)


@dataclass(frozen=True, slots=True, kw_only=True)
class SP2Mac(MacUnit):
    """SP2 weight x fixed-point activation: two shifts and an add, no multiplier, exact.

    The accumulator LSB is 2**-E of an activation LSB, E = 2**max(m1, m2) - 1 (the largest shift).
    """

    kind: ClassVar[str] = "sp2"
    w_bits: int = 4
    x_bits: int = 8
    m1: int | None = None

    def reads(self, fmt: NumberFormat) -> list[tuple[int, NumberFormat]]:
        return [(0, self.w_format)] if isinstance(fmt, SP2) and fmt == self.w_format else []

    def _check_widths(self) -> None:
        check_int("x_bits", self.x_bits, 2, 32)
        check_int("w_bits", self.w_bits, 2, 2 * SP2_MAX_FIELD + 1)  # named as the user names it, not SP2's bits
        fmt = SP2(self.w_bits, m1=self.m1)  # validates m1
        object.__setattr__(self, "m1", fmt.m1)

    @property
    def w_format(self) -> SP2:
        return SP2(self.w_bits, m1=self.m1)

    @property
    def x_format(self) -> Fixed:
        return Fixed(self.x_bits, 0)

    @property
    def acc_frac_bits(self) -> int:
        f = self.w_format
        return (1 << max(f.m1, f.m2)) - 1

    @property
    def product_bits(self) -> int:
        return self.x_bits + self.acc_frac_bits + 1

    def weight_ints(self, w, mode=None) -> np.ndarray:
        return _sp2_ints(self.w_format, as_code_array(w, self.w_bits, "w"), self.acc_frac_bits)

    def act_ints(self, x) -> np.ndarray:
        return _signed_int(as_code_array(x, self.x_bits, "x"), self.x_bits, np.dtype(np.int64))


@dataclass(frozen=True, slots=True, kw_only=True)
class MSQMac(MacUnit):
    """One PE for both halves of MSQ: ``mode`` 1 reads the weight as SP2, 0 as fixed point Fixed(w, w-1).

    Both modes share one accumulator with one binary point: LSB = 2**-F of an activation LSB with
    F = max(E_sp2, w_bits - 1), so an SP2 row and a fixed row give comparable sums.
    """

    kind: ClassVar[str] = "msq"
    has_mode: ClassVar[bool] = True
    w_bits: int = 4
    x_bits: int = 8

    def reads(self, fmt: NumberFormat) -> list[tuple[int, NumberFormat]]:
        if isinstance(fmt, SP2):
            return [(1, self.w_format)] if fmt == self.w_format else []
        return [(0, self.fixed_format)] if _narrower_signed_fixed(fmt, self.w_bits) else []

    def _check_widths(self) -> None:
        check_int("x_bits", self.x_bits, 2, 32)
        check_int("w_bits", self.w_bits, 2, 2 * SP2_MAX_FIELD + 1)
        SP2(self.w_bits)

    @property
    def w_format(self) -> SP2:
        """The SP2 reading of a weight code (``fixed_format`` is the other)."""
        return SP2(self.w_bits)

    @property
    def fixed_format(self) -> Fixed:
        return Fixed(self.w_bits, self.w_bits - 1)

    @property
    def x_format(self) -> Fixed:
        return Fixed(self.x_bits, 0)

    @property
    def sp2_shift(self) -> int:
        f = self.w_format
        return (1 << max(f.m1, f.m2)) - 1

    @property
    def acc_frac_bits(self) -> int:
        return max(self.sp2_shift, self.w_bits - 1)

    @property
    def product_bits(self) -> int:
        return self.x_bits + self.acc_frac_bits + 1

    def weight_ints(self, w, mode=None) -> np.ndarray:
        w = as_code_array(w, self.w_bits, "w")
        mode = _check_mode(self.kind, mode, np.broadcast_shapes(w.shape, np.shape(mode)),
                           "1: SP2 row, 0: fixed-point row")
        sp2 = _sp2_ints(self.w_format, w, self.acc_frac_bits)
        fixed = _signed_int(w, self.w_bits, np.dtype(np.int64)) << (self.acc_frac_bits - (self.w_bits - 1))
        return np.where(mode == 1, sp2, fixed)

    def act_ints(self, x) -> np.ndarray:
        return _signed_int(as_code_array(x, self.x_bits, "x"), self.x_bits, np.dtype(np.int64))


def _posit_ints(fmt: Posit, codes: np.ndarray) -> np.ndarray:
    """+-S << (scale + max_scale), S = 2**FB + frac: a posit decoder's sign, significand and shift in one
    integer, value * 2**(max_scale + FB). Zero and NaR give 0 (NaR is flagged separately)."""
    f = fmt.fields(codes)
    special = f.is_zero | f.is_nar
    sig = np.where(special, 0, (1 << fmt.frac_bits) + f.frac)
    shift = np.where(special, 0, f.scale + fmt.max_scale)
    dt = int_dtype(fmt.frac_bits + 2 * fmt.max_scale + 2)
    mag = np.asarray(sig.astype(dt) * (np.ones_like(sig, dtype=dt) << shift.astype(dt)), dtype=dt)
    return np.where(f.sign == 1, -mag, mag).astype(dt)


@dataclass(frozen=True, slots=True, kw_only=True)
class PositFixpMac(MacUnit):
    """posit<n, es> weight x fixed-point activation, accumulated exactly in fixed point (arXiv 2312.02210).

    The weight is decoded to sign, scale s and significand S = 2**FB + frac (FB = ``Posit.frac_bits``); the
    product x * S is shifted left by s + max_scale into an accumulator whose LSB is 2**-(max_scale + FB).
    A NaR weight adds nothing and sets the sticky ``nar`` flag until the next clear.
    """

    kind: ClassVar[str] = "posit_fixp"
    has_nar: ClassVar[bool] = True
    n: int = 4
    es: int = 1
    x_bits: int = 8

    def reads(self, fmt: NumberFormat) -> list[tuple[int, NumberFormat]]:
        return [(0, self.w_format)] if _nested_posit(fmt, self.w_format) else []

    def _check_widths(self) -> None:
        check_int("x_bits", self.x_bits, 2, 32)
        check_int("n", self.n, 2, 16)
        Posit(self.n, self.es)

    @property
    def w_format(self) -> Posit:
        return Posit(self.n, self.es)

    @property
    def x_format(self) -> Fixed:
        return Fixed(self.x_bits, 0)

    @property
    def acc_frac_bits(self) -> int:
        return self.w_format.max_scale + self.w_format.frac_bits

    @property
    def product_bits(self) -> int:
        f = self.w_format
        return self.x_bits + f.frac_bits + 2 * f.max_scale + 1

    def is_nar(self, w, x, mode=None) -> np.ndarray:
        w, x = self._codes(w, x)
        return w == self.w_format.nar_code

    def weight_ints(self, w, mode=None) -> np.ndarray:
        return _posit_ints(self.w_format, as_code_array(w, self.w_bits, "w"))

    def act_ints(self, x) -> np.ndarray:
        return _signed_int(as_code_array(x, self.x_bits, "x"), self.x_bits, np.dtype(np.int64))


def _check_mode(kind: str, mode, shape: tuple[int, ...], meaning: str) -> np.ndarray:
    """``mode`` broadcast to ``shape``, checked to hold only 0 and 1."""
    if mode is None:
        raise ValueError(f"the {kind} MAC needs mode ({meaning})")
    mode = np.broadcast_to(np.asarray(mode), shape)
    if not np.isin(mode, (0, 1)).all():
        raise ValueError(f"mode must be 0 or 1 ({meaning}), not {np.unique(mode).tolist()}")
    return mode


@dataclass(frozen=True, slots=True, kw_only=True)
class PositOrFixedMac(MacUnit):
    """One PE for both halves of the posit/fixed row mix (Posit4/FixP4, arXiv 2312.02210): ``mode`` 1 reads the
    weight as posit<n, es> (as `PositFixpMac`), 0 as fixed point Fixed(fixed_bits, fixed_bits - 1).

    The weight port is ``w_bits = max(n, fixed_bits)`` wide. A posit row reads its low n bits and a fixed row its
    low fixed_bits bits; the bits above are ignored (masked) in both the model and the RTL, so every code of the
    port is valid in either mode. Both modes share one accumulator with one binary point: LSB = 2**-F of an
    activation LSB, F = max(max_scale + frac_bits, fixed_bits - 1), so a posit row and a fixed row give
    comparable sums. A posit row's product is ``+-(x * S) << (s + max_scale + F - (max_scale + frac_bits))``,
    a fixed row's ``(w * x) << (F - (fixed_bits - 1))``. A NaR weight in a posit row adds nothing and sets the
    sticky ``nar`` flag until the next clear; in a fixed row the same code is an ordinary fixed value.
    """

    kind: ClassVar[str] = "posit_or_fixed"
    has_mode: ClassVar[bool] = True
    has_nar: ClassVar[bool] = True
    n: int = 4
    es: int = 1
    fixed_bits: int = 4
    x_bits: int = 8

    def reads(self, fmt: NumberFormat) -> list[tuple[int, NumberFormat]]:
        if isinstance(fmt, Posit):
            return [(1, self.w_format)] if _nested_posit(fmt, self.w_format) else []
        return [(0, self.fixed_format)] if _narrower_signed_fixed(fmt, self.fixed_bits) else []

    def _check_widths(self) -> None:
        check_int("x_bits", self.x_bits, 2, 32)
        check_int("n", self.n, 2, 16)
        Posit(self.n, self.es)
        check_int("fixed_bits", self.fixed_bits, 2, 16)

    @property
    def w_format(self) -> Posit:
        """The posit reading of a weight code's low n bits (``fixed_format`` is the other)."""
        return Posit(self.n, self.es)

    @property
    def fixed_format(self) -> Fixed:
        """The fixed-point reading of a weight code's low fixed_bits bits: values in [-1, 1)."""
        return Fixed(self.fixed_bits, self.fixed_bits - 1)

    @property
    def x_format(self) -> Fixed:
        return Fixed(self.x_bits, 0)

    @property
    def w_bits(self) -> int:
        """Width of the weight port: the wider of the two readings."""
        return max(self.n, self.fixed_bits)

    @property
    def posit_frac_bits(self) -> int:
        """The binary point a posit row alone would need (`PositFixpMac.acc_frac_bits`)."""
        return self.w_format.max_scale + self.w_format.frac_bits

    @property
    def acc_frac_bits(self) -> int:
        return max(self.posit_frac_bits, self.fixed_bits - 1)

    @property
    def product_bits(self) -> int:
        # posit: |x * S| <= 2**(x_bits - 1 + FB + 1), shifted by at most 2 max_scale + (F - posit_frac_bits);
        # -max|x| * -maxpos needs the extra sign bit. fixed: (-2**(B-1)) (-2**(x_bits-1)) << (F - (B - 1)).
        f = self.w_format
        posit = self.x_bits + f.frac_bits + 2 * f.max_scale + 1 + (self.acc_frac_bits - self.posit_frac_bits)
        fixed = self.x_bits + self.acc_frac_bits + 1
        return max(posit, fixed)

    def posit_codes(self, w) -> np.ndarray:
        """The low n bits of weight codes: what a posit row reads."""
        return as_code_array(w, self.w_bits, "w") & ((1 << self.n) - 1)

    def fixed_codes(self, w) -> np.ndarray:
        """The low fixed_bits bits of weight codes: what a fixed row reads."""
        return as_code_array(w, self.w_bits, "w") & ((1 << self.fixed_bits) - 1)

    def is_nar(self, w, x, mode=None) -> np.ndarray:
        w, x = self._codes(w, x)
        mode = _check_mode(self.kind, mode, np.broadcast_shapes(w.shape, np.shape(mode)),
                           "1: posit row, 0: fixed-point row")
        return (mode == 1) & (self.posit_codes(w) == self.w_format.nar_code)

    def weight_ints(self, w, mode=None) -> np.ndarray:
        w = as_code_array(w, self.w_bits, "w")
        mode = _check_mode(self.kind, mode, np.broadcast_shapes(w.shape, np.shape(mode)),
                           "1: posit row, 0: fixed-point row")
        w = np.broadcast_to(w, mode.shape)
        dt = int_dtype(self.product_bits)  # (0-d object arrays shift into Python ints: asarray keeps arrays)
        posit = np.asarray(_posit_ints(self.w_format, self.posit_codes(w)), dtype=dt)
        posit = np.asarray(posit << (self.acc_frac_bits - self.posit_frac_bits), dtype=dt)
        fixed = _signed_int(self.fixed_codes(w), self.fixed_bits, dt)
        fixed = np.asarray(fixed << (self.acc_frac_bits - (self.fixed_bits - 1)), dtype=dt)
        return np.where(mode == 1, posit, fixed)

    def act_ints(self, x) -> np.ndarray:
        return _signed_int(as_code_array(x, self.x_bits, "x"), self.x_bits, np.dtype(np.int64))


@dataclass(frozen=True, slots=True, kw_only=True)
class PositQuireMac(MacUnit):
    """posit x posit accumulated exactly in a quire, rounded to a posit (nearest, ties to even) on read-out.

    Quire: two's complement, LSB 2**-2(max_scale + FB), acc_bits = 4 max_scale + 2 FB + 2 + carry_bits. With
    es = 2 and the default 30 carry bits that is the standard's 16n bits plus 2 FB low bits, which keep every
    product shift non-negative. The quire wraps (2**30 worst-case products fit before it could); NaR in any
    operand is sticky until the next clear and reads out as NaR. The read-out register lags the quire by one
    cycle (latency 3 from an input to ``out``).
    """

    kind: ClassVar[str] = "posit_quire"
    has_nar: ClassVar[bool] = True
    has_readout: ClassVar[bool] = True
    n: int = 8
    es: int = 2
    carry_bits: int = 30

    def __post_init__(self) -> None:
        check_int("n", self.n, 2, 16)
        Posit(self.n, self.es)
        check_int("carry_bits", self.carry_bits, 0, 64)
        if self.overflow != "wrap":
            raise ValueError(f"overflow must be 'wrap' for a quire, not {self.overflow!r}")
        quire = self.product_bits - 1 + self.carry_bits
        if self.acc_bits is None:
            object.__setattr__(self, "acc_bits", quire)
        MacUnit.__post_init__(self)

    def reads(self, fmt: NumberFormat) -> list[tuple[int, NumberFormat]]:
        return [(0, self.w_format)] if _nested_posit(fmt, self.w_format) else []

    def _check_widths(self) -> None:
        pass

    @property
    def w_format(self) -> Posit:
        return Posit(self.n, self.es)

    @property
    def x_format(self) -> Posit:
        return Posit(self.n, self.es)

    @property
    def acc_frac_bits(self) -> int:
        f = self.w_format
        return 2 * (f.max_scale + f.frac_bits)

    @property
    def product_bits(self) -> int:
        f = self.w_format
        return 4 * f.max_scale + 2 * f.frac_bits + 3

    def is_nar(self, w, x, mode=None) -> np.ndarray:
        w, x = self._codes(w, x)
        return (w == self.w_format.nar_code) | (x == self.x_format.nar_code)

    def weight_ints(self, w, mode=None) -> np.ndarray:
        return _posit_ints(self.w_format, as_code_array(w, self.w_bits, "w"))

    def act_ints(self, x) -> np.ndarray:
        return _posit_ints(self.x_format, as_code_array(x, self.x_bits, "x"))

    def read_out(self, acc: int, nar: bool = False) -> int:
        """The quire rounded to a posit code (NaR when the sticky flag is set)."""
        if nar:
            return self.w_format.nar_code
        return round_scaled_int(self.w_format, int(acc), -self.acc_frac_bits)

    def dot_posit(self, w, x) -> np.ndarray:
        """Fused dot products along the last axis, rounded once to posit codes."""
        acc = self.dot(w, x)
        nar = self.is_nar(w, x).any(axis=-1)
        flat_acc, flat_nar = np.ravel(acc), np.ravel(nar)
        codes = [self.read_out(a, bool(b)) for a, b in zip(flat_acc, flat_nar, strict=True)]
        return np.array(codes, dtype=np.int64).reshape(np.shape(acc))


MAC_UNITS: Registry[type[MacUnit]] = Registry("MAC kind")
for _cls in (FixedMac, SP2Mac, MSQMac, PositFixpMac, PositQuireMac, PositOrFixedMac):
    MAC_UNITS.register(_cls.kind, _cls)
MAC_KINDS = MAC_UNITS.names()


def make_mac(kind: str, **params) -> MacUnit:
    """Build a MAC unit by kind name (``fixed``, ``sp2``, ``msq``, ``posit_fixp``, ``posit_quire``,
    ``posit_or_fixed``)."""
    cls = MAC_UNITS.get(kind)  # unknown kinds: ValueError naming the close one
    allowed = [f.name for f in fields(cls)]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r} for the {kind} MAC; it takes {', '.join(allowed)}")
    return cls(**params)
