"""Stimulus and checking shared by every MAC test bench (Amaranth simulator and cocotb alike).

A bench drives ``MacInputs`` for one cycle each, samples the outputs after the rising edge, and hands the
trace to `first_mismatch`, which replays the golden pipeline and names the first cycle that differs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..formats import Fixed, Posit
from ._pipeline import MacInputs, MacOutputs, MacPipeline
from ._units import LATENCY, MacUnit


def corner_codes(fmt) -> list[int]:
    """Codes at the edges of a format: zero, the extremes of each sign, NaR for posits."""
    b = fmt.bits
    if isinstance(fmt, Posit):
        return [0, 1, (1 << (b - 1)) - 1, fmt.nar_code, fmt.nar_code + 1, (1 << b) - 1, int(fmt.encode(1.0))]
    if isinstance(fmt, Fixed) and fmt.signed:
        return [0, 1, (1 << (b - 1)) - 1, 1 << (b - 1), (1 << b) - 1]
    return sorted({0, 1, (1 << b) - 1, 1 << (b - 1), (1 << (b - 1)) - 1})


def weight_corner_codes(unit: MacUnit) -> list[int]:
    """`corner_codes` of every reading of the weight port: the weight format's, then (kinds with a per-row mode)
    those of ``fixed_format`` that are not already among them. Every code fits the ``w`` port."""
    codes = corner_codes(unit.w_format)
    other = getattr(unit, "fixed_format", None)
    if other is not None:
        codes += [c for c in corner_codes(other) if c not in codes]
    return codes


def exhaustive_stream(unit: MacUnit) -> list[MacInputs]:
    """Every weight code x every activation code (x both modes for kinds with a mode), one product per cycle.

    Each cycle has clear and valid set, so the accumulator shows each product alone, two cycles later.
    """
    modes = (0, 1) if unit.has_mode else (0,)
    stream = [MacInputs(valid=1, clear=1, w=w, x=x, mode=m)
              for m in modes for w in range(1 << unit.w_bits) for x in range(1 << unit.x_bits)]
    return stream + [MacInputs()] * (LATENCY + 1)


def random_stream(unit: MacUnit, cycles: int, seed: int, *, p_valid: float = 0.8, p_clear: float = 0.08,
                  p_corner: float = 0.25, p_burst: float = 0.3) -> list[MacInputs]:
    """Random inputs with valid gaps, clears, and bursts of corner codes that drive the accumulator to wrap or
    saturate (runs of the largest products with no clear) and, for posits, NaR. Weight corners are those of
    every reading of the weight port (`weight_corner_codes`); random weights span the whole port."""
    rng = np.random.default_rng(seed)
    w_corners, x_corners = weight_corner_codes(unit), corner_codes(unit.x_format)
    stream: list[MacInputs] = []
    burst = 0
    while len(stream) < cycles:
        if burst == 0 and rng.random() < p_burst / 20:
            burst = int(rng.integers(4, 40))  # a run of extreme products with no clear
            bw, bx = int(rng.choice(w_corners)), int(rng.choice(x_corners))
        if burst:
            burst -= 1
            stream.append(MacInputs(valid=1, clear=0, w=bw, x=bx, mode=int(rng.integers(2)) if unit.has_mode else 0))
            continue
        corner = rng.random() < p_corner
        w = int(rng.choice(w_corners)) if corner and rng.random() < 0.5 else int(rng.integers(1 << unit.w_bits))
        x = int(rng.choice(x_corners)) if corner and rng.random() < 0.5 else int(rng.integers(1 << unit.x_bits))
        stream.append(MacInputs(
            valid=int(rng.random() < p_valid), clear=int(rng.random() < p_clear), w=w, x=x,
            mode=int(rng.integers(2)) if unit.has_mode else 0,
        ))
    return stream + [MacInputs()] * (LATENCY + 1)


def expected_outputs(unit: MacUnit, stream: Sequence[MacInputs]) -> list[MacOutputs]:
    """The golden pipeline's outputs after each cycle's rising edge, from reset."""
    if not stream:
        return []
    # all products in one vectorised call; the pipeline loop then only adds
    w = np.array([i.w for i in stream])
    x = np.array([i.x for i in stream])
    mode = np.array([i.mode for i in stream]) if unit.has_mode else None
    products, nars = unit.product(w, x, mode), unit.is_nar(w, x, mode)
    pipe = MacPipeline(unit)
    return [pipe.step_product(i.valid, i.clear, p, n) for i, p, n in zip(stream, products, nars, strict=True)]


def first_mismatch(unit: MacUnit, stream: Sequence[MacInputs], got: Sequence[MacOutputs]) -> str | None:
    """None when ``got`` matches the golden model cycle for cycle, else a report of the first difference:
    the cycle, the inputs that produced it (this cycle and the one before), expected and got."""
    if len(got) != len(stream):
        return f"trace has {len(got)} cycles for {len(stream)} inputs"
    for cycle, (want, have) in enumerate(zip(expected_outputs(unit, stream), got, strict=True)):
        for port in ("acc", "nar", "out") if unit.has_readout else ("acc", "nar"):
            if not unit.has_nar and port == "nar":
                continue
            e, g = getattr(want, port), getattr(have, port)
            if e != g:
                before = stream[cycle - 1] if cycle else None
                return (f"{unit.name}: cycle {cycle}: {port} expected {e}, got {g}; "
                        f"inputs at cycle {cycle}: {stream[cycle]}, at cycle {cycle - 1}: {before}")
    return None
