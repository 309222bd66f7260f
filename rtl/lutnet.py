"""A LUT network as RTL: every neuron the two-level logic ESPRESSO left for it, one module per layer.

As in LogicNets, each layer registers its input, so the network is a pipeline of ``len(layers)`` stages: a sample
applied to ``x`` with ``valid`` appears on ``y`` with ``y_valid`` exactly that many clock edges later, and a new
sample can enter every cycle. Ports (codes packed LSB first, feature ``i`` in bits ``[i*b, (i+1)*b)``, two's
complement when signed):

- ``x``: ``inputs x in_bits``; ``valid``: 1 bit
- ``y``: ``outputs x out_bits`` of the last layer; ``y_valid``: 1 bit

A layer is described by anything with ``indices`` ((neurons, fan_in) input features per neuron), ``in_bits`` and
``out_bits`` (`hwsim.lut.LayerTable`), and its covers (`hwsim.lut.minimize_layer`): per neuron, cubes of
(input literals, output bits) with literal 1 = address bit 0, 2 = 1, 3 = don't care over the neuron's address
(input 0 in the least significant bits). An output bit is one ``case`` whose patterns are the cubes that
drive it (don't-care literals as ``-``), so what synthesizes is exactly what `hwsim.lut.logic_forward`
evaluates.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Elaboratable, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["LutLayer", "LutNetwork"]

_ZERO, _ONE, _DC = 1, 2, 3


class LutLayer(Elaboratable):
    """One layer: an input register (``in_features x in_bits``) and each neuron's sum of products after it."""

    def __init__(self, table, covers, in_features: int, *, name: str = "layer") -> None:
        self.indices = [[int(i) for i in row] for row in table.indices]
        self.in_bits, self.out_bits = int(table.in_bits), int(table.out_bits)
        self.covers = covers
        if len(covers) != len(self.indices):
            raise ValueError(f"{name}: {len(covers)} covers for {len(self.indices)} neurons")
        wanted = max((i for row in self.indices for i in row), default=-1) + 1
        if wanted > in_features:
            raise ValueError(f"{name}: a neuron reads input {wanted - 1}, but the layer has {in_features} inputs")
        self.i = Signal(in_features * self.in_bits, name=f"{name}_in")
        self.o = Signal(len(self.indices) * self.out_bits, name=f"{name}_out")
        self.name = name

    def elaborate(self, platform) -> Module:
        m = Module()
        reg = Signal(len(self.i), name="in_reg")
        m.d.sync += reg.eq(self.i)
        b = self.in_bits
        outs = []
        for j, (row, cover) in enumerate(zip(self.indices, self.covers, strict=True)):
            if not cover:  # the constant 0
                outs.append(Const(0, self.out_bits))
                continue
            addr = Signal(len(row) * b, name=f"n{j}_addr")
            m.d.comb += addr.eq(Cat(*(reg[i * b:(i + 1) * b] for i in row)))
            for bit in range(self.out_bits):
                # one case per output bit: its cubes as patterns (MSB first, '-' for a don't-care literal)
                patterns = ["".join("-" if v == _DC else "1" if v == _ONE else "0" for v in reversed(lits))
                            for lits, o in cover if o[bit] == 1]
                out = Signal(name=f"n{j}_y{bit}")
                if patterns:
                    with m.Switch(addr):
                        with m.Case(*patterns):
                            m.d.comb += out.eq(1)
                outs.append(out)
        m.d.comb += self.o.eq(Cat(*outs))
        return m


class LutNetwork(wiring.Component):
    """The pipelined LUT network of ``tables`` and their ``covers`` (module docstring); ``inputs``: the width
    of the network's input in features (default: the largest index the first layer reads, plus one)."""

    def __init__(self, tables, covers, *, inputs: int | None = None) -> None:
        tables, covers = list(tables), list(covers)
        if not tables or len(tables) != len(covers):
            raise ValueError(f"a LUT network needs one cover list per layer: {len(tables)} layers, "
                             f"{len(covers)} covers")
        width = inputs if inputs is not None else int(max(int(i) for i in tables[0].indices.ravel())) + 1
        self.layers = []
        for n, (t, c) in enumerate(zip(tables, covers, strict=True)):
            if n and int(t.in_bits) != int(tables[n - 1].out_bits):
                raise ValueError(f"layer {n} reads {t.in_bits}-bit codes but layer {n - 1} writes "
                                 f"{tables[n - 1].out_bits}-bit ones")
            self.layers.append(LutLayer(t, c, width, name=f"layer{n}"))
            width = len(t.indices)
        self.latency = len(self.layers)
        self.in_features = len(self.layers[0].i) // self.layers[0].in_bits
        self.out_features, self.out_bits = width, self.layers[-1].out_bits
        super().__init__({"x": In(len(self.layers[0].i)), "valid": In(1),
                          "y": Out(width * self.out_bits), "y_valid": Out(1)})

    def elaborate(self, platform) -> Module:
        m = Module()
        prev = self.x
        for n, layer in enumerate(self.layers):
            m.submodules[f"layer{n}"] = layer
            m.d.comb += layer.i.eq(prev)
            prev = layer.o
        m.d.comb += self.y.eq(prev)
        stages = Signal(self.latency, name="valid_pipe")  # one valid bit per layer register
        m.d.sync += stages.eq(Cat(self.valid, stages[:-1]) if self.latency > 1 else self.valid)
        m.d.comb += self.y_valid.eq(stages[-1])
        return m
