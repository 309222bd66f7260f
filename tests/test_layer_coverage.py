"""Nothing is silently ignored by the front end: every GEMM weight layer type is pruned, quantized and captured
with its records (Linear, Conv1d/Conv2d incl. depthwise, transformers' Conv1D, MultiheadAttention's in_proj),
layers it cannot handle are errors naming them, and activation quantization is captured as requantization."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import hwsim
from hwsim.formats import Fixed, parse_format
from hwsim.frontend import capture, prune, prune_info, quant_info, quantize

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _gpt2():
    from transformers import GPT2Config, GPT2Model

    model = GPT2Model(GPT2Config(n_embd=64, n_layer=2, n_head=4, vocab_size=500, n_positions=64,
                                 bos_token_id=0, eos_token_id=0))
    return model, (torch.randint(0, 500, (1, 24)),), {"use_cache": False}


def _bert():
    from transformers import BertConfig, BertModel

    model = BertModel(BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=256,
                                 vocab_size=500))
    return model, (torch.randint(0, 500, (1, 24)),), None


def _hf_vit():
    from transformers import ViTConfig, ViTForImageClassification

    model = ViTForImageClassification(ViTConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                                intermediate_size=128, image_size=32, patch_size=8, num_labels=10))
    return model, (torch.randn(1, 3, 32, 32),), None


class _Mixed(nn.Module):
    """A CNN with a depthwise and a pointwise conv, a 1-D conv and nn.MultiheadAttention."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, padding=1)
        self.dw = nn.Conv2d(32, 32, 3, padding=1, groups=32)
        self.pw = nn.Conv2d(32, 64, 1)
        self.seq = nn.Conv1d(64, 64, 3, padding=1)
        self.mha = nn.MultiheadAttention(64, 4, batch_first=True)
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        h = torch.relu(self.pw(torch.relu(self.dw(torch.relu(self.stem(x))))))  # (b, 64, 8, 8)
        h = torch.relu(self.seq(h.flatten(2))).transpose(1, 2)  # (b, 64 positions, 64)
        a, _ = self.mha(h, h, h, need_weights=False)
        return self.head(a.mean(1))


def _mixed():
    torch.manual_seed(0)
    return _Mixed().eval(), (torch.randn(2, 3, 8, 8),), None


MODELS = {"gpt2": _gpt2, "bert": _bert, "hf_vit": _hf_vit, "cnn_dw_conv1d_mha": _mixed}


@pytest.mark.parametrize("name", list(MODELS))
def test_every_weight_layer_is_pruned_quantized_and_captured(name):
    model, args, kwargs = MODELS[name]()
    report = prune(model, "block:32x32:0.5:pad")
    quantize(model, "sp2:4")
    w = capture(model, args, kwargs)
    pruned, quantized = prune_info(model), quant_info(model)
    assert set(pruned) == set(quantized) == set(report.layer)
    weight_gemms = [op for op in w.gemms if op.weight is not None]
    assert len(weight_gemms) >= len(pruned)  # a tied weight may serve two GEMMs
    for op in weight_gemms:
        assert op.quant is not None and op.quant.scheme == "sp2:4", op.name
        assert op.prune == "block" and op.requested_density == 0.5, op.name
    for row in report.itertuples():
        # within one block of the target (edge blocks are partial with :pad)
        assert abs(row.blocks_kept - 0.5 * row.blocks_total) <= 1, row.layer
    # and the simulation's per-layer table shows what was applied to each weight GEMM
    table = hwsim.simulate(w, allow_unmapped=True).compression
    assert list(table.layer) == [op.name for op in weight_gemms]
    assert (table.requested_density == 0.5).all() and (table.format == "sp2:4").all()
    np.testing.assert_allclose(table.density, [op.density for op in weight_gemms], atol=1e-6)
    if name == "gpt2":  # transformers' Conv1D: (in, out) weights
        c_attn = next(op for op in w.gemms if op.name == "h.0.attn.c_attn")
        assert (c_attn.k, c_attn.n) == (64, 192) and c_attn.codes is not None
        codes = w.arrays[c_attn.codes]
        fmt = parse_format(c_attn.quant.w_format)
        info = quantized["h.0.attn.c_attn.weight"]
        # the GEMM-view codes decode to the (K, N) weight the engine multiplies by
        np.testing.assert_array_equal((fmt.decode(codes) * info.scale[None, :]).astype(np.float32),
                                      w.arrays[c_attn.weight])
    if name == "cnn_dw_conv1d_mha":
        names = {op.name for op in weight_gemms}
        assert {"stem", "dw", "pw", "seq", "mha.in_proj", "mha.out_proj", "head"} <= names
        dw = next(op for op in weight_gemms if op.name == "dw")
        assert dw.count == 32 and (dw.k, dw.n) == (9, 1)


def test_conv1d_codes_and_masks_follow_the_gemm_view():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv1d(8, 16, 5, padding=2))
    prune(model, "block:8x8:0.5:pad")
    quantize(model, "fixed:8")
    x = torch.randn(1, 8, 20)
    w = capture(model, (x,))
    (op,) = w.gemms
    assert (op.m, op.k, op.n) == (20, 40, 16)
    weight = model[0].weight.detach().numpy()
    np.testing.assert_array_equal(w.arrays[op.weight], weight.reshape(16, 40).T)
    info = quant_info(model)["0.weight"]
    dequant = parse_format(op.quant.w_format).decode(w.arrays[op.codes]) * info.scale[None, :]
    np.testing.assert_array_equal(dequant.astype(np.float32), w.arrays[op.weight])


@pytest.mark.parametrize("layer", [nn.ConvTranspose2d(4, 4, 3), nn.Conv3d(2, 4, 3), nn.Bilinear(4, 4, 4)])
def test_a_layer_with_no_gemm_mapping_is_an_error_naming_it(layer):
    model = nn.Sequential(nn.Linear(4, 4), layer)
    for call in (lambda: prune(model, "unstructured:0.5"), lambda: quantize(model, "fixed:8")):
        with pytest.raises(ValueError, match=r"layer 1\.weight \(\w+\) has no GEMM mapping.*exclude it"):
            call()
    assert not prune_info(model) and not quant_info(model)
    prune(model, "unstructured:0.5", exclude="1.*")  # excluded, the rest proceeds
    assert set(prune_info(model)) == {"0.weight"}


def test_cross_attention_in_proj_through_a_slice_is_an_error():
    class Cross(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mha = nn.MultiheadAttention(16, 2, batch_first=True)

        def forward(self, q, kv):
            return self.mha(q, kv, kv, need_weights=False)[0]

    model = Cross().eval()
    quantize(model, "sp2:4")
    with pytest.raises(ValueError, match=r"never reach a GEMM as a whole parameter.*mha\.in_proj_weight"):
        capture(model, (torch.randn(1, 3, 16), torch.randn(1, 5, 16)))


def test_activation_quantized_model_captures_requant_and_gemm_outputs_match_torch():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 10)).eval()
    x = torch.randn(8, 16)
    quantize(model, "fixed:8", calib=x, act_bits=8)
    w = capture(model, (x,))
    ops = list(w)
    requants = [i for i, op in enumerate(ops) if getattr(op, "op", None) == "requant"]
    gemms = [i for i, op in enumerate(ops) if op.kind == "gemm"]
    assert len(requants) == 2 and all(r + 1 == g for r, g in zip(requants, gemms, strict=True))  # right before
    assert ops[requants[0]].elements == 8 * 16
    # the captured record reproduces each layer's output: activation codes x weight codes, rescaled
    inputs: dict[str, torch.Tensor] = {}
    outputs: dict[str, torch.Tensor] = {}
    hooks = []

    def record(name):
        def hook(module, args, out) -> None:
            inputs[name], outputs[name] = args[0], out
        return hook

    for name, mod in model.named_children():
        if isinstance(mod, nn.Linear):
            hooks.append(mod.register_forward_hook(record(name)))
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    quant = quant_info(model)
    for op in w.gemms:
        q = op.quant
        act = parse_format(q.act_format)
        assert isinstance(act, Fixed)
        raw = inputs[op.name].double().numpy()  # already fake-quantized by the requant hook
        a_codes = act.encode(raw / q.act_scale)
        # the input is on the activation grid: float32(decode(code) * scale), as requant stores it
        np.testing.assert_array_equal((act.decode(a_codes) * q.act_scale).astype(np.float32), raw.astype(np.float32))
        w_fmt = parse_format(q.w_format)
        scale = quant[f"{op.name}.weight"].scale
        ints_w = w_fmt.decode(w.arrays[op.codes]) * 2.0**w_fmt.frac  # integer codes
        ints_x = act.decode(a_codes) * 2.0**act.frac
        acc = ints_x @ ints_w  # exact in float64 (small integers)
        y = acc * 2.0**-(w_fmt.frac + act.frac) * q.act_scale * scale[None, :]
        bias = dict(model.named_parameters())[f"{op.name}.bias"].detach().double().numpy()
        got = outputs[op.name].double().numpy()
        # torch accumulates in float32: equal to float32 rounding of a K-term sum
        np.testing.assert_allclose(y + bias, got, rtol=0, atol=1e-5 * math.sqrt(op.k) * np.abs(got).max())


def test_grouped_conv_blocks_save_engine_cycles():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(64, 128, 1, groups=2), nn.ReLU(), nn.Conv2d(128, 128, 1)).eval()
    prune(model, "block:32x32:0.5")
    quantize(model, "msq:4:0.5")
    w = capture(model, (torch.randn(1, 64, 16, 16),))
    grouped = w.gemms[0]
    assert grouped.count == 2 and w.arrays[grouped.mask].shape == (2, 1, 2)  # (groups, K-blocks, N-blocks)
    assert w.arrays[grouped.codes].shape == (2, 32, 64) and w.arrays[grouped.row_modes].shape == (2, 64)
    # per group, the codes decode to that group's (K, N) weight
    info = quant_info(model)["0.weight"]
    main, alt = (parse_format(f) for f in (grouped.quant.w_format, grouped.quant.alt_format))
    codes, modes = w.arrays[grouped.codes], w.arrays[grouped.row_modes]
    values = np.where(modes[:, None, :] == 1, main.decode(codes), alt.decode(codes))
    scale = info.scale.reshape(2, 1, 64)
    np.testing.assert_array_equal((values * scale).astype(np.float32), w.arrays[grouped.weight])
    r = hwsim.simulate(w, baseline="dense")
    row = r.compression.set_index("layer").loc["0"]
    assert row.density == 0.5 and row.engine_density == 0.5
    assert r.baseline["speedup"] > 1.2 and not any("no cycles" in n for n in r.notes)


def test_multihead_attention_with_activation_quantization_captures_and_simulates():
    torch.manual_seed(4)

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(16, 32)
            self.mha = nn.MultiheadAttention(32, 4, batch_first=True)
            self.q, self.k = nn.Linear(32, 8), nn.Linear(32, 8)

        def forward(self, x):
            h = torch.relu(self.fc(x))
            a, _ = self.mha(h, h, h, need_weights=False)
            return self.q(a) + self.k(a)

    model, x = Block().eval(), torch.randn(2, 5, 16)
    quantize(model, "fixed:8", calib=x, act_bits=8)
    assert quant_info(model)["mha.out_proj.weight"].act_format is None  # MHA applies it itself: weight-only
    r = hwsim.simulate(model, example_args=(x,))
    rows = r.compression.set_index("layer")
    assert rows.loc["mha.in_proj"].act_format == "ufixed:8:8" and rows.loc["mha.out_proj"].act_format == ""
    assert any("have unquantized inputs (e.g. mha.out_proj)" in n for n in r.notes)
    # q and k read the same tensor in the same format: the hardware requantizes it once
    assert (r.layers.op == "requant").sum() == 3


def test_pad_blocks_compete_by_their_mean_so_density_meets_the_target():
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(40, 64))  # K = 40: a 32-row block and a partial 8-row one
    report = prune(model, "block:32x32:0.5:pad")
    assert abs(report.density[0] - 0.5) <= 32 * 32 / (40 * 64)  # within one block of the target


@pytest.mark.parametrize(("build", "match"), [
    (lambda: nn.ModuleDict({"rnn": nn.LSTM(4, 8), "head": nn.Linear(8, 2)}), r"rnn\.weight_ih_l0 \(LSTM\)"),
    (lambda: nn.Sequential(torch.nn.utils.parametrizations.weight_norm(nn.Linear(4, 4)), nn.Linear(4, 4)),
     r"0\.weight \(ParametrizedLinear\)"),
])
def test_recurrent_and_parametrized_layers_are_errors_not_skipped(build, match):
    with pytest.raises(ValueError, match=match + " has no GEMM mapping"):
        prune(build(), "unstructured:0.5")


def test_a_weight_tied_to_an_embedding_is_an_error():
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(50, 16)
            self.head = nn.Linear(16, 50, bias=False)
            self.head.weight = self.emb.weight

        def forward(self, ids):
            return self.head(self.emb(ids))

    with pytest.raises(ValueError, match=r"head\.weight is tied to emb\.weight \(Embedding\)"):
        quantize(Tied(), "fixed:8")
