"""Cycle-accurate model of a MAC unit's pipeline: what the RTL registers hold after every clock edge.

Stage 1 registers the product of the inputs (with ``valid`` and ``clear``); stage 2 is the accumulator:
``clear`` empties it, ``valid`` adds the product (so clear + valid starts a new sum with that product).
A read-out register (quire kinds) rounds the accumulator one cycle later.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._units import MacUnit


@dataclass(frozen=True, slots=True)
class MacInputs:
    """Port values during one cycle (codes are unsigned bit patterns)."""

    valid: int = 0
    clear: int = 0
    w: int = 0
    x: int = 0
    mode: int = 0


@dataclass(frozen=True, slots=True)
class MacOutputs:
    """Output ports after a clock edge. ``out`` equals ``acc`` for kinds without a rounded read-out."""

    acc: int
    nar: int
    out: int


class MacPipeline:
    """Step model of one MAC unit, register for register with the RTL."""

    def __init__(self, unit: MacUnit) -> None:
        self.unit = unit
        self.reset()

    def reset(self) -> None:
        """Synchronous reset: every register to zero."""
        self._v1 = self._c1 = self._n1 = 0
        self._p1 = 0
        self.acc = 0
        self.nar = 0
        self.out = 0

    @property
    def outputs(self) -> MacOutputs:
        return MacOutputs(self.acc, self.nar, self.out if self.unit.has_readout else self.acc)

    def step(self, inputs: MacInputs) -> MacOutputs:
        """Apply one rising clock edge with ``inputs`` on the ports; return the outputs after it."""
        u = self.unit
        product = nar = 0
        if inputs.valid:
            mode = inputs.mode if u.has_mode else None
            product = int(u.product(inputs.w, inputs.x, mode))
            nar = int(u.is_nar(inputs.w, inputs.x, mode))
        return self.step_product(inputs.valid, inputs.clear, product, nar)

    def step_product(self, valid: int, clear: int, product: int, nar: int) -> MacOutputs:
        """`step` with the product of this cycle's operands already computed (what stage 1 registers)."""
        u = self.unit
        acc, nar_acc = self.acc, self.nar
        if self._c1:
            acc, nar_acc = 0, 0
        if self._v1:
            acc = u.accumulate(acc, self._p1)
            nar_acc |= self._n1
        out = u.read_out(self.acc, bool(self.nar)) if u.has_readout else 0
        self._p1, self._n1 = (int(product), int(nar)) if valid else (0, 0)
        self._v1, self._c1 = int(bool(valid)), int(bool(clear))
        self.acc, self.nar, self.out = acc, nar_acc, out
        return self.outputs
