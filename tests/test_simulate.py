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
from hwsim.frontend import capture, prune
from hwsim.models import create_model
from hwsim.sim import gemm_timing
from hwsim.sim._model import simulate_workload


@pytest.fixture(scope="module")
def mlp_workload(torch_one_thread):
    model = create_model("digits_mlp")
    prune(model, "block:32x32:0.5:pad")
    return capture(model, (torch.randn(256, 64),), name="digits_mlp")


def small(**memory) -> AcceleratorConfig:
    return config_from_dict({"array": {"rows": 8, "cols": 8, "block_k": 8,
                                       "mac": {"kind": "sp2", "params": {"w_bits": 4, "x_bits": 8}}},
                             "memory": {"weight_sram_kb": 64, "act_sram_kb": 64, "out_sram_kb": 32, **memory}})


def test_gemm_cycles_are_the_engine_models_cycles(mlp_workload):
    cfg = small()
    results = simulate_workload(mlp_workload, cfg)
    engine = cfg.array.engine()
    for op, r in zip(mlp_workload, results, strict=True):
        if op.kind != "gemm":
            continue
        shape = GemmShape.of(engine, op.m, op.k, op.n)
        keep = np.repeat(np.repeat(mlp_workload.arrays[op.mask], 32, 0), 32, 1)[: op.k, : op.n]
        padded = np.zeros((shape.k_blocks * 8, shape.n_tiles * 8), bool)
        padded[: op.k, : op.n] = keep
        occupancy = padded.reshape(shape.k_blocks, 8, shape.n_tiles, 8).any(axis=(1, 3))
        assert r.compute_cycles == gemm_timing(engine, op.m, op.k, op.n, occupancy).cycles
        assert r.macs == pytest.approx(op.macs * op.density)


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
    assert {p.name for p in out.iterdir()} == {"report.json", "layers.csv", "layers.md", "config.yaml",
                                                 "latency.png", "energy.png", "area.png"}
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
    weight_bytes = [r.counts["weight_sram_writes"] * 64 / 8 for r in (r1, r2)]  # what the weight SRAM was filled with
    assert r1.counts["in_bytes"] == 64  # int8 activations of the 8x8 image
    assert r1.counts["dram_read_bytes"] == weight_bytes[0] + 64  # the image comes from DRAM once
    # the second conv's input is the first conv's (ReLU'd) output, still on chip: only weights come from DRAM
    assert r2.counts["in_bytes"] == 512
    assert r2.counts["dram_read_bytes"] == weight_bytes[1]


def test_attention_operands_stay_on_chip_when_they_fit(torch_one_thread):
    w = capture(create_model("deit_tiny", attention="sdpa"), (torch.randn(1, 3, 224, 224),))
    results = simulate_workload(w, AcceleratorConfig())
    attention = [r for r, op in zip(results, w, strict=True) if op.kind == "gemm" and op.weight is None]
    assert attention and all(r.counts["dram_read_bytes"] == 0 for r in attention)
    tight = config_from_dict({"memory": {"act_sram_kb": 64}})
    spilled = [r for r, op in zip(simulate_workload(w, tight), w, strict=True)
               if op.kind == "gemm" and op.weight is None]
    assert all(r.counts["dram_read_bytes"] > 0 for r in spilled)


def test_the_output_buffer_must_hold_a_tile(mlp_workload):
    with pytest.raises(ValueError, match="of out_sram .* which has 0.01 KB"):
        simulate_workload(mlp_workload, small(out_sram_kb=0.01))


def test_a_path_to_a_model_file(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("import torch\nmodel = torch.nn.Linear(8, 4)\nexample_args = (torch.randn(2, 8),)\n")
    assert hwsim.simulate(src).totals["dense_macs"] == 2 * 8 * 4
    with pytest.raises(TypeError, match="model must be a Workload"):
        hwsim.simulate(42)
