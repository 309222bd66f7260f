"""Hardware-aware block pruning (``auto:METRIC=F``): the allocation meets its budget on the simulator, measured on
the pruned model's own simulation, for random budgets, metrics and both solvers; the spec, the errors, the cache
key and the report."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch

import hwsim
from hwsim.frontend import capture, parse_prune, prune, prune_info
from hwsim.frontend._load import resolve_model


def _measured(model, args, metric: str, arch=None) -> float:
    report = hwsim.simulate(capture(model, args), arch, baseline="dense")
    t, b = report.totals, report.baseline
    if metric == "latency":
        return t["cycles"] / b["cycles"]
    if metric == "energy":
        return t["energy_j"] / b["energy_j"]
    return t["macs"] / t["dense_macs"]


def test_spec_round_trips_and_refuses_nonsense():
    for text, canonical in [("auto:latency=0.5", "auto:latency=0.5:dp"), ("auto:energy=0.6:lpvit", None),
                            ("auto:macs=0.3:16x16:pad", "auto:macs=0.3:16x16:dp:pad"),
                            ("auto:macs=0.3:dp:32x64", "auto:macs=0.3:32x64:dp")]:
        spec = parse_prune(text)
        assert str(spec) == (canonical or text) and parse_prune(str(spec)) == spec
    for bad, match in [("auto", "auto:METRIC=F"), ("auto:speed=0.5", "budgets one of latency, energy, macs"),
                       ("auto:latency=0", r"in \(0, 1\]"), ("auto:latency=1.5", r"in \(0, 1\]"),
                       ("auto:latency=0.5:dp:dp", "auto:METRIC=F"), ("auto:latency=0.5:greedy", "auto:METRIC=F"),
                       ("auto:latency=fast", "latency budget must be a number")]:
        with pytest.raises(ValueError, match=match):
            parse_prune(bad)


CASES = [  # (model, metric, solver, budget range the model can reach)
    ("vit_digits", "latency", "dp", (0.72, 1.0)),
    ("vit_digits", "macs", "lpvit", (0.1, 0.9)),
    ("vit_digits", "energy", "dp", (0.75, 1.0)),
    ("vit_digits", "latency", "lpvit", (0.72, 1.0)),
    ("digits_cnn", "macs", "dp", (0.55, 1.0)),
    ("digits_cnn", "latency", "lpvit", (0.6, 1.0)),
]


@pytest.mark.parametrize(("name", "metric", "solver", "span"), CASES)
def test_the_allocation_meets_its_budget_on_the_simulator(name, metric, solver, span):
    rng = np.random.default_rng(zlib.crc32(f"{name}:{metric}:{solver}".encode()))  # random, but the same each run
    budget = round(float(rng.uniform(*span)), 3)
    r = resolve_model(name)
    spec = f"auto:{metric}={budget}:{solver}" + (":pad" if name == "digits_cnn" else "")
    df = prune(r.module, spec, example_args=r.args)
    allocation = df.attrs["allocation"]
    measured = _measured(r.module, r.args, metric)
    assert measured <= budget, (spec, measured)
    assert measured == pytest.approx(allocation["predicted_fraction"], rel=1e-9)  # the curves are the simulator's
    if name == "vit_digits" and solver == "dp":  # 16 layers x 41 points: the DP spends nearly all of it
        assert measured >= budget - 0.02, (spec, measured)
    info = prune_info(r.module)
    kept = allocation["layers"].set_index("layer")["blocks_kept"]
    for layer, record in info.items():  # every layer pruned to exactly the blocks it was allocated
        assert record.method == "block" and int(np.count_nonzero(record.block_mask)) == kept[layer]
        assert record.block_mask.sum() >= max(1, np.ceil(0.05 * record.block_mask.size))


def test_a_latency_budget_prunes_unevenly_where_the_engine_saves_most():
    r = resolve_model("vit_digits")
    df = prune(r.module, "auto:latency=0.8", example_args=r.args)
    fractions = (df.blocks_kept / df.blocks_total).to_numpy(float)
    assert fractions.max() - fractions.min() > 0.2  # not a uniform density in disguise


def test_simulate_and_the_cli_run_auto_specs(tmp_path):
    from hwsim.cli import main

    report = hwsim.simulate("vit_digits", prune="auto:latency=0.85", cache=False)
    allocation = report.meta["allocation"]
    assert allocation["measured_fraction"] <= 0.85 and "auto:latency=0.85:dp" in report.summary()
    assert main(["simulate", "vit_digits", "--prune", "auto:macs=0.4:lpvit", "--quant", "fixed:8", "--no-cache",
                 "--out", str(tmp_path / "r")]) == 0
    import json

    meta = json.loads((tmp_path / "r" / "report.json").read_text())["meta"]["allocation"]
    assert meta["measured_fraction"] <= 0.4 and meta["solver"] == "lpvit"
    wl = tmp_path / "w.npz"
    assert main(["capture", "vit_digits", "--prune", "auto:latency=0.9", "-o", str(wl), "--no-cache"]) == 0
    assert hwsim.simulate(str(wl)).meta["allocation"]["measured_fraction"] <= 0.9


def test_measured_output_distortion_on_the_training_split():
    report = hwsim.simulate("vit_digits", prune="auto:latency=0.85:output", cache=False)
    allocation = report.meta["allocation"]
    assert allocation["distortion_kind"] == "output" and allocation["measured_fraction"] <= 0.85
    assert allocation["distortion_inputs"] == "calibration inputs (512 samples)"  # the training split's
    assert any("output distortion measured on calibration inputs (512 samples)" in n for n in report.notes)
    r = resolve_model("vit_digits")
    x = torch.randn(8, *r.args[0].shape[1:])
    df = prune(r.module, "auto:macs=0.5:lpvit:output", example_args=r.args, calib=x)
    assert df.attrs["allocation"]["distortion_inputs"] == "calibration inputs (8 samples)"
    layers = df.attrs["allocation"]["layers"]
    assert (layers.distortion >= 0).all() and df.attrs["allocation"]["predicted_fraction"] <= 0.5
    with pytest.raises(ValueError, match="calib is the input of measured"):
        prune(resolve_model("vit_digits").module, "auto:macs=0.5", example_args=r.args, calib=x)


def test_auto_errors_name_what_is_wrong(capsys, tmp_path):
    from hwsim.cli import main

    r = resolve_model("vit_digits")
    with pytest.raises(ValueError, match="give example_args"):
        prune(r.module, "auto:latency=0.8")
    with pytest.raises(ValueError, match="scope='global' applies to block and unstructured pruning, not auto"):
        prune(r.module, "auto:latency=0.8", example_args=r.args, scope="global")
    with pytest.raises(ValueError, match="calib apply to auto pruning, not block"):
        prune(r.module, "block:8x8:0.5", example_args=r.args)
    with pytest.raises(ValueError, match="below what these layers reach at 0.05 density"):
        prune(r.module, "auto:latency=0.3", example_args=r.args)
    assert not prune_info(r.module)  # nothing was pruned by the refused calls
    df = prune(r.module, "auto:macs=0.5", example_args=r.args, saliency="taylor")  # LPViT's ranking, output energy
    assert df.attrs["allocation"]["predicted_fraction"] <= 0.5
    r = resolve_model("vit_digits")
    prune(r.module, "block:8x8:0.5")
    with pytest.raises(ValueError, match="allocates over an unpruned model"):
        prune(r.module, "auto:latency=0.9", example_args=r.args)
    assert main(["capture", "vit_digits", "--prune", "block:8x8:0.5", "--arch", "configs/default.yaml",
                 "-o", str(tmp_path / "w.npz")]) == 2
    assert "--arch applies to capture with an auto: prune spec" in capsys.readouterr().err


def test_the_cache_key_of_an_auto_spec_holds_its_accelerator():
    import dataclasses

    from hwsim.arch import load_config
    from hwsim.frontend._load import check_request
    from hwsim.frontend._workload_cache import registry_key

    cfg = load_config("configs/default.yaml")
    other = dataclasses.replace(cfg, clock_mhz=cfg.clock_mhz * 2)
    a = registry_key("vit_digits", check_request(prune="auto:latency=0.8", arch=cfg), True)
    b = registry_key("vit_digits", check_request(prune="auto:latency=0.8", arch=other), True)
    c = registry_key("vit_digits", check_request(prune="block:8x8:0.5", arch=other), True)
    assert a != b and "arch" in a and "arch" not in c


def test_the_prune_study_meets_every_budget_and_writes_its_table(tmp_path, capsys):
    from hwsim.cli import main
    from hwsim.study import ALLOCATIONS, prune_study

    study = prune_study("digits_cnn", "0.9,0.75")
    t = study.table
    assert list(t.allocation) == [*ALLOCATIONS, *ALLOCATIONS] and list(t.budget) == [0.9] * 3 + [0.75] * 3
    assert (t.latency_fraction <= t.budget).all()
    assert t.accuracy.between(0, 1).all() and (t.distortion_joint >= 0).all()
    assert 0 < study.meta["additivity_median"] < 10
    study.save(tmp_path / "s")
    assert {p.name for p in (tmp_path / "s").iterdir()} == {"study.csv", "study.md", "accuracy_vs_latency.png"}
    with pytest.raises(ValueError, match="below what digits_cnn reaches"):
        prune_study("digits_cnn", "0.9,0.05")
    for argv, match in [(["--budgets", "0.9,abc"], "comma-separated fractions"),
                        (["--budgets", "1.5"], r"fraction in \(0, 1\]"), (["--metric", "speed"], "invalid choice")]:
        assert main(["study", "prune", "digits_cnn", *argv, "--out", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and __import__("re").search(match, err), err
    assert not (tmp_path / "x").exists()


def test_curves_are_cached_per_model_and_recipe(tmp_path, monkeypatch):
    monkeypatch.setenv("HWSIM_CACHE_DIR", str(tmp_path / "cache"))
    records = []
    for _ in range(2):
        r = resolve_model("vit_digits")
        records.append(prune(r.module, "auto:latency=0.85", example_args=r.args).attrs["allocation"])
    assert [a["curves_cache"] for a in records] == ["stored", "hit"]
    assert records[0]["layers"].blocks_kept.tolist() == records[1]["layers"].blocks_kept.tolist()
    assert records[0]["predicted_fraction"] == records[1]["predicted_fraction"]
    r = resolve_model("vit_digits")
    with torch.no_grad():
        r.module.blocks[0].mlp.fc1.weight.mul_(0.5)  # other weights: other curves
    assert prune(r.module, "auto:latency=0.85", example_args=r.args).attrs["allocation"]["curves_cache"] == "stored"
    r = resolve_model("vit_digits")  # the same model and a new budget or solver: the curves are reused
    a = prune(r.module, "auto:latency=0.95:lpvit", example_args=r.args).attrs["allocation"]
    assert a["curves_cache"] == "hit" and a["predicted_fraction"] <= 0.95
    for entry in (tmp_path / "cache" / "curves").iterdir():
        entry.write_text("{damaged")
    r = resolve_model("vit_digits")
    again = prune(r.module, "auto:latency=0.85", example_args=r.args).attrs["allocation"]
    assert again["curves_cache"] == "stored"  # a damaged entry is computed again, to the same allocation
    assert again["layers"].blocks_kept.tolist() == records[0]["layers"].blocks_kept.tolist()


def test_a_foreign_allocation_record_in_a_workload_is_said_not_checked():
    from hwsim.workload import GemmOp, Workload

    w = Workload([GemmOp(name="l", target="linear", role="linear", m=4, k=8, n=8)], {},
                 {"allocation": {"metric": "speed", "layers": "x"}})
    report = hwsim.simulate(w)
    assert any("not an auto-pruning record" in n for n in report.notes)


def test_a_layer_called_twice_is_costed_at_every_use():
    from torch import nn

    class Twice(nn.Module):  # one Linear run twice, as weight-shared models (ALBERT) do
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.a, self.shared, self.out = nn.Linear(64, 128), nn.Linear(128, 128), nn.Linear(128, 64)

        def forward(self, x):
            return self.out(torch.relu(self.shared(torch.relu(self.shared(torch.relu(self.a(x)))))))

    model, x = Twice(), torch.randn(8, 64)
    allocation = prune(model, "auto:latency=0.7:32x32", example_args=(x,)).attrs["allocation"]
    measured = _measured(model, (x,), "latency")
    assert measured <= 0.7 and measured == pytest.approx(allocation["predicted_fraction"], rel=1e-9)


def test_pruning_again_after_an_allocation_drops_its_record():
    from hwsim.frontend._meta import ALLOCATION_ATTR

    r = resolve_model("vit_digits")
    prune(r.module, "auto:latency=0.9", example_args=r.args)
    assert getattr(r.module, ALLOCATION_ATTR)["spec"] == "auto:latency=0.9:dp"
    prune(r.module, "nm:2:4", include=["blocks.0.*"])  # on top of allocated layers: the prediction is void
    assert not hasattr(r.module, ALLOCATION_ATTR)
    assert "allocation" not in capture(r.module, r.args).meta
