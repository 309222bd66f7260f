"""Whole-model simulation: consistency with the verified engine model, memory effects, reports, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

import hwsim
from hwsim.arch import AcceleratorConfig, GemmShape, config_from_dict
from hwsim.cli import main
from hwsim.cost import ENERGY_GROUP, cost_tables, leakage_energy_pj
from hwsim.frontend import capture, prune
from hwsim.models import create_model
from hwsim.sim import gemm_timing, op_work, schedule_memory, simulate_workload


@pytest.fixture(scope="module")
def mlp_workload(torch_one_thread):
    model = create_model("digits_mlp")
    prune(model, "block:32x32:0.5:pad")
    return capture(model, (torch.randn(256, 64),), name="digits_mlp")


def small(**memory) -> AcceleratorConfig:
    return config_from_dict({"array": {"rows": 8, "cols": 8, "block_k": 8,
                                       "mac": {"kind": "sp2", "params": {"w_bits": 4, "x_bits": 8}}},
                             "memory": {"weight_sram_kb": 64, "act_sram_kb": 64, "out_sram_kb": 32, **memory}})


def engine_blocks_touched(op, mask, bk_engine: int, cols: int) -> set[tuple[int, int]]:
    """The engine's (K-block, tile column) pairs that hold any kept element, found by interval overlap: each kept
    layer block covers rows [i bk, (i+1) bk) and columns [j bn, (j+1) bn), clipped to the layer."""
    bk, bn = op.block
    touched = set()
    for i, j in zip(*np.nonzero(mask), strict=True):
        r0, r1 = i * bk, min((i + 1) * bk, op.k)
        c0, c1 = j * bn, min((j + 1) * bn, op.n)
        touched.update((kb, nt) for kb in range(r0 // bk_engine, (r1 - 1) // bk_engine + 1)
                       for nt in range(c0 // cols, (c1 - 1) // cols + 1))
    return touched


def occupancy_of(touched: set[tuple[int, int]], shape: GemmShape) -> np.ndarray:
    """(k_blocks, n_tiles) booleans: True at every touched (K-block, tile column)."""
    occupancy = np.zeros((shape.k_blocks, shape.n_tiles), bool)
    for kb, nt in touched:
        occupancy[kb, nt] = True
    return occupancy


def test_gemm_cycles_are_the_engine_models_cycles(mlp_workload):
    cfg = small()
    results = simulate_workload(mlp_workload, cfg)
    engine = cfg.array.engine()
    unit, width = cfg.array.mac.unit, cfg.memory.sram_width_bits
    for op, r in zip(mlp_workload, results, strict=True):
        if op.kind != "gemm":
            continue
        shape = GemmShape.of(engine, op.m, op.k, op.n)
        touched = engine_blocks_touched(op, mlp_workload.arrays[op.mask], cfg.array.block_k, cfg.array.cols)
        occupancy = occupancy_of(touched, shape)
        assert r.compute_cycles == gemm_timing(engine, op.m, op.k, op.n, occupancy).cycles
        assert r.macs == pytest.approx(op.macs * op.density)
        # the weight SRAM is filled with the stored tile-blocks, their 2-byte indices and the column pointers
        filled = r.actions["weight_sram", "write"] * width / 8
        per_block = cfg.array.block_k * cfg.array.cols * unit.w_bits / 8 + 2
        assert (filled - 4 * (shape.n_tiles + 1)) / per_block == len(touched)
        assert len(touched) <= shape.k_blocks * shape.n_tiles


def test_report_totals_add_up(mlp_workload):
    report = hwsim.simulate(mlp_workload, small(), baseline="dense")
    t, layers = report.totals, report.layers
    assert t["cycles"] == layers.cycles.sum() == (layers.compute_cycles + layers.stall_cycles).sum()
    assert t["energy_j"] == pytest.approx(sum(t["energy_by_component_j"].values()))
    assert t["energy_j"] == pytest.approx(layers.energy_pj.sum() * 1e-12)
    assert t["latency_s"] == pytest.approx(t["cycles"] / 500e6)
    assert t["area_mm2"] == pytest.approx(sum(report.area.values()))
    assert report.baseline["speedup"] > 1 and report.baseline["energy_ratio"] > 1
    assert 0 < t["utilization"] <= 1


def test_energy_is_the_action_counts_times_the_table(mlp_workload):
    cfg = small(dram_gbps=0.05)  # stalls too, so leakage runs over compute and stall cycles
    report = hwsim.simulate(mlp_workload, cfg)
    results = simulate_workload(mlp_workload, cfg)
    tables = cost_tables(cfg)
    layers = report.layers
    assert list(layers.name) == [r.name for r in results]
    for (_, row), r in zip(layers.iterrows(), results, strict=True):
        by_group = dict.fromkeys(("mac", "sram", "dram", "vector"), 0.0)
        for (component, action), n in r.actions.items():
            by_group[ENERGY_GROUP[component]] += n * tables.energy_pj[component, action]
        for group, pj in by_group.items():
            assert row[f"energy_{group}_pj"] == pytest.approx(pj, rel=1e-12, abs=1e-9)
        assert row.energy_mac_pj == pytest.approx(r.macs * tables.energy_pj["pe_array", "mac"], rel=1e-12)
        seconds = r.cycles / (cfg.clock_mhz * 1e6)
        assert row.energy_leakage_pj == pytest.approx(tables.leakage_w * seconds * 1e12, rel=1e-12)
        assert row.energy_leakage_pj == leakage_energy_pj(tables, r.cycles, cfg.clock_mhz)
        parts = [row[f"energy_{k}_pj"] for k in ("mac", "sram", "dram", "vector", "leakage")]
        assert row.energy_pj == pytest.approx(sum(parts), rel=1e-12)
        assert row.dram_bytes == r.actions["dram", "read_bytes"] + r.actions["dram", "write_bytes"]
    t = report.totals
    for k, j in t["energy_by_component_j"].items():
        assert j == pytest.approx(layers[f"energy_{k}_pj"].sum() * 1e-12, rel=1e-12)
    # leakage is charged once per cycle of the whole run: static power x latency
    assert t["energy_by_component_j"]["leakage"] == pytest.approx(tables.leakage_w * t["latency_s"], rel=1e-12)
    assert t["energy_j"] == pytest.approx(sum(t["energy_by_component_j"].values()), rel=1e-12)
    assert t["stall_cycles"] > 0 and t["energy_by_component_j"]["leakage"] > 0


def test_the_memory_schedule_adds_records_and_changes_nothing_it_was_given(mlp_workload):
    cfg = small(act_sram_kb=8)  # activations spill: outputs go to DRAM and come back as the next input
    work = op_work(mlp_workload, cfg)
    before = list(work)
    traffic = schedule_memory(work, cfg)
    assert work == before and schedule_memory(work, cfg) == traffic  # pure: same records, nothing mutated
    results = simulate_workload(mlp_workload, cfg)
    for w, t, r in zip(work, traffic, results, strict=True):
        assert r.actions == w.actions + t.actions
        assert (r.transfer_cycles, r.stall_cycles) == (t.transfer_cycles, t.stall_cycles)
        assert t.actions["dram", "read_bytes"] == (w.in_bytes if t.input_from_dram else 0.0)
        assert t.actions["dram", "write_bytes"] == (w.out_bytes if t.output_to_dram else 0.0)
    assert traffic[0].input_from_dram  # the network's input starts in DRAM
    spilled = [i for i, t in enumerate(traffic[:-1]) if t.output_to_dram]
    assert spilled and all(traffic[i + 1].input_from_dram for i in spilled)


def test_slow_dram_stalls_and_double_buffering_hides_transfers(mlp_workload):
    fast = hwsim.simulate(mlp_workload, small(dram_gbps=1000.0)).totals
    slow = hwsim.simulate(mlp_workload, small(dram_gbps=0.05)).totals
    serial = hwsim.simulate(mlp_workload, small(dram_gbps=0.05, double_buffer=False)).totals
    assert fast["stall_cycles"] < slow["stall_cycles"] < serial["stall_cycles"]
    assert slow["cycles"] > fast["cycles"]


def test_activations_stay_on_chip_when_they_fit(mlp_workload):
    roomy = hwsim.simulate(mlp_workload, small(act_sram_kb=64)).totals["dram_bytes"]
    tight = hwsim.simulate(mlp_workload, small(act_sram_kb=8)).totals["dram_bytes"]
    assert tight > roomy


def test_a_tile_that_fits_no_buffer_is_refused(mlp_workload):
    with pytest.raises(ValueError, match=r"needs .* KB of weight_sram \(double-buffered\), which has 0.1 KB"):
        simulate_workload(mlp_workload, small(weight_sram_kb=0.1))


def test_unmapped_ops_are_refused():
    class Sorts(torch.nn.Module):
        def forward(self, x):
            return torch.sort(x).values

    w = capture(Sorts(), (torch.randn(4, 4),), strict=False)
    with pytest.raises(ValueError, match="unmapped ops .*aten.sort"):
        hwsim.simulate(w)


def test_simulate_cli_writes_the_whole_report(tmp_path, mlp_workload, capsys):
    saved = mlp_workload.save(tmp_path / "mlp.npz")
    out = tmp_path / "report"
    cfg = tmp_path / "arch.yaml"
    cfg.write_text("array: {rows: 8, cols: 8, block_k: 8}\n")
    assert main(["simulate", str(saved), "--arch", str(cfg), "--baseline", "dense", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    for key in ("cycles", "latency_s", "energy_j", "area_mm2", "macs", "speedup", "energy_ratio"):
        assert key in report
    layers = pd.read_csv(out / "layers.csv")
    assert layers.cycles.sum() == report["cycles"]
    assert {p.name for p in out.iterdir()} == {"report.json", "layers.csv", "compression.csv", "layers.md",
                                                 "config.yaml", "latency.png", "energy.png", "area.png"}
    assert "rows: 8" in (out / "config.yaml").read_text()
    assert "speedup" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["simulate", "deit_smal", "--out", "r"], "did you mean deit_small"),
    (["simulate", "missing.npz", "--out", "r"], "workload file 'missing.npz' does not exist"),
    (["simulate", "digits_mlp", "--arch", "bad.yaml", "--out", "r"], "bad.yaml: unknown key 'arrayy'"),
])
def test_bad_input_exits_2_and_leaves_no_report(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text("arrayy: {}\n")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_an_unwritable_out_is_refused_before_simulating(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["simulate", "digits_mlp", "--out", str(blocker / "r")]) == 2
    assert "--out" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_runs_the_main_job(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["model"] == "deit_small" and report["speedup"] > 1
    assert "report written to" in capsys.readouterr().out


def test_a_convolution_reads_its_feature_map_not_the_im2col_expansion(torch_one_thread):
    w = capture(create_model("digits_cnn"), (torch.randn(1, 1, 8, 8),))
    first, second = w.gemms[0], w.gemms[1]
    assert first.input_elements == 64 and first.m * first.k == 64 * 9
    results = {r.name: r for r in simulate_workload(w, AcceleratorConfig())}
    r1, r2 = results[first.name], results[second.name]
    weight_bytes = [r.actions["weight_sram", "write"] * 64 / 8 for r in (r1, r2)]  # what filled the weight SRAM
    assert r1.in_bytes == 64  # int8 activations of the 8x8 image
    assert r1.actions["dram", "read_bytes"] == weight_bytes[0] + 64  # the image comes from DRAM once
    # the second conv's input is the first conv's (ReLU'd) output, still on chip: only weights come from DRAM
    assert r2.in_bytes == 512
    assert r2.actions["dram", "read_bytes"] == weight_bytes[1]


def test_attention_operands_stay_on_chip_when_they_fit(torch_one_thread):
    w = capture(create_model("deit_tiny", attention="sdpa"), (torch.randn(1, 3, 224, 224),))
    results = simulate_workload(w, AcceleratorConfig())
    attention = [r for r, op in zip(results, w, strict=True) if op.kind == "gemm" and op.weight is None]
    assert attention and all(r.actions["dram", "read_bytes"] == 0 for r in attention)
    tight = config_from_dict({"memory": {"act_sram_kb": 64}})
    spilled = [r for r, op in zip(simulate_workload(w, tight), w, strict=True)
               if op.kind == "gemm" and op.weight is None]
    assert all(r.actions["dram", "read_bytes"] > 0 for r in spilled)


def test_the_output_buffer_must_hold_a_tile(mlp_workload):
    with pytest.raises(ValueError, match="of out_sram .* which has 0.01 KB"):
        simulate_workload(mlp_workload, small(out_sram_kb=0.01))


def test_a_path_to_a_model_file(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("import torch\nmodel = torch.nn.Linear(8, 4)\nexample_args = (torch.randn(2, 8),)\n")
    assert hwsim.simulate(src).totals["dense_macs"] == 2 * 8 * 4
    with pytest.raises(TypeError, match="model must be a Workload"):
        hwsim.simulate(42)


def ws(**memory) -> AcceleratorConfig:
    cfg = small(**memory).to_dict()
    cfg["array"]["dataflow"] = "ws"
    return config_from_dict(cfg)


def test_weight_stationary_gemms_run_on_the_ws_engine(mlp_workload):
    """Same MACs and weight traffic as OS; the cycles are the WS engine's, and partial sums go through out_sram at
    accumulator width: every fold writes M rows, every fold but a column's first reads them back."""
    cfg = ws()
    engine = cfg.array.engine()
    acc, width = engine.mac.acc_bits, cfg.memory.sram_width_bits
    os_results = simulate_workload(mlp_workload, small())
    for op, r, o in zip(mlp_workload, simulate_workload(mlp_workload, cfg), os_results, strict=True):
        if op.kind != "gemm":
            continue
        shape = GemmShape.of(engine, op.m, op.k, op.n)
        touched = engine_blocks_touched(op, mlp_workload.arrays[op.mask], cfg.array.block_k, cfg.array.cols)
        occupancy = occupancy_of(touched, shape)
        t = gemm_timing(engine, op.m, op.k, op.n, occupancy)
        assert t.dataflow == "ws" and r.compute_cycles == t.cycles  # M = 256 fits out_sram in one pass
        assert r.macs == o.macs and r.actions["dram", "read_bytes"] == o.actions["dram", "read_bytes"]
        folds = int(np.maximum(occupancy.sum(axis=0), 1).sum())
        partial_rows = (folds - shape.n_tiles) * op.m
        assert r.actions["out_sram", "read"] == pytest.approx(partial_rows * cfg.array.cols * acc / width)
        assert r.actions["act_sram", "read"] == pytest.approx(op.m * len(touched) * 8 * 8 / width)
        assert r.compute_cycles != o.compute_cycles


def test_weight_stationary_m_runs_in_passes_the_output_buffer_holds(mlp_workload):
    """With room for the partial sums of 100 rows (x 8 columns x acc_bits, double-buffered), M = 256 runs as
    passes of 100, 100 and 56 rows, each re-reading the weights."""
    acc = ws().array.mac.unit.acc_bits
    cfg = ws(out_sram_kb=2 * 100 * 8 * acc / 8 / 1024)
    engine = cfg.array.engine()
    one = simulate_workload(mlp_workload, ws())
    for op, r, full in zip(mlp_workload, simulate_workload(mlp_workload, cfg), one, strict=True):
        if op.kind != "gemm":
            continue
        shape = GemmShape.of(engine, op.m, op.k, op.n)
        occupancy = occupancy_of(engine_blocks_touched(op, mlp_workload.arrays[op.mask], 8, 8), shape)
        passes = [gemm_timing(engine, rows, op.k, op.n, occupancy).cycles for rows in (100, 100, 56)]
        assert op.m == 256 and r.compute_cycles == sum(passes)
        assert r.actions["weight_sram", "read"] == pytest.approx(3 * full.actions["weight_sram", "read"])
        assert r.actions["out_sram", "read"] == pytest.approx(full.actions["out_sram", "read"])


def test_weight_stationary_needs_room_for_one_row_of_partial_sums(mlp_workload):
    with pytest.raises(ValueError, match="one row of X through a 8x8 weight-stationary array .* of out_sram"):
        simulate_workload(mlp_workload, ws(out_sram_kb=0.01))
    with pytest.raises(ValueError, match="array: a weight-stationary array .* block_k must equal rows, not 4"):
        config_from_dict({"array": {"rows": 8, "block_k": 4, "dataflow": "ws"}})


def nm(group: int = 4, **memory) -> AcceleratorConfig:
    cfg = small(**memory).to_dict()
    cfg["array"]["nm_group"] = group
    return config_from_dict(cfg)


@pytest.fixture(scope="module")
def nm_workload(torch_one_thread):
    model = create_model("digits_mlp")
    prune(model, "nm:2:4")
    return capture(model, (torch.randn(64, 64),), name="digits_mlp")


@pytest.mark.parametrize("group", [4, 8])
def test_nm_pes_stream_half_the_k_steps_of_a_2_4_layer(nm_workload, group):
    """2:4 keeps at most 4 of every 8 too: groups of 8 take 4 tokens, groups of 4 take 2; either way the weight
    GEMMs stream half the K-steps of the plain engine, and store each weight with its position."""
    plain, cfg = small(), nm(group)
    engine = cfg.array.engine()
    for op, r, p in zip(nm_workload, simulate_workload(nm_workload, cfg), simulate_workload(nm_workload, plain),
                        strict=True):
        if op.kind != "gemm":
            continue
        tokens = group // 2
        assert r.compute_cycles == gemm_timing(engine, op.m, op.k, op.n, group_tokens=tokens).cycles
        stream = gemm_timing(plain.array.engine(), op.m, op.k, op.n).stream_cycles
        assert p.compute_cycles - r.compute_cycles == stream // 2
        w_bits = cfg.array.mac.unit.w_bits
        assert r.actions["weight_sram", "write"] == pytest.approx(  # the weights filled from DRAM
            p.actions["weight_sram", "write"] / 2 * (w_bits + engine.idx_bits) / w_bits)
        assert r.actions["act_sram", "read"] == pytest.approx(p.actions["act_sram", "read"])


def test_nm_pes_run_a_dense_layer_at_dense_speed_and_traffic(mlp_workload):
    cfg = nm(4)
    for r, p in zip(simulate_workload(mlp_workload, cfg), simulate_workload(mlp_workload, small()), strict=True):
        assert r.compute_cycles == p.compute_cycles
        assert r.actions == p.actions


def test_nm_pes_cost_their_mux():
    """The N:M PE is synthesized and simulated as its own design: more area and energy per MAC than the MAC."""
    from hwsim.cost import cost_tables

    plain, with_mux = cost_tables(small()), cost_tables(nm(4))
    assert with_mux.area_mm2["pe_array"] > plain.area_mm2["pe_array"]
    assert with_mux.energy_pj["pe_array", "mac"] > plain.energy_pj["pe_array", "mac"]
    assert "4:1 N:M activation mux" in with_mux.sources["mac"]
    with pytest.raises(ValueError, match="nm_group=4 must divide block_k=2"):
        config_from_dict({"array": {"rows": 8, "block_k": 2, "nm_group": 4}})
