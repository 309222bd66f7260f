"""cocotb bench for the block-sparse GEMM engine: loads each problem, runs it, checks Y and the cycle count.

Run by `hwsim.verify.verify_gemm` (``hwsim rtl verify gemm``) and tests/rtl/test_gemm_cocotb.py, which pass the
work in environment variables: HWSIM_GEMM (JSON: one case, or a list of cases on the same engine run back to
back; see gemm_cases.py: engine, MAC kind and parameters, m, k, n, mask, seed) and HWSIM_REPORT (a file that
receives the mismatch report). Y must equal `hwsim.sim.gemm_outputs` bit for bit and the rising edges from start
to done must equal `hwsim.sim.gemm_timing(...).cycles`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

from hwsim.verify._bench import reset
from hwsim.verify.gemm_cases import GemmCase, build_case, check_result, load_writes


async def run_case(dut, case: GemmCase) -> str | None:
    """Load one problem, start it, count cycles to done, read Y back; the mismatch report or None."""
    for name, value in case.runtime.items():
        getattr(dut, name).value = value
    dut.load_en.value = 1
    for sel, addr, data in load_writes(case):
        dut.load_sel.value = sel
        dut.load_addr.value = addr
        dut.load_data.value = data
        await FallingEdge(dut.clk)
    dut.load_en.value = 0

    # start is high in cycle 0; done is first seen high in cycle `cycles`, i.e. after that many rising edges
    dut.start.value = 1
    cycles, limit = 0, 4 * case.expected_cycles() + 100
    while cycles < limit:
        await RisingEdge(dut.clk)
        cycles += 1
        await FallingEdge(dut.clk)
        dut.start.value = 0
        if int(dut.done.value):
            break

    words, unknown = [], []
    for addr in range(case.y_words):  # registered read: the word is there after the next rising edge
        dut.y_addr.value = addr
        await FallingEdge(dut.clk)
        value = dut.y_data.value
        if value.is_resolvable:
            words.append(int(value))
        else:  # X or Z bits: report them, compare the word as zero
            unknown.append(f"ymem[{addr}] = {value}")
            words.append(0)
    report = check_result(case, words, cycles)
    if unknown:
        report = (report or f"GEMM case {json.dumps(case.spec)}:") + f" Unknown bits in Y: {'; '.join(unknown)}."
    if report is None:
        dut._log.info("%dx%dx%d: Y (%d words) and %d cycles match the model", *case.x.shape, case.w.shape[1],
                      len(words), cycles)
    return report


def engine_ports(case: GemmCase) -> tuple[str, ...]:
    """The engine's ports; M is m_tiles (output-stationary) or m_rows (weight-stationary)."""
    return ("clk", "rst", "start", "busy", "done", *case.runtime, "load_en", "load_sel", "load_addr", "load_data",
            "y_addr", "y_data")


@cocotb.test()
async def gemm_matches_model(dut):
    work = json.loads(os.environ["HWSIM_GEMM"])
    cases = [build_case(spec) for spec in (work if isinstance(work, list) else [work])]
    ports = engine_ports(cases[0])
    missing = [p for p in ports if not hasattr(dut, p)]
    if missing:  # a user's own Verilog (hwsim rtl verify gemm --verilog) must have the generated design's ports
        report = f"the design has no port {', '.join(missing)}; the engine's are {', '.join(ports)}"
        Path(os.environ["HWSIM_REPORT"]).write_text(report)
        raise AssertionError(report)
    Clock(dut.clk, 10, unit="ns").start()
    await reset(dut, start=0, load_en=0, y_addr=0)  # then drive on falling edges (the design samples on rising)
    reports = [r for r in [await run_case(dut, case) for case in cases] if r]
    if reports:
        report = " ".join(reports)
        Path(os.environ["HWSIM_REPORT"]).write_text(report)
        raise AssertionError(report)
