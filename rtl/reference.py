"""Reference operators for the energy calibration: one registered integer add or multiply.

`hwsim.cost` synthesizes these, simulates them at gate level on random operands and compares the operator's
energy with Horowitz's 45 nm table (docs/cost-model.md): the int8 multiply is the calibration anchor, the
others validate it. The operand and result registers make each operand pair apply cleanly, as in a power
characterisation bench.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

REFERENCE_OPERATORS = ("add", "mul")


class RegisteredOp(wiring.Component):
    """Registered signed operands ``a``, ``b`` -> ``a op b`` -> registered full-width result ``y`` (2 x bits for a
    product, bits + 1 for a sum): ``y`` shows the result of the operands applied two cycles earlier."""

    def __init__(self, op: str, bits: int) -> None:
        if op not in REFERENCE_OPERATORS:
            raise ValueError(f"op must be one of {', '.join(REFERENCE_OPERATORS)}, not {op!r}")
        if isinstance(bits, bool) or not isinstance(bits, int) or bits < 1:
            raise ValueError(f"bits must be a positive integer, not {bits!r}")
        self.op, self.bits = op, bits
        out_bits = 2 * bits if op == "mul" else bits + 1
        super().__init__({"a": In(signed(bits)), "b": In(signed(bits)), "y": Out(signed(out_bits))})

    def elaborate(self, platform) -> Module:
        m = Module()
        ra, rb = Signal(signed(self.bits)), Signal(signed(self.bits))
        m.d.sync += [ra.eq(self.a), rb.eq(self.b)]
        m.d.sync += self.y.eq(ra * rb if self.op == "mul" else ra + rb)
        return m
