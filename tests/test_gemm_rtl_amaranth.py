# amaranth: UnusedElaboratable=no
"""Tier 2: the block-sparse GEMM RTL (both dataflows) in Amaranth's simulator against hwsim.sim (exact Y, exact
cycles).

A few of tests/rtl/test_gemm_cocotb.py's runs, for feedback without an HDL simulator.
"""

from __future__ import annotations

import pytest
from amaranth.sim import Simulator

from hwsim.arch import EngineConfig
from hwsim.mac import make_mac
from hwsim.rtl import BlockSparseGemm, WeightStationaryGemm, gemm_component
from hwsim.verify.gemm_cases import (
    GemmCase,
    build_case,
    check_result,
    gemm_runs,
    load_writes,
    nm_gemm_runs,
    run_depths,
    run_id,
    ws_gemm_runs,
)

RUNS = gemm_runs()
# gap 0 (1x1), saturating 4x4 with block_n < cols, MSQ 2x2, posit_fixp 1x1, quire 2x2, saturating posit/fixed
# rows 3x2 (corner codes: NaR in both modes), the explicit masks (the last run)
PICKED = [RUNS[i] for i in (0, 2, 8, 12, 14, 16, -1)]
WS_RUNS = ws_gemm_runs()
# weight-stationary: 1x1 (the psum gap), saturating 4x4 with block_n < cols, MSQ 3x3, quire 3x2, the explicit masks
WS_PICKED = [WS_RUNS[i] for i in (0, 2, 7, 11, -1)]
NM_RUNS = nm_gemm_runs()
# N:M: 2:2 saturating, MSQ in groups of 2, posit_fixp in groups of 8, the quire in groups of 3
NM_PICKED = [NM_RUNS[i] for i in (0, 3, 4, 5)]


def run_in_amaranth(cases: list[GemmCase]) -> list[tuple[list[int], int, bool]]:
    """On one design, for each case: load it, pulse start, count cycles to done, read every Y word.

    Each case gives (Y words, cycles, handshake ok: busy from cycle 1 until done rises, then low)."""
    dut = gemm_component(cases[0].cfg, **run_depths(cases))
    results = []

    async def bench(ctx):
        for case in cases:
            for name, value in case.runtime.items():
                ctx.set(getattr(dut, name), value)
            ctx.set(dut.load_en, 1)
            for sel, addr, data in load_writes(case):
                ctx.set(dut.load_sel, sel)
                ctx.set(dut.load_addr, addr)
                ctx.set(dut.load_data, data)
                await ctx.tick()
            ctx.set(dut.load_en, 0)
            ctx.set(dut.start, 1)  # sampled by the next edge: cycle 0
            cycles, handshake, limit = 0, True, 4 * case.expected_cycles() + 100
            while cycles < limit:
                await ctx.tick()
                cycles += 1
                ctx.set(dut.start, 0)
                if ctx.get(dut.done):
                    break
                handshake &= bool(ctx.get(dut.busy))
            handshake &= not ctx.get(dut.busy)
            words = []
            for addr in range(case.y_words):
                ctx.set(dut.y_addr, addr)
                await ctx.tick()  # registered read: latency 1
                words.append(ctx.get(dut.y_data))
            results.append((words, cycles, handshake))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return results


def check_run(run: list[dict]) -> None:
    cases = [build_case(spec) for spec in run]
    for case, (words, cycles, handshake) in zip(cases, run_in_amaranth(cases), strict=True):
        report = check_result(case, words, cycles)
        assert report is None, report
        assert handshake, "busy must be high from cycle 1 until done rises, and low with done"


@pytest.mark.parametrize("run", PICKED + WS_PICKED + NM_PICKED, ids=run_id)
def test_gemm_rtl_matches_model(run):
    check_run(run)


def test_ws_gemm_a_second_start_repeats_the_gemm():
    check_run([WS_RUNS[4][1]] * 2)


def test_gemm_component_picks_the_dataflow_and_each_engine_refuses_the_other():
    os_cfg = build_case(RUNS[0][0]).cfg
    ws_cfg = build_case(WS_RUNS[0][0]).cfg
    depths = {"x_depth": 8, "w_depth": 8, "idx_depth": 4, "max_n_tiles": 2, "y_depth": 8}
    for cfg, cls in ((os_cfg, BlockSparseGemm), (ws_cfg, WeightStationaryGemm)):
        dut = gemm_component(cfg, **depths)
        assert type(dut) is cls
        dut._MustUse__silence = True  # built only to check its type, never elaborated
    with pytest.raises(ValueError, match="dataflow='ws'"):
        BlockSparseGemm(ws_cfg, **depths)
    with pytest.raises(ValueError, match="dataflow='os'"):
        WeightStationaryGemm(os_cfg, **depths)


def test_a_second_start_repeats_the_gemm():
    """done stays high until the next start; the same problem again on the same memories gives the same result."""
    check_run([RUNS[3][0]] * 2)


def test_a_wrong_result_is_reported():
    case = build_case(RUNS[1][1])
    (words, cycles, _), = run_in_amaranth([case])
    assert check_result(case, words, cycles) is None
    words[1] ^= 1 << case.cfg.mac.acc_bits  # lane 1 of Y word 1 (row 1 of tile 0), off by one LSB
    report = check_result(case, words, cycles + 1)
    assert f"cycles: expected {cycles}, measured {cycles + 1}" in report
    assert "1 Y element(s) differ" in report and "Y[1, 1]" in report


def test_depths_are_checked():
    cfg = EngineConfig(rows=2, cols=2, block_k=4, block_n=2, mac=make_mac("fixed", w_bits=4, x_bits=4))
    good = dict(x_depth=8, w_depth=8, idx_depth=2, max_n_tiles=1, y_depth=2)
    BlockSparseGemm(cfg, **good)
    for name, bad in (("x_depth", 3), ("w_depth", 0), ("idx_depth", 1.5), ("max_n_tiles", 0), ("y_depth", 1)):
        with pytest.raises(ValueError, match=name):
            BlockSparseGemm(cfg, **{**good, name: bad})


def test_nm_parity_catches_a_mux_that_ignores_the_position(monkeypatch):
    """The N:M runs are sensitive to the activation mux: one that always takes the group's first activation
    gives wrong Y."""
    from amaranth.hdl import Module

    import hwsim.rtl.mac as mac_rtl

    def first_only(self, platform):
        m = Module()
        m.submodules.mac = mac = mac_rtl.mac_component(self.unit)
        m.d.comb += [mac.valid.eq(self.valid), mac.clear.eq(self.clear), mac.w.eq(self.w), mac.x.eq(self.x0),
                     self.acc.eq(mac.acc)]
        if self.unit.has_mode:
            m.d.comb += mac.mode.eq(self.mode)
        return m

    monkeypatch.setattr(mac_rtl.NMPe, "elaborate", first_only)
    cases = [build_case(spec) for spec in NM_RUNS[0]]
    reports = [check_result(case, words, cycles) for case, (words, cycles, _) in zip(cases, run_in_amaranth(cases),
                                                                                      strict=True)]
    assert any(r and "Y element(s) differ" in r for r in reports)
