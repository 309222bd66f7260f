"""hwsim.frontend.quantize: bit-exact codes/scales for every scheme, row fractions, activation hooks, export,
errors, and the digits 8-bit acceptance test."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from hwsim.formats import Fixed, Posit, msq_assign, parse_format
from hwsim.frontend import ActQuant, QuantSpec, parse_quant, prune, quant_info, quantize
from hwsim.models import create_model, load_digits_split, train_digits

SCHEMES = ["fixed:8", "fixed:4", "fixed:2", "sp2:4", "sp2:6", "msq:4:0.5", "msq:5:0.25", "posit:8:1", "posit:6:0",
           "posit:16:2", "posit+fixed:4:1:4", "posit+fixed:8:0:8:0.25"]


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _model(name: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return create_model(name)


def _weights(model: nn.Module) -> dict[str, np.ndarray]:
    return {n: p.detach().numpy().copy() for n, p in model.named_parameters() if n.endswith("weight")}


def _row_formats(q) -> list:
    fmt = parse_format(q.w_format)
    if q.row_modes is None:
        return [fmt] * q.scale.size
    alt = parse_format(q.alt_format)
    return [fmt if m else alt for m in q.row_modes]


def _check_bit_exact(model: nn.Module) -> None:
    """weight == float32(decode(codes) * scale) and codes == encode(weight / scale), row by row, bit for bit."""
    params = dict(model.named_parameters())
    infos = quant_info(model)
    assert infos
    for name, q in infos.items():
        w = params[name].detach().numpy()
        assert q.codes.shape == w.shape and np.issubdtype(q.codes.dtype, np.integer)
        assert q.scale.dtype == np.float64 and q.scale.shape == (w.shape[0],)
        rows, codes = w.reshape(w.shape[0], -1), q.codes.reshape(w.shape[0], -1)
        for r, fmt in enumerate(_row_formats(q)):
            values = fmt.decode(codes[r])
            # on the format's levels (no NaR); formats past 20 bits have no level table
            assert np.isin(values, fmt.levels()).all() if fmt.bits <= 20 else np.isfinite(values).all()
            assert np.array_equal((values * q.scale[r]).astype(np.float32), rows[r]), (name, r)
            assert np.array_equal(fmt.encode(rows[r].astype(np.float64) / q.scale[r]), codes[r]), (name, r)


# ------------------------------------------------------------------------------------------ weights, bit exact


@pytest.mark.parametrize("model_name", ["digits_mlp", "digits_cnn"])
@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_scheme_bit_exact_against_formats(model_name, scheme):
    model = _model(model_name)
    before = _weights(model)
    df = quantize(model, scheme)
    _check_bit_exact(model)
    assert list(df["layer"]) == list(quant_info(model))
    assert (df["mse"] > 0).all() and (df["w_rows"] + df["alt_rows"] == df["rows"]).all()
    for name, q in quant_info(model).items():
        assert q.scheme == str(parse_quant(scheme))
        w_new = _weights(model)[name]
        rel = np.abs(w_new - before[name]).max() / np.abs(before[name]).max()
        assert rel < 0.7  # sanity: quantization moved the weights, but not wildly


@pytest.mark.parametrize("scheme", ["fixed:8", "fixed:3", "sp2:4", "sp2:11", "posit:24:1", "msq:10:0.5"])
def test_wide_formats_still_reencode_after_float32_storage(scheme):
    # SP2 with 5-bit fields and long posits have levels closer than float32's precision: the stored float32
    # weight must still re-encode to the recorded code.
    model = _model("digits_mlp")
    quantize(model, scheme)
    _check_bit_exact(model)


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_fixed_row_max_is_exact_and_scale_is_max_over_largest_level(bits):
    model = _model("digits_cnn")
    before = _weights(model)
    quantize(model, f"fixed:{bits}")
    fmt = Fixed(bits, bits - 1)
    top = fmt.int_max * fmt.scale
    for name, q in quant_info(model).items():
        rows_b = before[name].reshape(before[name].shape[0], -1)
        rows_a = _weights(model)[name].reshape(rows_b.shape)
        assert q.w_format == f"fixed:{bits}:{bits - 1}" and q.row_modes is None
        np.testing.assert_array_equal(np.abs(rows_a).max(1), np.abs(rows_b).max(1))
        np.testing.assert_array_equal(q.scale, np.abs(rows_b.astype(np.float64)).max(1) / top)


def test_posit_scale_is_power_of_two_near_rms():
    model = _model("digits_mlp")
    before = _weights(model)
    quantize(model, "posit:8:1")
    for name, q in quant_info(model).items():
        rows = before[name].reshape(before[name].shape[0], -1).astype(np.float64)
        rms = np.sqrt((rows**2).mean(1))
        np.testing.assert_array_equal(q.scale, np.ldexp(1.0, np.round(np.log2(rms)).astype(int)))
        assert q.w_format == "posit:8:1"


def test_zero_rows_and_pruned_zeros_survive():
    model = _model("digits_mlp")
    prune(model, "unstructured:0.3")
    with torch.no_grad():
        model.net[0].weight[5] = 0.0
    zeros = {n: w == 0 for n, w in _weights(model).items()}
    for scheme in ["fixed:4", "sp2:4", "posit:6:1", "msq:4:0.5", "posit+fixed:4:1:4"]:
        quantize(model, scheme)
        _check_bit_exact(model)
        for n, w in _weights(model).items():
            assert not w[zeros[n]].any()
        q = quant_info(model)["net.0.weight"]
        assert q.scale[5] == 1.0 and not q.codes[5].any()


# ----------------------------------------------------------------------------------------- mixed row fractions


@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.5, 1.0])
def test_msq_row_fraction_exact_and_matches_msq_assign(fraction):
    model = _model("digits_cnn")
    before = _weights(model)
    df = quantize(model, f"msq:4:{fraction}")
    for name, q in quant_info(model).items():
        rows = before[name].reshape(before[name].shape[0], -1).astype(np.float64)
        assert q.row_modes.sum() == round(fraction * rows.shape[0])
        np.testing.assert_array_equal(q.row_modes.astype(bool), msq_assign(rows, fraction, bits=4))
        assert (q.w_format, q.alt_format) == ("sp2:4", "fixed:4:3")
    assert (df["w_rows"] == [round(fraction * r) for r in df["rows"]]).all()
    _check_bit_exact(model)


@pytest.mark.parametrize("fraction", [0.0, 0.2, 0.5, 0.9, 1.0])
def test_posit_fixp_fraction_exact_and_worst_fixed_rows_go_to_posit(fraction):
    model = _model("digits_mlp")
    before = _weights(model)
    quantize(model, f"posit+fixed:4:1:4:{fraction}", mix_by="importance")
    fixed = Fixed(4, 3)
    for name, q in quant_info(model).items():
        rows = before[name].reshape(before[name].shape[0], -1).astype(np.float64)
        modes = q.row_modes.astype(bool)
        assert modes.sum() == round(fraction * rows.shape[0])
        assert (q.w_format, q.alt_format) == ("posit:4:1", "fixed:4:3")
        s = np.abs(rows).max(1, keepdims=True) / (fixed.int_max * fixed.scale)
        rel = ((fixed.quantize(rows / s) * s - rows) ** 2).sum(1) / (rows**2).sum(1)
        if 0 < modes.sum() < modes.size:
            assert rel[modes].min() >= rel[~modes].max()
    _check_bit_exact(model)


def test_posit_fixp_taylor_sensitivity_uses_gradients():
    lin = nn.Linear(4, 4, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 0.3, 0.2, 0.1]] * 4) * torch.tensor([[4.0], [3.0], [2.0], [1.0]]))
    model = nn.Sequential(lin)
    x = torch.ones(8, 4)
    # the loss only depends on outputs 2 and 3, so only those rows have gradient
    data = (x, torch.zeros(8), lambda out, y: out[:, 2:].sum())
    quantize(model, "posit+fixed:8:1:4:0.5", data=data)
    assert quant_info(model)["0.weight"].row_modes.tolist() == [0, 0, 1, 1]
    _check_bit_exact(model)
    assert lin.weight.grad is None


# -------------------------------------------------------------------------------------------------- activations


def test_activation_hooks_record_format_and_match_fixed_bit_for_bit():
    model = _model("digits_mlp")
    x_tr, _, x_te, _ = load_digits_split(0)
    calib = x_tr[:256] - 0.25  # first layer sees negative inputs -> signed; hidden ReLU outputs -> unsigned
    df = quantize(model, "fixed:8", act_bits=8, calib=calib)
    infos = quant_info(model)
    assert infos["net.0.weight"].act_format == "fixed:8:7"
    assert infos["net.2.weight"].act_format == "ufixed:8:8" == infos["net.4.weight"].act_format
    assert list(df["act_format"]) == [q.act_format for q in infos.values()]
    assert infos["net.0.weight"].act_scale == pytest.approx(float(calib.abs().max()) / (127 / 128))
    seen = {}
    for i, layer in enumerate(model.net):
        if isinstance(layer, nn.Linear):
            hooks = [h for h in layer._forward_pre_hooks.values() if isinstance(h, ActQuant)]
            assert len(hooks) == 1
            layer.register_forward_hook(lambda m, a, o, i=i: seen.__setitem__(i, (a[0].detach(), m)))
    x = x_te[:32] - 0.25
    model(x)
    # the first layer's (quantized) input, checked against hwsim.formats on the raw input
    q0 = infos["net.0.weight"]
    fmt = parse_format(q0.act_format)
    expect = (fmt.quantize(x.double().numpy() / q0.act_scale) * q0.act_scale).astype(np.float32)
    np.testing.assert_array_equal(seen[0][0].numpy(), expect)
    # requantizing replaces the hook (still one per layer) and without act_bits removes it
    quantize(model, "fixed:8", act_bits=6, calib=calib, include="net.0.*")
    assert len([h for h in model.net[0]._forward_pre_hooks.values() if isinstance(h, ActQuant)]) == 1
    assert quant_info(model)["net.0.weight"].act_format == "fixed:6:5"
    quantize(model, "fixed:8", include="net.0.*")
    assert not [h for h in model.net[0]._forward_pre_hooks.values() if isinstance(h, ActQuant)]
    assert quant_info(model)["net.0.weight"].act_format is None


def test_quantized_model_exports_with_activation_quantizers():
    model = _model("digits_mlp").eval()
    x_tr, _, x_te, _ = load_digits_split(0)
    quantize(model, "msq:4:0.5", act_bits=8, calib=x_tr[:256])
    x = x_te[:4]
    ep = torch.export.export(model, (x,))
    code = ep.graph_module.code
    # one requantization node per quantized layer, kept whole so capture maps it to the hardware's requant
    assert code.count("hwsim.requant") == 3 and "aten.round" not in code
    torch.testing.assert_close(ep.module()(x), model(x), rtol=0, atol=0)


# ------------------------------------------------------------------------------------------------------ errors


def test_quant_spec_checks_itself_and_the_old_spelling_still_parses():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        QuantSpec("msq", bits=4, fraction=1.5)
    with pytest.raises(ValueError, match="n=4 does not apply"):
        QuantSpec("sp2", bits=4, n=4)
    with pytest.raises(ValueError, match="did you mean 'posit'"):
        parse_quant("posti:8")
    with pytest.warns(FutureWarning, match="now spelled 'posit\\+fixed'"):
        old = parse_quant("posit-fixp:4:1:8")
    assert old == parse_quant("posit+fixed:4:1:8:0.5") and str(old) == "posit+fixed:4:1:8:0.5"


@pytest.mark.parametrize(
    ("spec", "kwargs", "match"),
    [
        ("int:8", {}, "unknown quantization scheme"),
        ("sp2:1", {}, "bits"),
        ("fixed:1", {}, "at least 2 bits"),
        ("fixed:0", {}, "bits"),
        ("posit:8:8", {}, "es=8 is too large"),
        ("posit+fixed:8:9:4", {}, "too large"),
        ("msq:12:0.5", {}, "bits"),
        ("fixed:8", {"act_bits": 8}, "calib"),
        ("fixed:8", {"act_bits": 1, "calib": torch.rand(4, 64)}, "act_bits"),
        ("fixed:8", {"include": "nothing"}, "no GEMM weight .* matched"),
    ],
)
def test_bad_input_raises_before_modifying(spec, kwargs, match):
    model = _model("digits_mlp")
    before = _weights(model)
    with pytest.raises(ValueError, match=match):
        quantize(model, spec, **kwargs)
    assert not quant_info(model)
    assert all(np.array_equal(before[n], w) for n, w in _weights(model).items())
    assert not any(m._forward_pre_hooks for m in model.modules())


def test_nan_weight_names_layer_and_nothing_is_half_quantized():
    model = _model("digits_mlp")
    with torch.no_grad():
        model.net[4].weight[0, 0] = float("nan")
    before = _weights(model)
    with pytest.raises(ValueError, match=r"net\.4\.weight"):
        quantize(model, "fixed:8", act_bits=8, calib=torch.rand(4, 64))
    assert not quant_info(model)
    for n, w in _weights(model).items():
        np.testing.assert_array_equal(w, before[n])
    assert not any(m._forward_pre_hooks for m in model.modules())


def test_posit_format_object_agrees():
    # the recorded w_format string builds the very format the codes came from
    model = _model("digits_cnn")
    quantize(model, "posit:8:2")
    assert all(parse_format(q.w_format) == Posit(8, 2) for q in quant_info(model).values())


# ------------------------------------------------------------------------------------------------ acceptance


def test_digits_mlp_8bit_weights_and_activations_within_one_point():
    split = load_digits_split(0)
    x_tr, _, x_te, y_te = split
    model = create_model("digits_mlp")
    float_acc = train_digits(model, seed=0, split=split)["test_acc"]
    quantize(model, "fixed:8", act_bits=8, calib=x_tr)
    _check_bit_exact(model)
    with torch.no_grad():
        q_acc = (model(x_te).argmax(1) == y_te).float().mean().item()
    print(f"\ndigits_mlp test accuracy: float {100 * float_acc:.2f}%, fixed:8 weights + 8-bit activations "
          f"{100 * q_acc:.2f}%")
    assert float_acc > 0.9
    assert abs(q_acc - float_acc) <= 0.01
