"""Combinational posit blocks for the posit MAC kinds: a decoder and a quire-to-posit rounding unit.

Both are plain functions that add logic to a `Module` (so a MAC can inline two decoders), plus thin
`wiring.Component` wrappers that the tests drive on their own. They follow the golden models bit for bit:
`posit_decode` is ``Posit.fields`` as ``hwsim.mac._units._posit_ints`` reads it, and `posit_round`
is ``hwsim.formats.round_scaled_int`` (``PositQuireMac.read_out``).
"""

from __future__ import annotations

from typing import NamedTuple

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwsim.formats import Posit


class PositDecoded(NamedTuple):
    """Outputs of `posit_decode`: value = (-1)**sign * sig * 2**(shift - max_scale - frac_bits)."""

    sign: Signal  # 0 for zero and NaR
    shift: Signal  # scale + max_scale, 0 .. 2 * max_scale (0 for zero and NaR)
    sig: Signal  # 2**frac_bits + frac, frac_bits + 1 bits (0 for zero and NaR)
    is_zero: Signal
    is_nar: Signal


def shift_width(fmt: Posit) -> int:
    """Bits of the unsigned ``shift = scale + max_scale`` output (at least 1)."""
    return max(1, (2 * fmt.max_scale).bit_length())


def posit_decode(m: Module, code: Value, n: int, es: int) -> PositDecoded:
    """Decode an n-bit posit code: two's complement negate, regime run count, then a left shift that drops the
    regime and its terminator so exponent and fraction come out left-aligned (short fields zero padded)."""
    fmt = Posit(n, es)
    nb, fb = n - 1, fmt.frac_bits

    is_zero, is_nar = Signal(), Signal()
    m.d.comb += [is_zero.eq(code == 0), is_nar.eq(code == fmt.nar_code)]

    # Negative posits are the two's complement of their magnitude; the sign bit of the magnitude is then 0.
    neg = code[n - 1]
    body = Signal(nb)
    m.d.comb += body.eq(Mux(neg, -code, code)[:nb])

    # Regime: the run of bits equal to the first one. XOR with that bit turns it into a leading-zero count;
    # the priority encoder lets the highest differing bit win (later assignments override earlier ones).
    first = body[nb - 1]
    diff = Signal(nb)
    m.d.comb += diff.eq(Mux(first, ~body, body))
    run = Signal(range(nb + 1))
    m.d.comb += run.eq(nb)  # no differing bit: the regime fills the word
    for p in range(nb - 1):  # diff[nb - 1] is 0 by construction
        with m.If(diff[p]):
            m.d.comb += run.eq(nb - 1 - p)

    # Shifting left by the run puts the terminator at bit nb-1; the n-2 bits below it are exponent then fraction
    # (a regime that fills the word leaves zeros, i.e. bits cut off by the end of the word read as 0).
    rest = Signal(max(0, nb - 1))
    m.d.comb += rest.eq((body << run)[: nb - 1])
    want = es + fb
    padded = Cat(Const(0, max(0, want - len(rest))), rest)
    top = padded[len(padded) - want :]
    exp, frac = top[fb:], top[:fb]

    # shift = (k + n - 2) * 2**es + e, with k = run - 1 (ones) or -run (zeros); never negative.
    kk = Signal(range(max(2, 2 * n - 3)))
    m.d.comb += kk.eq(Mux(first, run + (n - 3), (n - 2) - run))

    special = is_zero | is_nar
    sign = Signal()
    shift = Signal(shift_width(fmt))
    sig = Signal(fb + 1)
    m.d.comb += [
        sign.eq(neg & ~is_nar),  # zero already has sign 0
        shift.eq(Mux(special, 0, Cat(exp, kk))),
        sig.eq(Mux(special, 0, Cat(frac, Const(1, 1)))),
    ]
    return PositDecoded(sign, shift, sig, is_zero, is_nar)


def posit_round(m: Module, q: Value, nar: Value, n: int, es: int, frac_bits: int) -> Signal:
    """Round the signed fixed-point integer ``q * 2**-frac_bits`` to an n-bit posit code, as
    ``round_scaled_int``: saturate to maxpos, never round to zero (minpos), nearest with ties to even on the
    encoding's bit string; ``nar`` forces the NaR code.

    Datapath: magnitude, leading-one detector, a normalising left shift (fraction below the leading one,
    left-aligned), then V = {fill, ~fill, exponent, fraction} shifted right arithmetically by run - 1 so the
    fill bit replicates into the regime. Zero LSB padding makes that shift lossless, so the sticky bit sees
    every dropped bit of the magnitude.
    """
    fmt = Posit(n, es)
    nb, ms = n - 1, fmt.max_scale
    width = len(q)
    max_r = (1 << nb) - 1

    q = q.as_signed()
    neg = q[width - 1]
    mag = Signal(width)  # |most negative| = 2**(width-1) still fits unsigned
    m.d.comb += mag.eq(Mux(neg, -q, q))

    lead = Signal(range(max(2, width)))  # position of the leading one: scale = lead - frac_bits
    m.d.comb += lead.eq(0)
    for p in range(width):
        with m.If(mag[p]):
            m.d.comb += lead.eq(p)

    r = Signal(nb)  # magnitude bits of the code, 1 .. max_r
    if ms == 0:
        m.d.comb += r.eq(1)  # posit<2, es>: every non-zero value is +-1 (minpos = maxpos)
    else:
        # u = scale + max_scale; in range when 0 <= u < 2 * max_scale, where u = (k + n - 2) * 2**es + e.
        u = Signal(signed((width + frac_bits + ms).bit_length() + 1))
        m.d.comb += u.eq(lead - (frac_bits - ms))
        big, small = u >= 2 * ms, u < 0

        ur = u[: (2 * ms - 1).bit_length()]
        exp, kk = ur[:es], ur[es:]
        fill = Signal()  # regime of ones (k >= 0) or zeros (k < 0)
        m.d.comb += fill.eq(kk >= n - 2)
        pad = max(0, n - 3)  # run - 1 <= n - 3
        run_m1 = Signal(range(pad + 1))
        m.d.comb += run_m1.eq(Mux(fill, kk - (n - 2), (n - 3) - kk))

        frac = Signal(max(0, width - 1))  # bits below the leading one, left-aligned
        lz = Signal(range(max(2, width)))  # leading zeros of the magnitude
        norm = Signal(width)
        m.d.comb += [lz.eq(width - 1 - lead), norm.eq(mag << lz), frac.eq(norm[: width - 1])]

        v = Cat(Const(0, pad), frac, exp, ~fill, fill)
        extra = max(0, nb + 2 - len(v))  # keep at least a guard and one sticky position
        v = Cat(Const(0, extra), v).as_signed()
        bits = Signal(signed(len(v)))
        m.d.comb += bits.eq(v >> run_m1)
        lsb = len(v) - nb
        head, guard, sticky = bits[lsb:], bits[lsb - 1], bits[: lsb - 1].any()
        # In range the head lies in [1, max_r - 1] (the regime run is at most n - 2 bits and ends in its
        # terminator), so rounding up cannot carry out of nb bits: the model's [1, max_r] clamp needs no logic.
        rounded = Signal(nb)
        m.d.comb += rounded.eq(head + (guard & (sticky | head[0])))
        m.d.comb += r.eq(Mux(big, max_r, Mux(small, 1, rounded)))

    code = Signal(n)
    m.d.comb += code.eq(Mux(nar, fmt.nar_code, Mux(q == 0, 0, Mux(neg, -r, r))))
    return code


class PositDecoder(wiring.Component):
    """`posit_decode` as a component: ``code`` in, decoded fields out."""

    def __init__(self, n: int, es: int) -> None:
        self.fmt = Posit(n, es)
        super().__init__({
            "code": In(n),
            "sign": Out(1),
            "shift": Out(shift_width(self.fmt)),
            "sig": Out(self.fmt.frac_bits + 1),
            "is_zero": Out(1),
            "is_nar": Out(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        d = posit_decode(m, self.code, self.fmt.n, self.fmt.es)
        m.d.comb += [self.sign.eq(d.sign), self.shift.eq(d.shift), self.sig.eq(d.sig),
                     self.is_zero.eq(d.is_zero), self.is_nar.eq(d.is_nar)]
        return m


class PositRounder(wiring.Component):
    """`posit_round` as a component: signed ``q`` (binary point ``frac_bits``) and ``nar`` in, ``code`` out."""

    def __init__(self, n: int, es: int, q_bits: int, frac_bits: int) -> None:
        self.fmt = Posit(n, es)
        self.frac_bits = frac_bits
        super().__init__({"q": In(signed(q_bits)), "nar": In(1), "code": Out(unsigned(n))})

    def elaborate(self, platform) -> Module:
        m = Module()
        m.d.comb += self.code.eq(posit_round(m, self.q, self.nar, self.fmt.n, self.fmt.es, self.frac_bits))
        return m
