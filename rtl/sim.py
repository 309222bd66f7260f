"""Drive a MAC component in Amaranth's simulator with a stimulus stream and record its outputs."""

from __future__ import annotations

from collections.abc import Sequence

from amaranth.sim import Simulator

from hwsim.mac import MacInputs, MacOutputs

from .mac import MacBase


def simulate_mac(dut: MacBase, stream: Sequence[MacInputs]) -> list[MacOutputs]:
    """Apply one ``MacInputs`` per clock cycle from reset; return the outputs after each rising edge."""
    unit = dut.unit
    trace: list[MacOutputs] = []

    async def bench(ctx):
        for inp in stream:
            ctx.set(dut.valid, inp.valid)
            ctx.set(dut.clear, inp.clear)
            ctx.set(dut.w, inp.w)
            ctx.set(dut.x, inp.x)
            if unit.has_mode:
                ctx.set(dut.mode, inp.mode)
            await ctx.tick()
            acc = ctx.get(dut.acc)
            nar = ctx.get(dut.nar) if unit.has_nar else 0
            out = ctx.get(dut.out) if unit.has_readout else acc
            trace.append(MacOutputs(acc, nar, out))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return trace
