"""hwsim.models: registry behaviour, DeiT shapes and analytic MACs, digits training, JSC sparsity, torch.export."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from hwsim.models import (
    MODELS,
    ModelRegistry,
    VisionTransformer,
    create_model,
    list_models,
    load_digits_split,
    model_info,
    train_digits,
)
from hwsim.models.jsc import JSC_CONFIGS, JSCNet, MaskedLinear
from hwsim.models.vit import Attention, PatchEmbed

pytestmark = pytest.mark.usefixtures("torch_one_thread")


# ----------------------------------------------------------------------------------------------- registry


def test_list_models_contains_every_model_sorted():
    names = list_models()
    expected = {"deit_tiny", "deit_small", "deit_base", "digits_mlp", "digits_cnn", "jsc_s", "jsc_m", "jsc_l",
                "vit_digits", "cancer_mlp", "digits_lut", "cancer_lut"}
    assert expected <= set(names)
    assert names == sorted(names)
    assert len(MODELS) == len(names)


def test_list_models_pattern():
    assert list_models("deit_*") == ["deit_base", "deit_small", "deit_tiny"]
    assert list_models("jsc_?") == ["jsc_l", "jsc_m", "jsc_s"]
    assert list_models("*digits*") == ["digits_cnn", "digits_lut", "digits_mlp", "vit_digits"]
    assert list_models("nothing*") == []


@pytest.mark.parametrize("name", ["digits_mlp", "digits_cnn", "jsc_s", "jsc_m", "jsc_l", "deit_tiny"])
def test_create_model_and_example_input(name):
    model = create_model(name)
    assert isinstance(model, nn.Module)
    info = model_info(name)
    assert info.name == name and info.description and info.tags
    x = info.example_input(batch=2)
    assert x.shape == (2, *info.input_shape) and x.dtype == torch.float32
    # Example inputs come from a private generator: reproducible, and the global RNG is left alone.
    state = torch.get_rng_state()
    assert torch.equal(info.example_input(batch=2), x)
    assert torch.equal(torch.get_rng_state(), state)
    if name != "deit_tiny":  # deit_tiny is run forward in its own tests
        model.eval()
        with torch.no_grad():
            assert model(*info.example_args(batch=2)).shape[0] == 2


def test_model_info_input_shapes():
    assert model_info("deit_base").input_shape == (3, 224, 224)
    assert model_info("digits_mlp").input_shape == (64,)
    assert model_info("digits_cnn").input_shape == (1, 8, 8)
    assert model_info("jsc_m").input_shape == (16,)
    assert "transformer" in model_info("deit_small").tags


def test_create_model_forwards_kwargs():
    m = create_model("deit_tiny", num_classes=10, depth=2)
    assert isinstance(m, VisionTransformer) and m.head.out_features == 10 and len(m.blocks) == 2


def test_unknown_model_suggests_close_matches():
    with pytest.raises(ValueError, match=r"unknown model 'deit_smal'; did you mean deit_small") as exc:
        create_model("deit_smal")
    suggestions = str(exc.value).split("did you mean ", 1)[1].rstrip("?").split(", ")
    assert 1 <= len(suggestions) <= 3 and suggestions[0] == "deit_small"
    with pytest.raises(ValueError, match="unknown model"):
        model_info("jsc_xl")
    with pytest.raises(ValueError, match="known models"):  # nothing close: list what exists instead
        create_model("zzzzzzzz")


def test_registry_is_an_explicit_object():
    reg = ModelRegistry()

    @reg.register("toy", description="a toy", tags=("t",), input_shape=(4,))
    def toy(width: int = 3) -> nn.Module:
        return nn.Linear(4, width)

    assert reg.names() == ["toy"] and "toy" in reg and "toy" not in MODELS
    assert reg.create("toy", width=5).out_features == 5
    assert reg.get("toy").example_input(3).shape == (3, 4)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("toy", description="again", input_shape=(4,))(toy)
    with pytest.raises(ValueError, match="identifier"):
        reg.register("bad name", description="x", input_shape=(1,))


# ----------------------------------------------------------------------------------------------- DeiT


def _vit_macs_from_shapes(model: VisionTransformer) -> int:
    """MACs from the module shapes alone, independent of VisionTransformer.mac_breakdown: every Conv2d and Linear
    by its weight shape and output positions, plus QK^T and AV per attention module."""
    pe: PatchEmbed = model.patch_embed
    n_tokens = pe.num_patches + 1
    macs = 0
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Conv2d):
            out_positions = (pe.img_size // mod.stride[0]) * (pe.img_size // mod.stride[1])
            macs += out_positions * mod.weight.numel()  # weight = Cout * Cin * kh * kw
        elif isinstance(mod, nn.Linear):
            rows = 1 if name == "head" else n_tokens  # the head only sees the class token
            macs += rows * mod.in_features * mod.out_features
        elif isinstance(mod, Attention):
            macs += 2 * mod.num_heads * n_tokens * n_tokens * mod.head_dim  # q @ k^T and attn @ v
    return macs


def _meta(name: str) -> VisionTransformer:
    # Meta tensors carry shapes but no storage: DeiT-B is built (and even run) instantly, without 350 MB of weights.
    with torch.device("meta"):
        return create_model(name)


@pytest.mark.parametrize(("name", "gmac", "params_m"), [("deit_base", 17.56, 86.57), ("deit_small", 4.60, 22.05)])
def test_deit_analytic_gmac(name, gmac, params_m):
    model = _meta(name)
    macs = _vit_macs_from_shapes(model)
    assert round(macs / 1e9, 2) == gmac
    assert macs == model.macs()  # the model's own breakdown agrees exactly
    assert round(sum(p.numel() for p in model.parameters()) / 1e6, 2) == params_m
    # And so does torch's operator-level counter on a meta-tensor forward (flops = 2 * MACs for mm/bmm/conv).
    with torch.device("meta"), FlopCounterMode(display=False) as counter:
        out = model(torch.empty(1, 3, 224, 224))
    assert out.shape == (1, 1000)
    assert counter.get_total_flops() == 2 * macs


def test_deit_shapes_analytic():
    for name, dim, heads in [("deit_tiny", 192, 3), ("deit_small", 384, 6), ("deit_base", 768, 12)]:
        m = _meta(name)
        assert (m.dim, m.num_heads, m.depth, m.num_tokens) == (dim, heads, 12, 197)
        assert m.patch_embed.proj.kernel_size == (16, 16) and m.patch_embed.proj.stride == (16, 16)
        assert m.pos_embed.shape == (1, 197, dim) and m.cls_token.shape == (1, 1, dim)
        blk = m.blocks[0]
        assert blk.attn.qkv.weight.shape == (3 * dim, dim) and blk.attn.proj.weight.shape == (dim, dim)
        assert blk.mlp.fc1.weight.shape == (4 * dim, dim) and blk.mlp.fc2.weight.shape == (dim, 4 * dim)
        assert m.head.weight.shape == (1000, dim)


@pytest.fixture(scope="module")
def deit_tiny() -> VisionTransformer:
    torch.manual_seed(0)
    return create_model("deit_tiny").eval()


def test_deit_tiny_tokens_and_output(deit_tiny):
    x = model_info("deit_tiny").example_input()
    with torch.no_grad():
        tokens = deit_tiny.embed(x)
        out = deit_tiny(x)
    assert tokens.shape == (1, 197, 192)
    assert out.shape == (1, 1000) and torch.isfinite(out).all()
    assert round(deit_tiny.macs() / 1e9, 2) == 1.25


def test_deit_tiny_explicit_matches_sdpa(deit_tiny):
    x = model_info("deit_tiny").example_input(batch=2)
    assert deit_tiny.attention == "explicit"
    try:
        with torch.no_grad():
            explicit = deit_tiny(x)
            deit_tiny.set_attention("sdpa")
            sdpa = deit_tiny(x)
    finally:
        deit_tiny.set_attention("explicit")
    torch.testing.assert_close(sdpa, explicit, rtol=1e-4, atol=1e-5)
    # The constructor option builds the same maths.
    torch.manual_seed(0)
    built = create_model("deit_tiny", attention="sdpa").eval()
    assert built.attention == "sdpa"
    with pytest.raises(ValueError, match="attention"):
        create_model("deit_tiny", attention="flash")


# ----------------------------------------------------------------------------------------------- digits


@pytest.fixture(scope="module")
def digits_split():
    return load_digits_split(seed=0)


def test_digits_split(digits_split):
    x_tr, y_tr, x_te, y_te = digits_split
    assert x_tr.dtype == x_te.dtype == torch.float32 and x_tr.shape[1] == 64
    assert y_tr.dtype == y_te.dtype == torch.int64
    assert x_tr.shape[0] + x_te.shape[0] == 1797
    assert 0.0 <= float(x_tr.min()) and float(x_tr.max()) <= 1.0
    assert set(y_te.tolist()) == set(range(10))


@pytest.mark.parametrize(("name", "min_acc"), [("digits_mlp", 0.95), ("digits_cnn", 0.90)])
def test_digits_train_accuracy(digits_split, name, min_acc):
    result = train_digits(create_model(name), split=digits_split, seed=0)
    assert result["test_acc"] >= min_acc, result
    assert result["train_acc"] >= result["test_acc"] - 0.05
    # Deterministic: the same seed reproduces the same accuracy even from a differently initialised model.
    torch.manual_seed(123)
    assert train_digits(create_model(name), split=digits_split, seed=0) == result


# ----------------------------------------------------------------------------------------------- JSC


@pytest.mark.parametrize("name", ["jsc_s", "jsc_m", "jsc_l"])
def test_jsc_fan_in_per_neuron(name):
    model: JSCNet = create_model(name)
    cfg = JSC_CONFIGS[name]
    layers = model.masked_layers()
    widths = [16, *cfg.hidden, 5]
    assert [(l.in_features, l.out_features) for l in layers] == list(itertools.pairwise(widths))
    fan_ins = [l.fan_in for l in layers]
    assert fan_ins == [cfg.input_fanin] + [cfg.hidden_fanin] * (len(layers) - 2) + [cfg.output_fanin]
    for layer in layers:
        assert isinstance(layer, MaskedLinear)
        assert layer.mask.shape == layer.weight.shape
        assert ((layer.mask == 0) | (layer.mask == 1)).all()
        assert (layer.mask.sum(dim=1) == layer.fan_in).all()
        assert ((layer.masked_weight() != 0).sum(dim=1) == layer.fan_in).all()
        assert layer.indices.shape == (layer.out_features, layer.fan_in)
    # The masked-out weights really do not influence the output, and receive no gradient.
    first = layers[0]
    x = model_info(name).example_input(batch=8)
    model.eval()
    y = model(x)
    with torch.no_grad():
        first.weight.add_(100.0 * (1 - first.mask))
    torch.testing.assert_close(model(x), y)
    model.train()  # eval computes exact codes; training passes straight-through gradients
    model(x).sum().backward()
    assert first.weight.grad.abs().sum() > 0 and (first.weight.grad[first.mask == 0] == 0).all()


def test_jsc_paper_shapes_and_wiring_seed():
    assert JSC_CONFIGS["jsc_s"].hidden == JSC_CONFIGS["jsc_m"].hidden == (64, 32, 32, 32)
    assert JSC_CONFIGS["jsc_l"].hidden == (32, 64, 192, 192, 16)
    assert (JSC_CONFIGS["jsc_s"].hidden_fanin, JSC_CONFIGS["jsc_m"].hidden_fanin) == (3, 4)
    assert JSC_CONFIGS["jsc_l"].hidden_fanin == 4
    # Wiring depends only on `seed`, not on the global RNG.
    torch.manual_seed(1)
    a = create_model("jsc_s", seed=7)
    torch.manual_seed(2)
    b = create_model("jsc_s", seed=7)
    c = create_model("jsc_s", seed=8)
    assert all(torch.equal(p.mask, q.mask) for p, q in zip(a.masked_layers(), b.masked_layers(), strict=True))
    assert not all(torch.equal(p.mask, q.mask) for p, q in zip(a.masked_layers(), c.masked_layers(), strict=True))
    # Uniform fan-in override (e.g. the paper's headline "fan-in 4" for JSC-L).
    assert {l.fan_in for l in create_model("jsc_l", fan_in=4).masked_layers()} == {4}


# ----------------------------------------------------------------------------------------------- torch.export


@pytest.mark.parametrize(
    ("name", "strict"),
    [
        ("deit_tiny", False),
        pytest.param("deit_tiny", True, marks=pytest.mark.slow),  # ~7 s of Dynamo tracing
        ("digits_mlp", False),
        ("digits_mlp", True),
        ("jsc_s", False),
        ("jsc_s", True),
    ],
)
def test_torch_export(name, strict):
    torch.manual_seed(0)
    model = create_model(name).eval()
    args = model_info(name).example_args()
    program = torch.export.export(model, args, strict=strict)
    with torch.no_grad():
        torch.testing.assert_close(program.module()(*args), model(*args))


def test_models_are_reproducible_from_their_seed():
    a, b = create_model("digits_mlp"), create_model("digits_mlp")
    c = create_model("digits_mlp", init_seed=1)
    wa, wb, wc = (m.state_dict()["net.0.weight"] for m in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)
    state = torch.random.get_rng_state()
    create_model("digits_mlp")
    assert torch.equal(state, torch.random.get_rng_state())  # the caller's RNG stream is untouched
