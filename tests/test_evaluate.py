"""Accuracy beside cost: the hardware's integer arithmetic against the fake-quantized torch model, `hwsim.evaluate`
on registry models, model files and modules, fine-tuning, the posit+fixed row criterion, and simulate --eval."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
import torch
from torch import nn

import hwsim
from hwsim.cli import main
from hwsim.formats import parse_quant
from hwsim.frontend import quant_info, quantize
from hwsim.frontend._integer import integer_model
from hwsim.frontend._quant import _posit_rows, _row_quant_error
from hwsim.models import dataset, trained_model

pytestmark = pytest.mark.usefixtures("torch_one_thread")

MODELS = ["digits_mlp", "digits_cnn", "cancer_mlp", "vit_digits"]
SCHEMES = ["fixed:4", "fixed:8", "sp2:4", "msq:4:0.5", "posit:4:0", "posit:4:1", "posit+fixed:4:1:4",
           "posit:8:1", "msq:5:0.25"]


@pytest.mark.parametrize("name", MODELS)
def test_torch_and_hardware_paths_give_identical_predictions_for_every_scheme(name):
    """The whole test set, every scheme: identical predictions. Logits agree to float32 rounding, except where a
    requantization sits on a rounding boundary and the two paths' float32 inputs fall on either side (one
    activation LSB): the bound on those is checked too."""
    split = dataset(name)
    for spec in SCHEMES:
        model = trained_model(name)
        quantize(model, spec, act_bits=8, calib=split.x_train[:512])
        with torch.no_grad():
            torch_logits = model(split.x_test)
            hw_logits = integer_model(model)(split.x_test)
        assert torch.equal(torch_logits.argmax(1), hw_logits.argmax(1)), (name, spec)
        diff = (torch_logits - hw_logits).abs().amax(dim=1)
        scale = torch_logits.abs().amax(dim=1).clamp_min(1.0)
        # float32 rounding: ~1e-6 relative; a one-LSB requantization flip moves a logit by far less than 5 %
        assert float((diff <= 1e-4 * scale).float().mean()) >= 0.9, (name, spec)
        assert float((diff / scale).max()) < 0.05, (name, spec)


def test_hardware_path_runs_the_mac_accumulator_not_float():
    """The integer path accumulates in the MAC's acc_bits: at the default width real data never wraps (the exact
    integer sum), and on a MAC whose accumulator is one product wide the same layer's outputs wrap."""
    import dataclasses

    from hwsim.mac import make_mac, wrap

    split = dataset("digits_mlp")
    model = trained_model("digits_mlp")
    quantize(model, "fixed:8", act_bits=8, calib=split.x_train[:512])
    hw = integer_model(model)
    layer = hw.net[0]._hwsim_integer
    assert layer.unit.kind == "fixed" and layer.unit.acc_bits == layer.unit.product_bits + 8
    codes = layer.act_codes(split.x_test.reshape(split.x_test.shape[0], -1))
    exact = layer.unit.act_ints(codes).astype(np.int64) @ layer.unit.weight_ints(layer.w_port.T).astype(np.int64)
    y = layer.gemm(codes, slice(None))
    assert np.array_equal(y, exact * np.ldexp(layer.out_scale, -layer.x_shift)[None, :])
    narrow = make_mac("fixed", **{**layer.unit.params(), "acc_bits": layer.unit.product_bits})
    layer.unit, layer.engine = narrow, dataclasses.replace(layer.engine, mac=narrow)
    wrapped = wrap(exact, narrow.acc_bits)
    assert not np.array_equal(wrapped, exact)  # these sums do overflow one product's width
    assert np.array_equal(layer.gemm(codes, slice(None)), wrapped * np.ldexp(layer.out_scale, -layer.x_shift)[None, :])


def test_integer_model_refuses_what_it_cannot_run():
    model = trained_model("digits_mlp")
    with pytest.raises(ValueError, match="not quantized"):
        integer_model(model)
    quantize(model, "fixed:4")  # weights only
    with pytest.raises(ValueError, match="net.0.weight: its input activations are not quantized"):
        integer_model(model)
    mha = nn.Sequential(nn.MultiheadAttention(8, 2, batch_first=True))
    quantize(mha, "fixed:8")
    with pytest.raises(ValueError, match="MultiheadAttention applies this weight itself"):
        integer_model(mha)


def test_evaluate_registry_model_both_paths_agree():
    ev = hwsim.evaluate("digits_mlp", quant="posit+fixed:4:1:4", act_bits=8, path="both")
    assert ev.disagreements == 0 and ev.accuracy == ev.hardware_accuracy
    assert ev.samples == dataset("digits_mlp").y_test.shape[0]
    assert 0.9 < ev.accuracy <= 1.0 and ev.float_accuracy == pytest.approx(0.9756, abs=1e-3)
    correct = (ev.predictions == dataset("digits_mlp").y_test.numpy()).mean()
    assert correct == pytest.approx(ev.accuracy)
    hw = hwsim.evaluate("digits_mlp", quant="posit+fixed:4:1:4", act_bits=8, path="hardware")
    assert hw.accuracy == ev.accuracy and np.array_equal(hw.predictions, ev.predictions)


def test_evaluate_pruning_lowers_accuracy_and_float_is_unchanged():
    dense = hwsim.evaluate("digits_cnn")
    pruned = hwsim.evaluate("digits_cnn", prune="unstructured:0.1")
    assert dense.accuracy == dense.float_accuracy == pruned.float_accuracy
    assert pruned.accuracy < dense.accuracy - 0.05


def _write(tmp_path, body: str):
    path = tmp_path / "user_model.py"
    path.write_text(body)
    return str(path)


USER_MODEL = """
    import torch
    from torch import nn
    torch.manual_seed(0)
    x = torch.randn(200, 6)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    net = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(150):
        opt.zero_grad(); nn.functional.cross_entropy(net(x[:150]), y[:150]).backward(); opt.step()
    model = net
    example_args = (x[:1],)
"""
USER_MODEL = textwrap.dedent(USER_MODEL)


def test_evaluate_user_file_with_eval_data_pair_and_batches(tmp_path):
    pair = _write(tmp_path, USER_MODEL + "eval_data = (x[150:], y[150:])\ntrain_data = (x[:150], y[:150])\n")
    a = hwsim.evaluate(pair, quant="fixed:8", act_bits=8, path="both")
    assert a.samples == 50 and a.disagreements == 0 and a.accuracy > 0.85
    assert "user_model.py" in a.data
    batches = _write(tmp_path, USER_MODEL + "def eval_data():\n    return [(x[150:175], y[150:175]), "
                                            "(x[175:], y[175:])]\n")
    b = hwsim.evaluate(batches, quant="fixed:8", act_bits=8)  # calibrated on the first eval batch (no train_data)
    assert b.samples == 50 and b.float_accuracy == a.float_accuracy
    with pytest.raises(ValueError, match="finetune needs training data"):
        hwsim.evaluate(batches, quant="fixed:8", finetune=1)


def test_evaluate_user_file_with_evaluate_function(tmp_path):
    scorer = "def evaluate(model):\n    return float((model(x[150:]).argmax(1) == y[150:]).float().mean())\n"
    path = _write(tmp_path, USER_MODEL + scorer)
    assert hwsim.evaluate(path, quant="sp2:4").samples is None  # weights only: no calibration needed
    with pytest.raises(ValueError, match="no inputs to calibrate activations on"):
        hwsim.evaluate(path, quant="sp2:4", act_bits=8)
    path = _write(tmp_path, USER_MODEL + scorer + "train_data = (x[:150], y[:150])\n")
    ev = hwsim.evaluate(path, quant="sp2:4", act_bits=8, path="both")
    assert ev.samples is None and ev.predictions is None and 0.5 < ev.accuracy <= 1
    assert ev.hardware_accuracy == ev.accuracy
    bad = _write(tmp_path, USER_MODEL + "def evaluate(model):\n    return 97.0\n")
    with pytest.raises(ValueError, match=r"accuracy in \[0, 1\]"):
        hwsim.evaluate(bad)


def test_evaluate_module_with_data_and_errors():
    split = dataset("cancer_mlp")
    model = trained_model("cancer_mlp")
    ev = hwsim.evaluate(model, quant="fixed:8", act_bits=8, data=(split.x_test, split.y_test),
                        train_data=(split.x_train, split.y_train), path="both")
    assert ev.disagreements == 0 and ev.accuracy > 0.9
    assert not quant_info(model)  # the caller's module is left as it was: a copy was compressed
    quantize(model, "fixed:8", act_bits=8, calib=split.x_train[:512])  # a module the user compressed himself
    own = hwsim.evaluate(model, data=(split.x_test, split.y_test), path="hardware")
    assert own.float_accuracy is None and own.accuracy == ev.hardware_accuracy and own.overflows == 0
    with pytest.raises(ValueError, match="already pruned or quantized"):
        hwsim.evaluate(model, quant="fixed:4", data=(split.x_test, split.y_test))
    with pytest.raises(ValueError, match="needs data"):
        hwsim.evaluate(trained_model("cancer_mlp"))
    with pytest.raises(ValueError, match="has no dataset"):
        hwsim.evaluate("deit_tiny")
    with pytest.raises(ValueError, match="give act_bits"):
        hwsim.evaluate("cancer_mlp", quant="fixed:8", path="hardware")
    with pytest.raises(ValueError, match="path must be one of"):
        hwsim.evaluate("cancer_mlp", path="gpu")
    with pytest.raises(ValueError, match="y must be a 1-D tensor of integer class labels"):
        hwsim.evaluate(trained_model("cancer_mlp"), data=(split.x_test, split.y_test.float()))
    with pytest.raises(ValueError, match="different numbers of samples"):
        hwsim.evaluate(trained_model("cancer_mlp"), data=(split.x_test, split.y_test[:3]))
    with pytest.raises(ValueError, match="act_bits applies to quantized layers"):
        hwsim.evaluate("cancer_mlp", act_bits=8)


def test_finetune_recovers_accuracy_and_keeps_records_bit_exact():
    split = dataset("digits_mlp")
    ptq = hwsim.evaluate("digits_mlp", quant="posit:4:1", act_bits=8)
    qat = hwsim.evaluate("digits_mlp", quant="posit:4:1", act_bits=8, finetune=3, path="both")
    assert qat.disagreements == 0
    assert qat.accuracy > ptq.accuracy  # measured: 93.6 % -> 97.1 %
    model = trained_model("digits_mlp")
    quantize(model, "posit:4:1", act_bits=8, calib=split.x_train[:512], finetune=2,
             train_data=(split.x_train, split.y_train))
    params = dict(model.named_parameters())
    assert not any("parametrizations" in n for n in params)  # the STE parametrization is gone
    from hwsim.formats import parse_format

    for name, q in quant_info(model).items():
        w = params[name].detach().numpy()
        fmt = parse_format(q.w_format)
        assert np.array_equal((fmt.decode(q.codes) * q.scale[:, None]).astype(np.float32), w)
    with pytest.raises(ValueError, match="finetune must be a number of epochs"):
        quantize(trained_model("digits_mlp"), "fixed:4", finetune=0, train_data=(split.x_train, split.y_train))
    with pytest.raises(ValueError, match="train_data is for finetune"):
        quantize(trained_model("digits_mlp"), "fixed:4", train_data=(split.x_train, split.y_train))


def test_failed_finetune_leaves_the_model_as_it_was():
    split = dataset("digits_mlp")
    model = trained_model("digits_mlp")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    bad = (split.x_train, torch.full_like(split.y_train, 99))  # labels past the output width: fit fails
    with pytest.raises((IndexError, RuntimeError, ValueError)):
        quantize(model, "fixed:4", finetune=1, train_data=bad)
    after = model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert not quant_info(model)


def test_posit_rows_by_gain_minimise_the_total_error_without_gradients():
    """Without gradients, the gain criterion picks the rows whose squared error posit reduces most: among all
    choices of the same number of posit rows, its total squared error is the smallest."""
    rng = np.random.default_rng(3)
    rows = rng.standard_normal((24, 16)) * rng.uniform(0.1, 3, size=(24, 1))
    rows[::5] *= np.linspace(0.01, 1, 16) ** 3  # heavy-tailed rows: fixed point loses their small weights
    spec = parse_quant("posit+fixed:4:1:4:0.5")
    posit, fixed = spec.formats()
    e_pos = (_row_quant_error(posit, rows) ** 2).sum(1)
    e_fix = (_row_quant_error(fixed, rows) ** 2).sum(1)
    chosen = _posit_rows(spec, rows, None, "gain")
    assert chosen.sum() == 12
    best = np.where(chosen, e_pos, e_fix).sum()
    for _ in range(200):
        other = np.zeros(24, dtype=bool)
        other[rng.choice(24, 12, replace=False)] = True
        assert best <= np.where(other, e_pos, e_fix).sum() + 1e-12
    with pytest.raises(ValueError, match="mix_by applies to posit\\+fixed only"):
        quantize(trained_model("cancer_mlp"), "fixed:4", mix_by="importance")
    with pytest.raises(ValueError, match="mix_by must be one of"):
        quantize(trained_model("cancer_mlp"), "posit+fixed:4:1:4", mix_by="random")


def test_simulate_eval_reports_accuracy_and_the_baselines(tmp_path):
    report = hwsim.simulate("digits_mlp", prune="block:8x8:0.5:pad", quant="sp2:4", act_bits=8, evaluate=True,
                            baseline="dense")
    acc = report.accuracy
    assert acc["float_accuracy"] == pytest.approx(0.9756, abs=1e-3)
    same = hwsim.evaluate("digits_mlp", prune="block:8x8:0.5:pad", quant="sp2:4", act_bits=8)
    assert acc["accuracy"] == same.accuracy
    assert report.baseline["accuracy"] == hwsim.evaluate("digits_mlp", quant="sp2:4", act_bits=8).accuracy
    assert "accuracy" in report.summary()
    out = tmp_path / "r"
    assert main(["simulate", "digits_mlp", "--quant", "fixed:8", "--act-bits", "8", "--eval", "--out", str(out)]) == 0
    data = json.loads((out / "report.json").read_text())
    assert data["accuracy"] == hwsim.evaluate("digits_mlp", quant="fixed:8", act_bits=8).accuracy
    assert data["float_accuracy"] == acc["float_accuracy"] and "digits_mlp" in data["accuracy_data"]


def test_simulate_eval_errors(tmp_path, capsys):
    assert main(["simulate", "deit_tiny", "--eval", "--out", str(tmp_path / "a")]) == 2
    assert "has no dataset" in capsys.readouterr().err
    wl = tmp_path / "w.npz"
    assert main(["capture", "digits_mlp", "--quant", "fixed:4", "--act-bits", "4", "-o", str(wl)]) == 0
    assert main(["simulate", str(wl), "--eval", "--out", str(tmp_path / "b")]) == 2
    assert "--eval needs the model: a saved workload" in capsys.readouterr().err
    assert main(["simulate", "digits_mlp", "--act-bits", "8", "--out", str(tmp_path / "c")]) == 2
    assert "--act-bits: for quantized models; give --quant" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ review: edge cases


def _conv_net(kind: str) -> nn.Module:
    torch.manual_seed(0)
    if kind == "conv2d":
        return nn.Sequential(nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2), nn.ReLU(),
                             nn.Flatten(), nn.LazyLinear(3))
    if kind == "conv1d":
        return nn.Sequential(nn.Conv1d(4, 8, 3, padding=1, groups=4, bias=False), nn.ReLU(), nn.Flatten(),
                             nn.LazyLinear(3))
    from transformers.pytorch_utils import Conv1D

    class Hf(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = Conv1D(6, 5)
            self.out = nn.Linear(6, 3)

        def forward(self, x):
            return self.out(torch.relu(self.c(x)))

    return Hf()


@pytest.mark.parametrize("kind", ["conv2d", "conv1d", "hf_conv1d"])
@pytest.mark.parametrize("spec", ["fixed:8", "posit:4:1", "msq:4:0.5", "posit+fixed:4:1:4"])
def test_integer_path_matches_torch_on_grouped_strided_dilated_convs_and_hf_conv1d(kind, spec):
    if kind == "hf_conv1d":
        pytest.importorskip("transformers")
    shape = {"conv2d": (64, 4, 9, 9), "conv1d": (64, 4, 11), "hf_conv1d": (64, 7, 5)}[kind]
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    model = _conv_net(kind)
    model(x)  # materialize the lazy layers
    quantize(model, spec, act_bits=8, calib=x)
    with torch.no_grad():
        a, b = model(x), integer_model(model)(x)
    assert torch.allclose(a, b, rtol=1e-4, atol=1e-4 * float(a.abs().max())), (kind, spec)


def test_narrow_accumulator_overflows_are_counted_and_reported():
    from hwsim.arch import AcceleratorConfig, MacConfig

    cfg = AcceleratorConfig()
    narrow = dataclasses_replace_mac(cfg, MacConfig(kind="fixed", params={"w_bits": 8, "x_bits": 9, "acc_bits": 17}))
    ev = hwsim.evaluate("digits_mlp", quant="fixed:8", act_bits=8, path="both", arch=narrow)
    assert ev.overflows > 0 and ev.hardware_accuracy < ev.accuracy
    wide = hwsim.evaluate("digits_mlp", quant="fixed:8", act_bits=8, path="both")
    assert wide.overflows == 0 and wide.disagreements == 0
    report = hwsim.simulate("digits_mlp", narrow, quant="fixed:8", act_bits=8, evaluate=True)
    assert report.accuracy["overflows"] == ev.overflows
    assert report.accuracy["hardware_accuracy"] == ev.hardware_accuracy
    assert any("overflowed the MAC's acc_bits" in n for n in report.notes)
    with pytest.raises(ValueError, match="arch picks the MAC of the hardware path"):
        hwsim.evaluate("digits_mlp", quant="fixed:8", act_bits=8, arch=narrow)


def dataclasses_replace_mac(cfg, mac):
    import dataclasses

    return dataclasses.replace(cfg, array=dataclasses.replace(cfg.array, mac=mac))


def test_finetune_keeps_pruned_weights_at_zero():
    from hwsim.frontend import prepare_model, prune_info

    p = prepare_model("digits_mlp", prune="unstructured:0.3", quant="fixed:8", act_bits=8, finetune=1)
    params = dict(p.model.named_parameters())
    for name, info in prune_info(p.model).items():
        assert not params[name].detach().numpy()[~info.mask].any()
        codes = quant_info(p.model)[name].codes
        assert not codes[~info.mask].any()


def test_model_file_without_data_still_quantizes_on_its_example_input(tmp_path):
    path = _write(tmp_path, USER_MODEL)
    out = tmp_path / "r"
    assert main(["simulate", path, "--quant", "posit+fixed:4:1:4", "--act-bits", "8", "--out", str(out)]) == 0
    data = json.loads((out / "report.json").read_text())
    assert data["compression"][0]["act_format"] is not None


def test_iterator_data_is_read_once_and_user_errors_are_one_line(tmp_path, capsys):
    split = dataset("cancer_mlp")

    def batches():
        for i in range(0, split.y_test.shape[0], 50):
            yield split.x_test[i:i + 50], split.y_test[i:i + 50]

    ev = hwsim.evaluate(trained_model("cancer_mlp"), quant="fixed:8", data=batches())
    assert ev.samples == split.y_test.shape[0]
    bad = _write(tmp_path, USER_MODEL + "def eval_data():\n    return 1 / 0\n")
    assert main(["simulate", bad, "--eval", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "eval_data in" in err and "ZeroDivisionError" in err and err.count("\n") == 1
    raising = _write(tmp_path, USER_MODEL + "def evaluate(model):\n    raise RuntimeError('no GPU')\n")
    with pytest.raises(ValueError, match="evaluate.*failed: RuntimeError: no GPU"):
        hwsim.evaluate(raising)
    np_score = _write(tmp_path, USER_MODEL + "import numpy as np\ndef evaluate(model):\n    return np.float32(0.5)\n")
    assert hwsim.evaluate(np_score).accuracy == 0.5
    as_dict = _write(tmp_path, USER_MODEL + "eval_data = {'x': x, 'y': y}\n")
    with pytest.raises(ValueError, match="must be an \\(x, y\\) pair or an iterable of \\(x, y\\) batches, not dict"):
        hwsim.evaluate(as_dict)


def test_options_that_do_not_apply_are_refused_before_any_work():
    split = dataset("cancer_mlp")
    model = trained_model("cancer_mlp")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match="finetune must be a number of epochs"):
        hwsim.evaluate("cancer_mlp", quant="fixed:4", finetune=2.5)
    with pytest.raises(ValueError, match="none of them applies"):
        hwsim.evaluate(model, quant="fixed:8", data=(split.x_test, split.y_test),
                       train_data=(split.x_train, split.y_train))

    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(30, 2)

        def forward(self, x, z):
            return self.a(x) + z

    from hwsim.frontend import prepare_model, prune_info

    two = Two()
    xy = ((split.x_train, torch.zeros(split.x_train.shape[0], 2)), split.y_train)
    with pytest.raises(ValueError, match="finetune trains models with one input tensor"):
        prepare_model(two, prune="unstructured:0.5", quant="fixed:8", finetune=1,
                      example_args=(split.x_train[:1], torch.zeros(1, 2)), data=[xy], train_data=[xy])
    assert not prune_info(two) and not quant_info(two)  # refused before pruning
    with pytest.raises(ValueError, match="act_bits, finetune, data, train_data: only for models"):
        hwsim.simulate(hwsim_workload(), act_bits=8, finetune=1, data=(split.x_test, split.y_test),
                       train_data=(split.x_train, split.y_train))
    with pytest.raises(ValueError, match="cache=False: only for models; a captured workload is read as it is"):
        hwsim.simulate(hwsim_workload(), cache=False)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def hwsim_workload():
    from hwsim.frontend import capture, prepare_model

    p = prepare_model("cancer_mlp", quant="fixed:4")
    return capture(p.model, p.args, p.kwargs, name=p.name)
