"""The quantization study (`hwsim study quant`), Pareto fronts, and the data-dependent MAC energy it reports."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

import hwsim
from hwsim.cli import main
from hwsim.study import DEFAULT_SCHEMES, pareto_front, quant_study

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_pareto_front_by_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(50):
        c, a = rng.integers(0, 6, 9).astype(float), rng.integers(0, 6, 9).astype(float)
        front = pareto_front(c, a)
        for i in range(9):
            beaten = any(c[j] <= c[i] and a[j] >= a[i] and (c[j] < c[i] or a[j] > a[i]) for j in range(9))
            assert front[i] == (not beaten)
    assert pareto_front([1.0, 1.0], [0.5, 0.5]).all()  # equal points do not dominate each other


def test_study_rows_match_simulate_and_evaluate_per_scheme(tmp_path):
    schemes = ["fixed:4", "sp2:4", "posit+fixed:4:1:4"]
    study = quant_study("digits_mlp", ",".join(schemes))
    t = study.table
    assert list(t.scheme) == ["fixed:4", "sp2:4", "posit+fixed:4:1:4:0.5"]
    assert (t.accuracy == t.hardware_accuracy).all()  # the two accuracy paths agree
    for row in t.itertuples():
        report = hwsim.simulate("digits_mlp", quant=row.scheme, act_bits=8)  # default arch: the scheme's MAC
        assert row.energy_j == pytest.approx(report.totals["energy_j"], rel=1e-12)
        assert row.latency_s == report.totals["latency_s"] and row.area_mm2 == report.totals["area_mm2"]
        assert row.mac == report.meta["mac"].split(" chosen")[0].removeprefix("MAC ")
        assert row.accuracy == hwsim.evaluate("digits_mlp", quant=row.scheme, act_bits=8).accuracy
    # each scheme ran on its own MAC: the PE arrays differ, the rest of the accelerator does not
    assert t.pe_array_mm2.nunique() == 3
    assert (t.area_mm2 - t.pe_array_mm2).round(12).nunique() == 1
    assert (t.pareto_energy == pareto_front(t.energy_j, t.accuracy)).all()
    study.save(tmp_path)
    back = pd.read_csv(tmp_path / "study.csv")
    assert {"scheme", "accuracy", "latency_s", "energy_j", "mac_energy_j", "area_mm2", "pe_array_mm2"} <= set(back)
    md = (tmp_path / "study.md").read_text()
    assert "hwsim study quant digits_mlp" in md and "posit+fixed:4:1:4:0.5" in md
    for fig in ("accuracy_vs_energy.png", "accuracy_vs_mac_energy.png", "accuracy_vs_area.png"):
        assert (tmp_path / fig).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_study_with_an_arch_keeps_the_array_and_swaps_the_mac(tmp_path):
    arch = tmp_path / "a.yaml"
    arch.write_text(textwrap.dedent("""
        name: small
        clock_mhz: 500
        array: {rows: 8, cols: 8, block_k: 8, mac: {kind: fixed, params: {w_bits: 8, x_bits: 8}}}
    """))
    study = quant_study("cancer_mlp", "fixed:4,posit:4:1", arch=str(arch))
    assert list(study.table.mac.str.split(" ").str[0]) == ["fixed", "posit_fixp"]
    report = hwsim.simulate("cancer_mlp", quant="fixed:4", act_bits=8)
    assert study.table.latency_s[0] != report.totals["latency_s"]  # 8x8 at 500 MHz, not the default array


def test_study_finetune_reports_post_training_accuracy_too():
    study = quant_study("digits_mlp", "posit:4:1", finetune=2)
    row = study.table.iloc[0]
    assert row.ptq_accuracy == hwsim.evaluate("digits_mlp", quant="posit:4:1", act_bits=8).accuracy
    assert row.accuracy > row.ptq_accuracy and row.accuracy == row.hardware_accuracy


def test_study_of_a_user_file_with_eval_data(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(textwrap.dedent("""
        import torch
        from torch import nn
        torch.manual_seed(1)
        x = torch.randn(120, 5)
        y = (x.sum(1) > 0).long()
        model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))
        opt = torch.optim.Adam(model.parameters(), lr=0.05)
        for _ in range(100):
            opt.zero_grad(); nn.functional.cross_entropy(model(x[:80]), y[:80]).backward(); opt.step()
        example_args = (x[:1],)
        train_data = (x[:80], y[:80])
        eval_data = [(x[80:100], y[80:100]), (x[100:], y[100:])]
    """))
    out = tmp_path / "out"
    assert main(["study", "quant", str(path), "--schemes", "fixed:8,sp2:4", "--out", str(out)]) == 0
    t = pd.read_csv(out / "study.csv")
    assert list(t.scheme) == ["fixed:8", "sp2:4"] and (t.accuracy == t.hardware_accuracy).all()
    assert t.accuracy.between(0.5, 1).all()


def test_study_bad_inputs_fail_before_any_work(tmp_path, capsys):
    cases = [
        (["--schemes", "fixed:4,bogus:3"], "unknown quantization scheme"),
        (["--schemes", "fixed:4,fixed:4"], "more than once"),
        (["--schemes", ","], "schemes is empty"),
        (["--schemes", "posit:17:1"], "cannot be built"),
        (["--act-bits", "1"], "act_bits must be an integer in [2, 32]"),
    ]
    for extra, message in cases:
        assert main(["study", "quant", "digits_mlp", *extra, "--out", str(tmp_path / "o")]) == 2, extra
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (extra, err)
    assert main(["study", "quant", "deit_tiny", "--schemes", "fixed:4", "--out", str(tmp_path / "o")]) == 2
    assert "has no dataset" in capsys.readouterr().err
    assert not (tmp_path / "o" / "study.csv").exists()


def test_defaults_are_the_issue_schemes():
    assert DEFAULT_SCHEMES == ("fixed:4", "fixed:8", "sp2:4", "msq:4:0.5", "posit:4:0", "posit:4:1",
                               "posit+fixed:4:1:4")


# ------------------------------------------------------------------------------ data-dependent MAC energy


def test_mac_energy_comes_from_each_layers_own_codes():
    from hwsim.cost import cost_tables, layer_mac_energy, layer_mac_stimulus, mac_energy

    report = hwsim.simulate("digits_mlp", quant="sp2:4", act_bits=8)
    data = report.totals["energy_by_component_j"]["mac"]
    assert report.totals["mac_activity_layers"] == 3
    assert data < report.totals["mac_energy_random_j"]  # real weights and ReLU outputs switch less
    layers = report.layers[report.layers.kind == "gemm"]
    assert (layers.mac_activity == "data").all()
    # the per-layer figure is mac_energy on the layer's own stimulus, and it prices exactly that layer's MACs
    from hwsim.frontend import capture, prepare_model
    from hwsim.sim import mac_for_workload

    p = prepare_model("digits_mlp", quant="sp2:4", act_bits=8)
    wl = capture(p.model, p.args, p.kwargs, name=p.name)
    cfg, _ = mac_for_workload(wl, hwsim.arch.AcceleratorConfig())
    unit = cfg.array.mac.unit
    for op, row in zip(wl.gemms, layers.itertuples(), strict=True):
        stim = layer_mac_stimulus(unit, op, wl)
        codes = np.asarray(wl.arrays[op.codes])
        assert set(np.unique(stim["w"])) <= set(np.unique(codes))  # SP2 port codes are the layer's codes
        assert stim["x"].max() < 256 and stim["x"].min() >= 0  # unsigned 8-bit activation codes
        assert layer_mac_energy(unit, op, wl).dynamic_pj_per_mac == pytest.approx(row.mac_pj_per_mac)
    random_pj = cost_tables(cfg).energy_pj["pe_array", "mac"]
    assert random_pj == mac_energy(unit).dynamic_pj_per_mac
    assert report.totals["mac_energy_random_j"] == pytest.approx(layers.macs.sum() * random_pj * 1e-12)
    flat = hwsim.simulate("digits_mlp", quant="sp2:4", act_bits=8, mac_activity="random")
    assert flat.totals["energy_by_component_j"]["mac"] == pytest.approx(flat.totals["mac_energy_random_j"])
    assert flat.totals["mac_activity_layers"] == 0
    with pytest.raises(ValueError, match="mac_activity must be one of"):
        hwsim.simulate("digits_mlp", quant="sp2:4", mac_activity="zero")


def test_zero_activations_cost_less_than_real_ones():
    """The stimulus really carries the codes: all-zero activation samples switch less than the real ones."""
    import dataclasses

    from hwsim.cost import layer_mac_energy
    from hwsim.frontend import capture, prepare_model
    from hwsim.sim import mac_for_workload
    from hwsim.workload import Workload

    p = prepare_model("digits_mlp", quant="fixed:8", act_bits=8)
    wl = capture(p.model, p.args, p.kwargs, name=p.name)
    cfg, _ = mac_for_workload(wl, hwsim.arch.AcceleratorConfig())
    op = wl.gemms[1]
    zeros = dict(wl.arrays)
    zeros[op.act_codes] = np.zeros_like(wl.arrays[op.act_codes])
    silent = Workload(list(wl), zeros, wl.meta)
    real = layer_mac_energy(cfg.array.mac.unit, op, wl).dynamic_pj_per_mac
    quiet = layer_mac_energy(cfg.array.mac.unit, dataclasses.replace(op), silent).dynamic_pj_per_mac
    assert quiet < real


def test_workload_round_trips_the_activation_sample(tmp_path):
    from hwsim.frontend import capture, prepare_model
    from hwsim.workload import Workload

    p = prepare_model("digits_cnn", quant="posit:4:1", act_bits=6)
    wl = capture(p.model, p.args, p.kwargs, name=p.name)
    convs = [op for op in wl.gemms if op.act_codes is not None]
    assert len(convs) == len(wl.gemms)
    wl.save(tmp_path / "w.npz")
    back = Workload.load(tmp_path / "w.npz")
    for a, b in zip(wl.gemms, back.gemms, strict=True):
        assert a.act_codes == b.act_codes
        assert np.array_equal(wl.arrays[a.act_codes], back.arrays[b.act_codes])
        assert wl.arrays[a.act_codes].max() < 2**6


def test_stimulus_streams_only_what_the_energy_model_counts():
    """N:M pruning is priced as zero-gated MACs (density x MACs), so its stimulus carries no pruned zeros; a
    linear layer's activations are its tokens' inputs at the weight's K index."""
    from hwsim.cost import layer_mac_stimulus
    from hwsim.frontend import capture, prepare_model
    from hwsim.sim import mac_for_workload

    p = prepare_model("digits_mlp", prune="nm:2:4", quant="fixed:4", act_bits=8)
    wl = capture(p.model, p.args, p.kwargs, name=p.name)
    cfg, _ = mac_for_workload(wl, hwsim.arch.AcceleratorConfig())
    unit = cfg.array.mac.unit
    for op in wl.gemms:
        stim = layer_mac_stimulus(unit, op, wl)
        assert (unit.weight_ints(stim["w"]) != 0).all(), op.name
        x = np.asarray(wl.arrays[op.act_codes])
        assert set(np.unique(stim["x"])) <= set(np.unique(x))
    from hwsim._simulate import dense_baseline  # the dense baseline keeps the pruned codes, zeros streamed

    base = dense_baseline(wl)
    zeros = [(unit.weight_ints(layer_mac_stimulus(unit, op, base)["w"]) == 0).mean() for op in base.gemms]
    assert max(zeros) > 0.3
