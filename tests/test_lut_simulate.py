"""LUT networks in the simulator and on the command line: `simulate(lut=...)`, the synthesized costs behind it,
the MAC-engine baseline, `hwsim lut export`, and the errors for what does not apply."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hwsim import simulate
from hwsim.cli import main
from hwsim.lut import design_inputs, fmax_mhz, lut_cost, lut_design
from hwsim.models import dataset, trained_model
from hwsim.models.jsc import JSCConfig, JSCNet
from hwsim.workload import LutLayerOp, Workload


@pytest.fixture(scope="module")
def small_net():
    """A small LUT network with random weights whose batch norms are calibrated on random inputs, so every layer
    computes a non-constant function, and random data to run it on."""
    net = JSCNet(JSCConfig((12, 8), input_fanin=3, hidden_fanin=3, output_fanin=3, input_bits=2, hidden_bits=2,
                           output_bits=3), in_features=10, num_classes=3, seed=3)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(300, 10, generator=gen)
    net.train()
    with torch.no_grad():
        for _ in range(30):
            net(x)
    net.eval()
    y = torch.randint(0, 3, (300,), generator=gen)
    return net, x[:200], y[:200], x[200:], y[200:]


def test_full_mode_logic_is_the_network(small_net):
    net, _, _, xte, yte = small_net
    report = simulate(net, lut="full", evaluate=True, data=(xte, yte))
    acc = report.accuracy
    want = float((net(xte).argmax(1) == yte).float().mean())
    assert acc["disagreements"] == 0
    assert acc["accuracy"] == pytest.approx(want) and acc["float_accuracy"] == pytest.approx(want)
    t = report.totals
    assert t["cycles"] == 3 == len(report.layers)
    assert t["luts"] == report.layers["luts"].sum() > 0
    assert t["ffs"] == report.layers["ffs"].sum() + 3  # + the valid pipeline
    assert t["fmax_mhz"] == pytest.approx(fmax_mhz(t["lut_depth"]))
    assert t["latency_s"] == pytest.approx(3 / (t["fmax_mhz"] * 1e6))
    assert t["energy_j"] > 0 and t["area_mm2"] > 0
    assert t["energy_j"] == pytest.approx(sum(t["energy_by_component_j"].values()))
    assert "lut" in report.summary().lower()
    assert report.meta["energy_samples"] == len(yte)


def test_observed_mode_uses_training_inputs(small_net):
    net, xtr, ytr, xte, yte = small_net
    design = lut_design(net, "observed", xtr)
    codes_in, codes_out = design_inputs(net, xtr)
    assert (design.forward(codes_in) == codes_out).all()  # every training sample is specified
    full = lut_design(net, "full")
    # ESPRESSO is a heuristic, so fewer cubes are likely but not guaranteed; fewer specified patterns are
    assert sum(t.specified for t in design.tables) < sum(t.specified for t in full.tables)
    report = simulate(net, lut="observed", evaluate=True, data=(xte, yte), train_data=(xtr, ytr))
    assert report.meta["lut_mode"] == "observed"
    assert 0 <= report.accuracy["disagreements"] <= len(yte)


def test_cost_counts_and_energy_follow_the_inputs(small_net):
    net, _, _, xte, _ = small_net
    design = lut_design(net, "full")
    codes, _ = design_inputs(net, xte)
    busy = lut_cost(design, codes)
    idle = lut_cost(design, np.repeat(codes[:1], len(codes), axis=0))  # one sample, held: nothing toggles
    assert busy.luts == idle.luts and busy.depth == idle.depth
    assert busy.extra["gate_checked"] >= len(codes) and busy.extra["gate_mismatches"] == 0  # gates == covers
    assert idle.energy_breakdown_pj["logic"] < 0.2 * busy.energy_breakdown_pj["logic"]
    # input registers (2-bit codes) plus the valid pipeline, less what synthesis removed as unread
    assert design.latency < busy.ffs <= sum(t.neurons for t in design.tables[:-1]) * 2 + 10 * 2 + design.latency
    with pytest.raises(ValueError, match=r"codes must be \(samples >= 1, 10\)"):
        lut_cost(design, codes[:, :5])


def test_registry_model_with_mac_baseline():
    report = simulate("cancer_lut", lut="observed", evaluate=True, baseline="mac")
    b = report.baseline
    assert b["kind"] == "mac" and b["cycles"] > report.totals["cycles"]
    assert b["speedup"] == pytest.approx(b["latency_s"] / report.totals["latency_s"])
    assert report.accuracy["samples"] == len(dataset("cancer_lut").y_test)
    assert "fixed" in b["mac"]


@pytest.mark.parametrize("kwargs,match", [
    (dict(lut="exact"), "lut must be one of full, observed"),
    (dict(lut="full", prune="block:8x8:0.5"), "prune: not for lut="),
    (dict(lut="full", quant="fixed:8", act_bits=8), "quant, act_bits: not for lut="),
    (dict(lut="full", cache=False), "cache=False: not for lut=; a LUT network is built as logic"),
    (dict(lut="full", baseline="dense"), "baseline must be 'mac'"),
    (dict(baseline="mac"), "give lut="),
    (dict(lut="full", arch="configs/default.yaml"), "applies only to baseline='mac'"),
])
def test_lut_options_that_do_not_apply(kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate("cancer_lut", **kwargs)


def test_lut_models_only():
    with pytest.raises(ValueError, match="is not a LUT network"):
        simulate("digits_mlp", lut="full")
    with pytest.raises(ValueError, match="has none"):
        simulate("jsc_s", lut="observed")
    with pytest.raises(ValueError, match="evaluate needs held-out data"):
        simulate("jsc_s", lut="full", evaluate=True)


def test_lut_ops_round_trip_and_stay_off_the_mac_engine(tmp_path):
    op = LutLayerOp(name="layers.0", target="lut", mode="full", neurons=4, fan_in=3, in_bits=2, out_bits=2, luts=9,
                    lut6=2, ffs=6, carry4=0, depth=2, lutcost=4.0)
    w = Workload([op], meta={"model": "m"})
    back = Workload.load(w.save(tmp_path / "w.npz"))
    assert back.ops == (op,) and back.ops[0].x_bits == 6
    with pytest.raises(ValueError, match="MAC engine cannot run them"):
        simulate(back)


def test_cli_lut_export(tmp_path, capsys):
    out = tmp_path / "rtl"
    assert main(["lut", "export", "cancer_lut", "--mode", "observed", "-o", str(out)]) == 0
    meta = json.loads((out / "lut_cancer_lut.json").read_text())
    assert meta["latency"] == 3 and meta["mode"] == "observed"
    assert meta["ports"]["x"]["width"] == 30 * 2 and meta["ports"]["y"]["width"] == 2 * 4
    assert "module lut_cancer_lut" in (out / "lut_cancer_lut.v").read_text()
    assert "3-stage pipeline" in capsys.readouterr().out


def test_cli_lut_errors(tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["lut", "export", "no_such_model", "-o", str(out)]) == 2
    assert not out.exists()
    assert main(["simulate", "digits_mlp", "--lut", "full", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(e.startswith("hwsim: error:") for e in err)


def test_cli_simulate_lut(tmp_path, capsys):
    assert main(["simulate", "cancer_lut", "--lut", "observed", "--eval", "--out", str(tmp_path / "r")]) == 0
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["luts"] > 0 and report["accuracy"] > 0.5
    assert "as LUT logic (observed mode)" in capsys.readouterr().out


def test_trained_lut_model_accuracy_matches_its_codes():
    model, split = trained_model("cancer_lut"), dataset("cancer_lut")
    _, codes = design_inputs(model, split.x_test)
    report = simulate("cancer_lut", lut="observed", evaluate=True)
    assert report.accuracy["float_accuracy"] == pytest.approx(float((codes.argmax(1) == split.y_test.numpy()).mean()))


def _hand_design():
    """Two 1-bit layers written by hand: layer 0 computes AND and XOR of the two inputs, layer 1 copies its first
    input (an output bit that synthesizes to a bare register) and ANDs both."""
    from hwsim.lut import LayerTable, LutDesign

    def table(name, fn):
        addr = np.arange(4, dtype=np.int64)
        outs = [np.array([fn(j, a & 1, a >> 1) for a in addr], dtype=np.int64) for j in range(2)]
        return LayerTable(name=name, indices=np.array([[0, 1], [0, 1]]), in_bits=1, out_bits=1, out_signed=False,
                          mode="full", addresses=(addr, addr), outputs=tuple(outs))

    t0 = table("layers.0", lambda j, a, b: (a & b) if j == 0 else (a ^ b))
    t1 = table("layers.1", lambda j, a, b: a if j == 0 else (a & b))
    covers = (((((2, 2), (1,)),), (((2, 1), (1,)), ((1, 2), (1,)))),
              ((((2, 3), (1,)),), (((2, 2), (1,)),)))
    return LutDesign(name="hand", mode="full", tables=(t0, t1), covers=covers, in_signed=False, in_features=2)


def test_gate_check_aligns_register_driven_outputs():
    design = _hand_design()
    codes = np.array([[a & 1, a >> 1] for a in np.random.default_rng(1).integers(0, 4, 200)])
    want = np.array([[a & b, (a & b) & (a ^ b)] for a, b in codes])
    assert (design.forward(codes) == want).all()
    cost = lut_cost(design, codes, use_cache=False)
    assert cost.extra["gate_checked"] >= 200 and cost.extra["gate_mismatches"] == 0, cost.extra


def test_hand_design_depth_and_counts_per_layer():
    """One 2-input function per neuron: one LUT level per layer (the input registers are not levels), the
    counts charged to the layer's own module even when the design's name ends like a layer's."""
    from dataclasses import replace

    codes = np.array([[a & 1, a >> 1] for a in np.random.default_rng(2).integers(0, 4, 64)])
    for name in ("hand", "xlayer1"):
        cost = lut_cost(replace(_hand_design(), name=name), codes, use_cache=False)
        assert [layer.depth for layer in cost.layers] == [1, 1], cost.layers
        assert cost.depth == 1 and cost.fmax_mhz == pytest.approx(fmax_mhz(1))
        assert cost.layers[0].luts == 2 and cost.layers[0].ffs == 2  # AND, XOR; two input bits registered
        assert cost.layers[1].luts >= 1  # the AND (the copy is a wire from the register)
        assert cost.ffs == sum(layer.ffs for layer in cost.layers) + 2  # + the valid pipeline


def test_observed_mode_with_training_data_alone(small_net):
    net, xtr, ytr, _, _ = small_net
    report = simulate(net, lut="observed", train_data=(xtr, ytr))
    assert report.totals["luts"] > 0 and report.accuracy is None


def test_model_file_with_train_data_and_no_example_inputs(tmp_path, small_net):
    net = small_net[0]
    torch.save(net, tmp_path / "net.pt")
    src = tmp_path / "small_lut.py"
    src.write_text("import torch\n"
                   f"model = torch.load({str(tmp_path / 'net.pt')!r}, weights_only=False)\n"
                   "gen = torch.Generator().manual_seed(0)\n"
                   "train_data = (torch.randn(200, 10, generator=gen), torch.zeros(200, dtype=torch.long))\n")
    out = tmp_path / "rtl"
    assert main(["lut", "export", str(src), "--mode", "observed", "-o", str(out)]) == 0
    assert (out / "lut_small_lut.v").exists()
    report = simulate(str(src), lut="observed")
    assert report.model == "small_lut" and report.totals["luts"] > 0


def test_bad_baseline_config_fails_before_any_synthesis(monkeypatch):
    import hwsim.lut._network as network

    def never(*args, **kwargs):
        raise AssertionError("synthesized before the config was checked")

    monkeypatch.setattr(network, "lut_cost", never)
    with pytest.raises(ValueError, match="cannot be read"):
        simulate("cancer_lut", lut="observed", baseline="mac", arch="no/such/config.yaml")
    with pytest.raises(ValueError, match="mac_activity: a LUT network has no MACs"):
        simulate("cancer_lut", lut="observed", mac_activity="random")
    with pytest.raises(ValueError, match="data applies to observed mode only"):
        lut_design("cancer_lut", "full", torch.zeros(2, 30))
