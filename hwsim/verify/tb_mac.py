"""cocotb bench for one MAC unit: drives golden-model stimulus and checks every cycle.

Run by `hwsim.verify.verify_mac` (``hwsim rtl verify``) and tests/rtl/test_mac_cocotb.py, which pass the unit and
the streams in environment variables: HWSIM_MAC (JSON: kind and parameters), HWSIM_STREAMS (JSON list of
["exhaustive"] or ["random", cycles, seed]) and HWSIM_REPORT (a file that receives the first mismatch).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

from hwsim.mac import MacOutputs, exhaustive_stream, first_mismatch, make_mac, random_stream
from hwsim.verify._bench import reset


def _streams(unit):
    for spec in json.loads(os.environ["HWSIM_STREAMS"]):
        if spec[0] == "exhaustive":
            yield "exhaustive", exhaustive_stream(unit)
        else:
            _, cycles, seed = spec
            yield f"random(seed={seed})", random_stream(unit, cycles, seed)


def _ports(unit) -> list[str]:
    return ["clk", "rst", "valid", "clear", "w", "x", "acc", *(["mode"] if unit.has_mode else []),
            *(["nar"] if unit.has_nar else []), *(["out"] if unit.has_readout else [])]


@cocotb.test()
async def mac_matches_golden_model(dut):
    config = json.loads(os.environ["HWSIM_MAC"])
    unit = make_mac(config.pop("kind"), **config)
    missing = [p for p in _ports(unit) if not hasattr(dut, p)]
    if missing:  # a user's own Verilog (hwsim rtl verify --verilog) must have the generated design's ports
        report = f"the design has no port {', '.join(missing)}; the {unit.kind} MAC's are {', '.join(_ports(unit))}"
        Path(os.environ["HWSIM_REPORT"]).write_text(report)
        raise AssertionError(report)
    try:
        await _check(dut, unit)
    except AssertionError:
        raise
    except Exception as e:  # a port too narrow for the stimulus, say: the report says so instead of a traceback
        Path(os.environ["HWSIM_REPORT"]).write_text(f"the bench stopped: {type(e).__name__}: {e}")
        raise


async def _check(dut, unit) -> None:
    Clock(dut.clk, 10, unit="ns").start()
    for label, stream in _streams(unit):
        # reset, then drive on falling edges and sample on the next one (after the rising edge)
        await reset(dut, valid=0, clear=0)
        got = []
        for inp in stream:
            dut.valid.value = inp.valid
            dut.clear.value = inp.clear
            dut.w.value = inp.w
            dut.x.value = inp.x
            if unit.has_mode:
                dut.mode.value = inp.mode
            await FallingEdge(dut.clk)
            acc = dut.acc.value.to_signed()
            nar = int(dut.nar.value) if unit.has_nar else 0
            out = int(dut.out.value) if unit.has_readout else acc
            got.append(MacOutputs(acc, nar, out))
        report = first_mismatch(unit, stream, got)
        if report:
            Path(os.environ["HWSIM_REPORT"]).write_text(f"{label}: {report}")
            raise AssertionError(f"{label}: {report}")
        dut._log.info("%s: %d cycles match the golden model", label, len(stream))
