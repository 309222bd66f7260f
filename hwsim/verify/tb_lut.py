"""cocotb bench for one LUT network (`hwsim.rtl.LutNetwork`): streams samples, one per cycle, and checks every
result, its timing and the valid flag.

Run by `hwsim.verify.verify_lut` (``hwsim rtl verify lut``) and tests/rtl/test_lut_cocotb.py, which write the case
to the JSON file named by HWSIM_LUT: the pipeline latency, the ``x`` port value of every sample and the ``y`` value
the quantized torch model gives for it; HWSIM_REPORT names a file that receives the first mismatch.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

from hwsim.verify._bench import reset

PORTS = ("clk", "rst", "x", "valid", "y", "y_valid")


@cocotb.test()
async def lut_network_matches_torch(dut):
    missing = [p for p in PORTS if not hasattr(dut, p)]
    if missing:  # a user's own Verilog (hwsim rtl verify lut --verilog) must have the generated design's ports
        report = f"the design has no port {', '.join(missing)}; a LUT network's are {', '.join(PORTS)}"
        Path(os.environ["HWSIM_REPORT"]).write_text(report)
        raise AssertionError(report)
    case = json.loads(Path(os.environ["HWSIM_LUT"]).read_text())
    latency, inputs, expected = case["latency"], case["inputs"], case["expected"]
    Clock(dut.clk, 10, unit="ns").start()
    await reset(dut, valid=0, x=0)
    # drive on falling edges; after k rising edges the sample driven k cycles earlier is on y (k = latency)
    failure = None
    for cycle in range(len(inputs) + latency + 2):
        sample = cycle - latency  # the sample whose result y shows during this cycle
        valid_now = 0 <= sample < len(inputs)
        got_valid = int(dut.y_valid.value)
        if got_valid != int(valid_now):
            failure = f"cycle {cycle}: y_valid {got_valid}, expected {int(valid_now)} (latency {latency})"
            break
        if valid_now:
            got = int(dut.y.value)
            if got != expected[sample]:
                failure = (f"cycle {cycle}: sample {sample}, x = {inputs[sample]:#x}: y expected "
                           f"{expected[sample]:#x}, got {got:#x}")
                break
        if cycle < len(inputs):
            dut.x.value = inputs[cycle]
            dut.valid.value = 1
        else:
            dut.x.value = 0
            dut.valid.value = 0
        await FallingEdge(dut.clk)
    if failure:
        Path(os.environ["HWSIM_REPORT"]).write_text(failure)
        raise AssertionError(failure)
    dut._log.info("%d samples match the torch model, %d cycles after they entered", len(inputs), latency)
