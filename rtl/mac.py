"""MAC units in Amaranth, one component per golden model in `hwsim.mac`, with the same pipeline.

Ports (codes are unsigned bit patterns, as in `hwsim.formats`):
    valid, clear  In(1)     clear empties the accumulator; clear and valid together start a new sum
    w             In(w_bits)
    x             In(x_bits)
    mode          In(1)      msq: 1 = SP2 row, 0 = fixed-point row; posit_or_fixed: 1 = posit row, 0 = fixed row
    acc           Out(signed(acc_bits))
    nar           Out(1)     posit kinds: sticky NaR since the last clear
    out           Out(n)     quire only: the accumulator rounded to a posit, one cycle after acc
    psum          In(signed(acc_bits))  chained PEs only (``chain=True``, weight-stationary arrays): stage 2 adds
                            the product to psum instead of to acc, so acc = psum + product one cycle after
                            the product register (clear is then unused)
Stage 1 registers the product, stage 2 is the accumulator (``LATENCY`` = 2 from an input to ``acc``).
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwsim.mac import FixedMac, MacUnit, MSQMac, PositFixpMac, PositOrFixedMac, PositQuireMac, SP2Mac

from .posit import posit_decode, posit_round


class MacBase(wiring.Component):
    """Shared pipeline of every MAC kind: product register, then accumulator (wrap or saturate)."""

    def __init__(self, unit: MacUnit, *, chain: bool = False) -> None:
        if not isinstance(unit, MacUnit):
            raise TypeError(f"unit must be a hwsim.mac.MacUnit, not {unit!r}")
        self.unit = unit
        self.chain = bool(chain)
        ports = {
            "valid": In(1),
            "clear": In(1),
            "w": In(unit.w_bits),
            "x": In(unit.x_bits),
            "acc": Out(signed(unit.acc_bits)),
        }
        if chain:  # weight-stationary arrays: the sum comes in from the PE above instead of from acc
            ports["psum"] = In(signed(unit.acc_bits))
        if unit.has_mode:
            ports["mode"] = In(1)
        if unit.has_nar:
            ports["nar"] = Out(1)
        if unit.has_readout:
            ports["out"] = Out(unit.w_bits)
        super().__init__(ports)

    def product(self, m: Module) -> tuple[Signal, Signal | None]:
        """Combinational product of the current inputs in accumulator units, and its NaR flag (or None)."""
        raise NotImplementedError

    def read_out(self, m: Module) -> None:
        """Drive ``self.out`` (kinds with a rounded read-out)."""
        raise NotImplementedError

    def elaborate(self, platform) -> Module:
        u = self.unit
        m = Module()
        product, nar = self.product(m)

        # stage 1: operands -> product register
        v1 = Signal()
        c1 = Signal()
        p1 = Signal(signed(u.product_bits))
        m.d.sync += [v1.eq(self.valid), c1.eq(self.clear), p1.eq(Mux(self.valid, product, 0))]
        if u.has_nar:
            n1 = Signal()
            m.d.sync += n1.eq(self.valid & nar)

        # stage 2: accumulator; clear drops the old sum, valid adds the registered product. Chained, the
        # addend joins the incoming partial sum instead (same adder, same overflow rule)
        base = Signal(signed(u.acc_bits))
        m.d.comb += base.eq(self.psum if self.chain else Mux(c1, 0, self.acc))
        addend = Mux(v1, p1, 0)
        if u.overflow == "wrap":
            m.d.sync += self.acc.eq(base + addend)  # truncation to acc_bits is the two's complement wrap
        else:
            total = Signal(signed(u.acc_bits + 1))
            hi, lo = (1 << (u.acc_bits - 1)) - 1, -(1 << (u.acc_bits - 1))
            m.d.comb += total.eq(base + addend)
            m.d.sync += self.acc.eq(Mux(total > hi, hi, Mux(total < lo, lo, total)))
        if u.has_nar:
            m.d.sync += self.nar.eq(Mux(c1, 0, self.nar) | (v1 & n1))
        if u.has_readout:
            self.read_out(m)
        return m


class FixedMacRTL(MacBase):
    """Signed integer multiply (`hwsim.mac.FixedMac`)."""

    def product(self, m):
        p = Signal(signed(self.unit.product_bits))
        m.d.comb += p.eq(self.w.as_signed() * self.x.as_signed())
        return p, None


def sp2_shift_add(m: Module, unit: MacUnit, w, xi, shift_to: int) -> Signal:
    """x * (q1 + q2) * 2**shift_to with two barrel shifts and an adder, no multiplier.

    The activation is first shifted up by the largest shift, so shifting right by e is exact.
    """
    fmt = unit.w_format
    sign, e1, e2 = w[-1], w[fmt.m2 : fmt.m2 + fmt.m1], w[: fmt.m2]
    up = Signal(signed(unit.x_bits + shift_to))
    m.d.comb += up.eq(xi << shift_to)
    t1 = Signal(signed(unit.x_bits + shift_to))
    t2 = Signal(signed(unit.x_bits + shift_to))
    m.d.comb += t1.eq(Mux(e1 == 0, 0, up >> e1))
    m.d.comb += t2.eq(Mux(e2 == 0, 0, up >> e2) if fmt.m2 else 0)
    mag = Signal(signed(unit.product_bits))
    p = Signal(signed(unit.product_bits))
    m.d.comb += [mag.eq(t1 + t2), p.eq(Mux(sign, -mag, mag))]
    return p


class SP2MacRTL(MacBase):
    """SP2 weight x fixed activation as shifts and an add (`hwsim.mac.SP2Mac`)."""

    def product(self, m):
        return sp2_shift_add(m, self.unit, self.w, self.x.as_signed(), self.unit.acc_frac_bits), None


class MSQMacRTL(MacBase):
    """One PE for SP2 rows (mode 1) and fixed-point rows (mode 0) on a shared accumulator (`hwsim.mac.MSQMac`)."""

    def product(self, m):
        u = self.unit
        xi = self.x.as_signed()
        sp2 = sp2_shift_add(m, u, self.w, xi, u.acc_frac_bits)
        fixed = Signal(signed(u.product_bits))
        m.d.comb += fixed.eq((self.w.as_signed() * xi) << (u.acc_frac_bits - (u.w_bits - 1)))
        p = Signal(signed(u.product_bits))
        m.d.comb += p.eq(Mux(self.mode, sp2, fixed))
        return p, None


def posit_times_fixed(m: Module, unit: MacUnit, code, xi) -> tuple[Signal, Signal]:
    """x * (posit code) in accumulator units (LSB 2**-(max_scale + frac_bits)), and the code's NaR flag.

    A small x_bits x (frac_bits + 1) multiplier on the significand, then a barrel shift by scale + max_scale:
    the accumulator LSB is the smallest product, so no bit is ever dropped.
    """
    fmt = unit.w_format
    fb = fmt.frac_bits
    d = posit_decode(m, code, fmt.n, fmt.es)
    # |x * S| < 2**(x_bits + fb): the sign is applied before the shift, on the narrow product.
    mul = Signal(signed(unit.x_bits + fb + 1))
    m.d.comb += mul.eq(xi * d.sig)
    sm = Signal(signed(unit.x_bits + fb + 1))
    m.d.comb += sm.eq(Mux(d.sign, -mul, mul))
    p = Signal(signed(unit.product_bits))
    m.d.comb += p.eq(sm << d.shift)
    return p, d.is_nar


class PositFixpMacRTL(MacBase):
    """posit weight x fixed-point activation into a fixed-point accumulator (`hwsim.mac.PositFixpMac`).

    A small x_bits x (frac_bits + 1) multiplier on the significand, then a barrel shift by scale + max_scale:
    the accumulator LSB is the smallest product, so no bit is ever dropped.
    """

    def product(self, m):
        return posit_times_fixed(m, self.unit, self.w, self.x.as_signed())


class PositOrFixedMacRTL(MacBase):
    """One PE for posit rows (mode 1) and fixed-point rows (mode 0) on a shared accumulator
    (`hwsim.mac.PositOrFixedMac`), with one signed multiplier and one barrel shifter serving both modes.

    ``mode`` picks the multiplier's second operand, the signed significand +-S of the low n bits of ``w`` read
    as a posit (S = 2**frac_bits + frac) or the signed fixed code of its low fixed_bits bits, and the shift
    that brings the product to the shared binary point F: scale + max_scale + (F - posit_frac_bits) for a
    posit, the constant F - (fixed_bits - 1) for a fixed row. Bits of ``w`` above the mode's width are
    ignored, as in the model. A NaR posit decodes to S = 0, so its product is zero; NaR counts in mode 1 only.
    """

    def product(self, m):
        u = self.unit
        fmt, fb, b = u.w_format, u.w_format.frac_bits, u.fixed_bits
        d = posit_decode(m, self.w[: u.n], u.n, u.es)
        # Signing S before the multiply (not the product after it) is what lets the fixed row share the
        # multiplier: both operands are then plain two's complement. +-S needs fb + 2 bits, the fixed code b.
        posit_op = Signal(signed(fb + 2))
        m.d.comb += posit_op.eq(Mux(d.sign, -d.sig, d.sig))
        op = Signal(signed(max(fb + 2, b)))
        m.d.comb += op.eq(Mux(self.mode, posit_op, self.w[:b].as_signed()))
        # |x * S| < 2**(x_bits + fb) and |x * w| <= 2**(x_bits + b - 2): the product of either mode fits.
        mul = Signal(signed(u.x_bits + max(fb + 1, b)))
        m.d.comb += mul.eq(self.x.as_signed() * op)
        # F = max(posit_frac_bits, b - 1), so one of the two constant offsets is 0.
        posit_offset, fixed_shift = u.acc_frac_bits - u.posit_frac_bits, u.acc_frac_bits - (b - 1)
        shift = Signal(range(max(2 * fmt.max_scale + posit_offset, fixed_shift) + 1))
        m.d.comb += shift.eq(Mux(self.mode, d.shift + posit_offset, fixed_shift))
        p = Signal(signed(u.product_bits))
        nar = Signal()
        m.d.comb += [p.eq(mul << shift), nar.eq(self.mode & d.is_nar)]
        return p, nar


class PositQuireMacRTL(MacBase):
    """posit x posit into a quire, rounded to a posit on read-out (`hwsim.mac.PositQuireMac`).

    Two decoders, a (frac_bits + 1)-square significand multiplier and one shift by the summed scales; the
    read-out register rounds the quire register (so ``out`` lags ``acc`` by one cycle).
    """

    def product(self, m):
        u = self.unit
        fb = u.w_format.frac_bits
        dw = posit_decode(m, self.w, u.n, u.es)
        dx = posit_decode(m, self.x, u.n, u.es)
        mag = Signal(2 * fb + 2)
        m.d.comb += mag.eq(dw.sig * dx.sig)
        sm = Signal(signed(2 * fb + 3))
        m.d.comb += sm.eq(Mux(dw.sign ^ dx.sign, -mag, mag))
        p = Signal(signed(u.product_bits))
        m.d.comb += p.eq(sm << (dw.shift + dx.shift))
        nar = Signal()
        m.d.comb += nar.eq(dw.is_nar | dx.is_nar)
        return p, nar

    def read_out(self, m):
        u = self.unit
        m.d.sync += self.out.eq(posit_round(m, self.acc, self.nar, u.n, u.es, u.acc_frac_bits))


_RTL_CLASSES: dict[type[MacUnit], type[MacBase]] = {
    FixedMac: FixedMacRTL,
    SP2Mac: SP2MacRTL,
    MSQMac: MSQMacRTL,
    PositFixpMac: PositFixpMacRTL,
    PositQuireMac: PositQuireMacRTL,
    PositOrFixedMac: PositOrFixedMacRTL,
}


def mac_component(unit: MacUnit, *, chain: bool = False) -> MacBase:
    """The Amaranth component of a golden MAC unit; ``chain`` gives it a partial-sum input (see the ports)."""
    try:
        cls = _RTL_CLASSES[type(unit)]
    except KeyError:
        raise ValueError(f"no RTL for the {unit.kind} MAC yet") from None
    return cls(unit, chain=chain)


class NMPe(wiring.Component):
    """An N:M PE: the MAC of ``unit`` behind a ``group``:1 activation mux (N:M structured sparsity).

    Ports are the MAC's, except that the activations come as a group, ``x0`` .. ``x<group-1>`` (x_bits each), and
    ``idx`` (In, ceil(log2 group) bits) says which of them the weight ``w`` multiplies: the engine streams only the
    kept weights of each group, with their positions. The mux is combinational, so the MAC's pipeline
    (``LATENCY``) is unchanged.
    """

    def __init__(self, unit: MacUnit, group: int) -> None:
        if not isinstance(unit, MacUnit):
            raise TypeError(f"unit must be a hwsim.mac.MacUnit, not {unit!r}")
        if isinstance(group, bool) or not isinstance(group, int) or group < 2:
            raise ValueError(f"group must be an integer >= 2, not {group!r}")
        self.unit, self.group = unit, group
        ports = {"valid": In(1), "clear": In(1), "w": In(unit.w_bits),
                 **{f"x{e}": In(unit.x_bits) for e in range(group)},
                 "idx": In((group - 1).bit_length()), "acc": Out(signed(unit.acc_bits))}
        if unit.has_mode:
            ports["mode"] = In(1)
        super().__init__(ports)

    @property
    def xs(self) -> list:
        """The group's activation ports, in order."""
        return [getattr(self, f"x{e}") for e in range(self.group)]

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.mac = mac = mac_component(self.unit)
        # a chain of 2-way muxes, not an Array: Verilog's case statement for an Array index would sit at X in
        # Icarus until one of its inputs changed after time 0 (a padding row's activations never do)
        x = self.xs[0]
        for e in range(1, self.group):
            x = Mux(self.idx == e, self.xs[e], x)
        m.d.comb += [mac.valid.eq(self.valid), mac.clear.eq(self.clear), mac.w.eq(self.w), mac.x.eq(x),
                     self.acc.eq(mac.acc)]
        if self.unit.has_mode:
            m.d.comb += mac.mode.eq(self.mode)
        return m


def pe_component(unit: MacUnit, nm_group: int = 1) -> MacBase | NMPe:
    """An engine PE: the MAC itself, or with ``nm_group`` > 1 the MAC behind an N:M activation mux (`NMPe`)."""
    return mac_component(unit) if nm_group == 1 else NMPe(unit, nm_group)
