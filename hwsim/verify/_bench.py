"""What every cocotb bench here does first (imported in the simulator's Python, so cocotb only)."""

from __future__ import annotations

from cocotb.triggers import FallingEdge


async def reset(dut, **idle: int) -> None:
    """Two cycles of synchronous reset with the ``idle`` inputs held (e.g. ``valid=0``), released on a falling
    edge: benches drive on falling edges and the designs sample on rising ones."""
    dut.rst.value = 1
    for name, value in idle.items():
        getattr(dut, name).value = value
    for _ in range(2):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
