"""Capture: MAC totals against analytic counts, on our models and on model code this project did not write."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hwsim.frontend import capture
from hwsim.models import create_model
from hwsim.workload import GemmOp, UnmappedOp, VectorOp, Workload

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def image():
    return (torch.randn(1, 3, 224, 224),)


@pytest.mark.parametrize(("name", "gmac"), [("deit_base", 17.56), ("deit_small", 4.60)])
def test_deit_macs_include_attention(name, gmac):
    w = capture(create_model(name), image())
    assert round(w.total_macs / 1e9, 2) == gmac
    roles = {op.role for op in w.gemms}
    assert roles == {"conv", "linear", "matmul"}  # explicit attention: q @ k^T and attn @ v as batched matmuls
    heads = {"deit_base": 12, "deit_small": 6}[name]
    qk = next(op for op in w.gemms if op.role == "matmul")
    assert (qk.m, qk.k, qk.n, qk.count) == (197, 64, 197, heads)
    assert not [op for op in w if isinstance(op, UnmappedOp)]


def test_sdpa_attention_becomes_per_head_gemms_around_a_softmax():
    explicit = capture(create_model("deit_tiny"), image())
    sdpa = capture(create_model("deit_tiny", attention="sdpa"), image())
    assert sdpa.total_macs == explicit.total_macs
    qk = [op for op in sdpa.gemms if op.role == "attn_qk"]
    av = [op for op in sdpa.gemms if op.role == "attn_av"]
    assert len(qk) == len(av) == 12
    assert (qk[0].m, qk[0].k, qk[0].n, qk[0].count) == (197, 64, 197, 3)
    assert (av[0].m, av[0].k, av[0].n, av[0].count) == (197, 197, 64, 3)
    softmax = [op for op in sdpa if isinstance(op, VectorOp) and op.op == "softmax"]
    assert softmax[0].elements == 3 * 197 * 197


def test_conv_is_lowered_by_im2col():
    model = create_model("digits_cnn")
    w = capture(model, (torch.randn(2, 1, 8, 8),))
    conv = w.gemms[0]
    first = model.features[0]
    assert conv.k == first.in_channels * first.kernel_size[0] * first.kernel_size[1]
    assert conv.n == first.out_channels and conv.m == 2 * 8 * 8
    weight = first.weight.detach().numpy()
    np.testing.assert_array_equal(w.arrays[conv.weight], weight.reshape(weight.shape[0], -1).T)


# --- model code this project did not write (transformers, random weights, built offline from configs) ---

def test_huggingface_vit_with_deit_small_shapes():
    from transformers import ViTConfig, ViTForImageClassification

    cfg = ViTConfig(hidden_size=384, num_hidden_layers=12, num_attention_heads=6, intermediate_size=1536,
                    image_size=224, patch_size=16, num_labels=1000)
    w = capture(ViTForImageClassification(cfg), image())
    assert round(w.total_macs / 1e9, 2) == 4.60
    assert sum(op.role == "attn_qk" for op in w.gemms) == 12


def _encoder_macs(layers: int, length: int, d: int, inner: int) -> int:
    per_layer = 4 * length * d * d + 2 * length * length * d + 2 * length * d * inner
    return layers * per_layer


def test_huggingface_bert():
    from transformers import BertConfig, BertModel

    layers, length, d, inner = 2, 32, 128, 512
    model = BertModel(BertConfig(hidden_size=d, num_hidden_layers=layers, num_attention_heads=4,
                                 intermediate_size=inner, vocab_size=1000))
    w = capture(model, (torch.randint(0, 1000, (1, length)),))
    assert w.total_macs == _encoder_macs(layers, length, d, inner) + d * d  # + the pooler on [CLS]


def test_huggingface_gpt2_uses_addmm_conv1d_weights():
    from transformers import GPT2Config, GPT2Model

    layers, length, d = 2, 32, 128
    model = GPT2Model(GPT2Config(n_embd=d, n_layer=layers, n_head=4, vocab_size=1000, n_positions=64,
                                 bos_token_id=0, eos_token_id=0))
    w = capture(model, (torch.randint(0, 1000, (1, length)),), {"use_cache": False})
    assert w.total_macs == _encoder_macs(layers, length, d, 4 * d)
    c_attn = next(op for op in w.gemms if op.name.endswith("attn.c_attn"))
    assert (c_attn.k, c_attn.n) == (d, 3 * d)
    np.testing.assert_array_equal(w.arrays[c_attn.weight], model.h[0].attn.c_attn.weight.detach().numpy())


# --- unmapped ops and failures ---

class _Sorts(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(8, 8)

    def forward(self, x):
        y = torch.sort(self.fc(x), dim=-1).values
        return torch.cumprod(y, dim=-1) + torch.cumprod(x, dim=-1)


def test_strict_capture_lists_every_unmapped_op_with_its_count():
    with pytest.raises(ValueError, match=r"aten.cumprod.default x2, aten.sort.default x1.*strict=False"):
        capture(_Sorts(), (torch.randn(2, 8),))


def test_non_strict_capture_keeps_unmapped_ops_with_their_sizes():
    w = capture(_Sorts(), (torch.randn(2, 8),), strict=False)
    unmapped = [op for op in w if isinstance(op, UnmappedOp)]
    assert sorted(op.target for op in unmapped) == ["aten.cumprod.default"] * 2 + ["aten.sort.default"]
    assert all(op.elements == 16 for op in unmapped if "cumprod" in op.target)


class _DataDependent(torch.nn.Module):
    def forward(self, x):
        if x.sum() > 0:  # control flow on a value: torch.export cannot trace it
            return x * 2
        return x


def test_a_model_that_fails_to_export_gets_a_clear_error():
    with pytest.raises(ValueError, match="torch.export could not trace _DataDependent"):
        capture(_DataDependent(), (torch.randn(3),))
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        capture(lambda x: x, (torch.randn(3),))


def test_workload_round_trips_through_npz(tmp_path):
    w = capture(create_model("digits_mlp"), (torch.randn(4, 64),))
    path = w.save(tmp_path / "digits.npz")
    back = Workload.load(path)
    assert back.ops == w.ops and back.total_macs == w.total_macs
    for key in w.arrays:
        np.testing.assert_array_equal(back.arrays[key], w.arrays[key])
    assert back.to_dataframe().equals(w.to_dataframe())
    assert isinstance(back.gemms[0], GemmOp) and back.gemms[0].m == 4


def test_workload_files_are_checked(tmp_path):
    bad = tmp_path / "x.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="is not a hwsim workload file"):
        Workload.load(bad)
    with pytest.raises(ValueError, match="must end in .npz"):
        Workload([]).save(tmp_path / "x.json")
    with pytest.raises(ValueError, match="refers to array 'w'"):
        Workload([GemmOp(name="a", target="t", role="linear", m=1, k=1, n=1, weight="w")])
