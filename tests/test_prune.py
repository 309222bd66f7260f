"""hwsim.frontend.prune: exact densities, untouched/zero blocks, N:M, channel, unstructured, taylor, errors."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from hwsim.frontend import PruneSpec, prune, prune_info, quantize
from hwsim.models import VisionTransformer, create_model

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _weights(model: nn.Module) -> dict[str, np.ndarray]:
    return {n: p.detach().numpy().copy() for n, p in model.named_parameters() if n.endswith("weight")}


def _gemm(w: np.ndarray) -> np.ndarray:
    """The GEMM view (K, out) of a Linear / Conv2d weight: weight.reshape(out, -1).T."""
    return w.reshape(w.shape[0], -1).T


def _blocks(view: np.ndarray, bk: int, bn: int):
    """(block row, block col, sub-array) over a (K, N) view, partial edge blocks included."""
    for i in range(0, view.shape[0], bk):
        for j in range(0, view.shape[1], bn):
            yield i // bk, j // bn, view[i : i + bk, j : j + bn]


def _mlp(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return create_model("digits_mlp")


def _cnn(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return create_model("digits_cnn")


def _assert_blocks_zero_or_untouched(before: np.ndarray, after: np.ndarray, block_mask: np.ndarray, bk: int, bn: int):
    ob, nb = _gemm(before), _gemm(after)
    for (bi, bj, new), (_, _, old) in zip(_blocks(nb, bk, bn), _blocks(ob, bk, bn), strict=True):
        if block_mask[bi, bj]:
            assert np.array_equal(new, old)
        else:
            assert not new.any()
            assert not np.signbit(new).any()  # +0, not -0


# ------------------------------------------------------------------------------------------------- block


@pytest.mark.parametrize("saliency", ["l1", "l2"])
@pytest.mark.parametrize("density", [0.0, 0.3, 0.5, 1.0])
def test_block_layer_scope_exact_and_untouched(saliency, density):
    model = _mlp()
    before = _weights(model)
    df = prune(model, f"block:8x16:{density}", exclude="net.4.*", saliency=saliency)
    info = prune_info(model)
    assert set(info) == {"net.0.weight", "net.2.weight"} == set(df["layer"])
    after = _weights(model)
    for name, rec in info.items():
        k, n = _gemm(before[name]).shape
        assert rec.block == (8, 16) and rec.block_mask.shape == (k // 8, n // 16)
        assert rec.block_mask.sum() == round(density * rec.block_mask.size)
        _assert_blocks_zero_or_untouched(before[name], after[name], rec.block_mask, 8, 16)
        # the kept blocks are the most salient ones
        norms = np.array([np.abs(b).sum() if saliency == "l1" else np.sqrt((b**2).sum())
                          for _, _, b in _blocks(_gemm(before[name]), 8, 16)]).reshape(rec.block_mask.shape)
        if 0 < rec.block_mask.sum() < rec.block_mask.size:
            assert norms[rec.block_mask].min() >= norms[~rec.block_mask].max()
        assert np.array_equal(rec.mask, after[name] != 0)  # random weights: no kept weight is exactly 0
        assert rec.density == pytest.approx(rec.block_mask.mean())
    row = df.set_index("layer").loc["net.0.weight"]
    assert row["blocks_kept"] == round(density * 32) and row["blocks_total"] == 32 and row["block"] == "8x16"
    assert np.array_equal(after["net.4.weight"], before["net.4.weight"])


def test_block_global_scope_exact_total_and_normalised_ranking():
    model = _cnn()
    before = _weights(model)
    df = prune(model, "block:4x2:0.4", scope="global", include=["features.2.*", "classifier.*"])
    info = prune_info(model)
    total = sum(r.block_mask.size for r in info.values())
    assert sum(int(r.block_mask.sum()) for r in info.values()) == round(0.4 * total)
    assert df["blocks_kept"].sum() == round(0.4 * total)
    # ranking: saliency divided by the layer's mean block saliency; every kept block beats every dropped one
    kept, dropped = [], []
    for name, rec in info.items():
        norms = np.array([np.abs(b).sum() for _, _, b in _blocks(_gemm(before[name]), 4, 2)])
        norms = (norms / norms.mean()).reshape(rec.block_mask.shape)
        kept.append(norms[rec.block_mask])
        dropped.append(norms[~rec.block_mask])
        _assert_blocks_zero_or_untouched(before[name], _weights(model)[name], rec.block_mask, 4, 2)
    assert np.concatenate(kept).min() >= np.concatenate(dropped).max()
    # global differs from uniform: per-layer densities are not all 0.4
    assert not np.allclose(df["density"], 0.4)


def test_block_pad_partial_edge_blocks_count_in_blocks():
    model = _cnn()
    before = _weights(model)
    df = prune(model, "block:4x4:0.5:pad")
    info = prune_info(model)
    # conv1: K = 1*3*3 = 9, N = 8 -> 3 x 2 blocks; conv2: K = 72, N = 16 -> 18 x 4; classifier K=256, N=10 -> 64 x 3
    shapes = {"features.0.weight": (3, 2), "features.2.weight": (18, 4), "classifier.weight": (64, 3)}
    for name, rec in info.items():
        assert rec.block_mask.shape == shapes[name]
        assert rec.block_mask.sum() == round(0.5 * rec.block_mask.size)
        _assert_blocks_zero_or_untouched(before[name], _weights(model)[name], rec.block_mask, 4, 4)
    assert list(df["blocks_total"]) == [6, 72, 192]
    # a partial edge block's saliency is the norm of its real elements: with one huge edge block it is kept
    lin = nn.Linear(6, 5, bias=False)  # K = 6, N = 5: 4x4 blocks -> 2 x 2 with partial edges
    with torch.no_grad():
        lin.weight.fill_(0.01)
        lin.weight[4, 4:6] = 100.0  # GEMM (k=4..5, n=4): the 2x1 corner block
    prune(lin, "block:4x4:0.25:pad")
    assert prune_info(lin)["weight"].block_mask.tolist() == [[False, False], [False, True]]


def test_block_grouped_conv_gemm_view():
    conv = nn.Conv2d(4, 8, 3, groups=2, bias=False)  # per group K = 2*3*3 = 18, N = 4
    with torch.no_grad():
        conv.weight.copy_(torch.randn(8, 2, 3, 3, generator=torch.Generator().manual_seed(1)))
    before = conv.weight.detach().numpy().copy()
    prune(conv, "block:9x2:0.5")
    rec = prune_info(conv)["weight"]
    assert rec.block_mask.shape == (2, 4)  # 2 groups x (4 / 2) column blocks side by side
    assert rec.block_mask.sum() == 4
    _assert_blocks_zero_or_untouched(before, conv.weight.detach().numpy(), rec.block_mask, 9, 2)


def test_block_not_dividing_raises_naming_layer_and_changes_nothing():
    model = _mlp()
    before = _weights(model)
    with pytest.raises(ValueError) as exc:
        prune(model, "block:8x8:0.5")
    msg = str(exc.value)
    assert "net.4.weight" in msg and "K=32" in msg and "N=10" in msg and "exclude" in msg and ":pad" in msg
    assert not prune_info(model)
    assert all(np.array_equal(before[n], w) for n, w in _weights(model).items())


def test_taylor_uses_gradients_and_differs_from_l1():
    def layer():
        lin = nn.Linear(4, 4, bias=False)
        with torch.no_grad():
            lin.weight.fill_(0.1)
            lin.weight[:, 0:2] = 10.0  # large weights on inputs 0, 1: l1 keeps GEMM rows k = 0..1
        return nn.Sequential(lin)

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(32, 4, generator=gen)
    x[:, 0:2] = 0.0  # ...but those inputs are always zero, so their weights have zero gradient
    data = (x, torch.randn(32, 4, generator=gen), nn.MSELoss())
    a, b = layer(), layer()
    prune(a, "block:2x2:0.5", saliency="l1")
    prune(b, "block:2x2:0.5", saliency="taylor", data=data)
    assert prune_info(a)["0.weight"].block_mask.tolist() == [[True, True], [False, False]]
    assert prune_info(b)["0.weight"].block_mask.tolist() == [[False, False], [True, True]]
    assert b[0].weight.grad is None and b.training  # no .grad left behind, training flag restored
    with pytest.raises(ValueError, match="data="):
        prune(layer(), "block:2x2:0.5", saliency="taylor")


def test_taylor_global_scope_exact():
    model = _mlp()
    x, y = torch.rand(64, 64), torch.randint(0, 10, (64,))
    prune(model, "block:8x8:0.3:pad", scope="global", saliency="taylor", data=(x, y, nn.CrossEntropyLoss()))
    info = prune_info(model)
    total = sum(r.block_mask.size for r in info.values())
    assert sum(int(r.block_mask.sum()) for r in info.values()) == round(0.3 * total)


# ------------------------------------------------------------------------------------ nm, channel, unstructured


@pytest.mark.parametrize(("n", "m"), [(2, 4), (1, 4), (3, 8), (1, 2), (4, 4)])
def test_nm_exact_per_group_along_k(n, m):
    model = _cnn()
    before = _weights(model)
    prune(model, f"nm:{n}:{m}", include=["features.2.*", "classifier.*"])  # K = 72 and 256
    for name, rec in prune_info(model).items():
        rows_before = before[name].reshape(before[name].shape[0], -1)
        rows_mask = rec.mask.reshape(rows_before.shape[0], -1)
        groups = rows_mask.reshape(rows_mask.shape[0], -1, m)
        assert (groups.sum(axis=-1) == n).all()
        mag = np.abs(rows_before).reshape(groups.shape)
        if 0 < n < m:
            assert (np.where(groups, mag, np.inf).min(-1) >= np.where(groups, -np.inf, mag).max(-1)).all()
        after = _weights(model)[name]
        assert np.array_equal(after, np.where(rec.mask, before[name], 0.0))
        assert rec.density == n / m


def test_nm_k_not_multiple_raises_naming_layer():
    model = _cnn()
    before = _weights(model)
    with pytest.raises(ValueError, match=r"features\.0\.weight.*K=9"):
        prune(model, "nm:2:4")
    assert not prune_info(model)
    assert all(np.array_equal(before[n], w) for n, w in _weights(model).items())


@pytest.mark.parametrize("density", [0.0, 0.25, 0.6, 1.0])
def test_channel_exact_whole_rows_by_l2(density):
    model = _cnn()
    before = _weights(model)
    prune(model, f"channel:{density}")
    for name, rec in prune_info(model).items():
        out = before[name].shape[0]
        rows = rec.mask.reshape(out, -1)
        assert (rows.all(axis=1) | ~rows.any(axis=1)).all()  # whole output channels
        kept = rows.all(axis=1)
        assert kept.sum() == round(density * out)
        norms = np.sqrt((before[name].reshape(out, -1) ** 2).sum(axis=1))
        if 0 < kept.sum() < out:
            assert norms[kept].min() >= norms[~kept].max()
        assert np.array_equal(_weights(model)[name], np.where(rec.mask, before[name], 0.0))


@pytest.mark.parametrize("scope", ["layer", "global"])
@pytest.mark.parametrize("density", [0.1, 0.5, 0.77])
def test_unstructured_exact_counts(scope, density):
    model = _cnn()
    before = _weights(model)
    df = prune(model, f"unstructured:{density}", scope=scope)
    info = prune_info(model)
    if scope == "layer":
        for rec in info.values():
            assert rec.mask.sum() == round(density * rec.mask.size)
    else:
        total = sum(r.mask.size for r in info.values())
        # raw magnitudes ranked together; a layer the ranking empties keeps its largest weight (one extra each)
        threshold = np.sort(np.concatenate([np.abs(w).ravel() for w in before.values()]))[-round(density * total)]
        rescued = [n for n, r in info.items() if r.mask.sum() == 1 and np.abs(before[n])[r.mask].max() < threshold]
        assert sum(int(r.mask.sum()) for r in info.values()) == round(density * total) + len(rescued)
        assert df["kept"].sum() == round(density * total) + len(rescued)
        assert all(r.mask.any() for r in info.values())
        kept = np.concatenate([np.abs(before[n])[r.mask] for n, r in info.items() if n not in rescued])
        dropped = np.concatenate([np.abs(before[n])[~r.mask] for n, r in info.items()])
        assert kept.min() >= dropped.max()


@pytest.mark.parametrize(("spec", "scope"), [("block:8x8:0.01", "layer"), ("block:8x8:0.01", "global"),
                                             ("unstructured:0.001", "layer"), ("unstructured:0.001", "global"),
                                             ("channel:0.01", "layer")])
def test_a_small_layer_never_rounds_to_empty(spec, scope):
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 8))
    with torch.no_grad():
        model[2].weight.mul_(1e-3)  # the small layer loses every global ranking
    prune(model, spec, scope=scope)
    info = prune_info(model)
    assert info["2.weight"].mask.sum() >= 1
    if spec.startswith("block"):
        assert info["2.weight"].block_mask.sum() >= 1
    prune(nn.Sequential(nn.Linear(8, 8)), spec.rsplit(":", 1)[0] + ":0")  # density 0: empty, as asked


def test_unstructured_ties_are_deterministic():
    lin = nn.Linear(8, 4, bias=False)
    with torch.no_grad():
        lin.weight.fill_(1.0)
    prune(lin, "unstructured:0.25")
    mask = prune_info(lin)["weight"].mask
    assert mask.sum() == 8 and mask.ravel()[:8].all()  # ties go to the lower (row-major) index


# ------------------------------------------------------------------------------------------- composition etc.


def test_prune_twice_composes_as_and():
    model = _mlp()
    before = _weights(model)
    prune(model, "block:8x8:0.5", exclude="net.4.*")
    first = {n: r.mask.copy() for n, r in prune_info(model).items()}
    prune(model, "nm:2:4")
    info = prune_info(model)
    for name, rec in info.items():
        expected = first[name] & rec.mask if name in first else rec.mask
        assert np.array_equal(rec.mask, expected)
        assert np.array_equal(_weights(model)[name], np.where(rec.mask, before[name], 0.0))
    rec = info["net.0.weight"]
    assert rec.method == "block+nm" and rec.block == (8, 8)
    assert rec.density == pytest.approx(0.25)  # half the blocks, then 2 of every 4 inside the kept ones
    assert rec.block_mask.sum() == 32
    assert info["net.4.weight"].method == "nm" and info["net.4.weight"].block is None
    # a second block prune at the same density keeps the same blocks (zero blocks rank last)
    prune(model, "block:8x8:0.5", exclude="net.4.*")
    assert np.array_equal(prune_info(model)["net.0.weight"].block_mask, rec.block_mask)


def test_include_exclude_and_model_default_patterns():
    model = _mlp()
    model.hwsim_prunable = ["net.2.*"]
    df = prune(model, "unstructured:0.5")
    assert list(df["layer"]) == ["net.2.weight"]
    df = prune(model, "unstructured:0.5", include="net.*", exclude=["net.2.*"])  # explicit include wins
    assert list(df["layer"]) == ["net.0.weight", "net.4.weight"]
    vit = VisionTransformer(img_size=32, patch_size=8, num_classes=10, dim=32, depth=2, num_heads=2)
    df = prune(vit, "block:8x8:0.5", include="blocks.*.attn.qkv.weight")
    assert list(df["layer"]) == ["blocks.0.attn.qkv.weight", "blocks.1.attn.qkv.weight"]


def test_prune_spec_checks_itself():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        PruneSpec("unstructured", 1.5)
    with pytest.raises(ValueError, match="unknown prune method"):
        PruneSpec("magic", 0.5)
    with pytest.raises(ValueError, match="block shape"):
        PruneSpec("block", 0.5)
    with pytest.raises(ValueError, match="takes no N or M"):
        PruneSpec("unstructured", 0.5, n=2, m=4)
    assert PruneSpec("nm", 0.9, n=2, m=4).density == 0.5  # derived from N:M, never contradicting it
    assert str(PruneSpec("block", 0.5, (32, 16), pad=True)) == "block:32x16:0.5:pad"


def test_spec_object_and_report_columns():
    model = _mlp()
    df = prune(model, PruneSpec("unstructured", 0.5))
    assert list(df.columns[:8]) == ["layer", "shape", "method", "block", "kept", "total", "requested", "density"]
    assert df.loc[0, "shape"] == (64, 64) and df.loc[0, "kept"] == 2048 and df.loc[0, "total"] == 4096


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"spec": "prune:0.5"}, "unknown prune method"),
        ({"spec": "unstructured:1.5"}, r"\[0, 1\]"),
        ({"spec": "unstructured:0.5", "include": "nothing.*"}, "no GEMM weight .* matched"),
        ({"spec": "unstructured:0.5", "scope": "model"}, "scope"),
        ({"spec": "nm:2:4", "scope": "global"}, "global"),
        ({"spec": "channel:0.5", "saliency": "taylor"}, "block pruning only"),
        ({"spec": "block:8x8:0.5:pad", "saliency": "taylor"}, "data="),
    ],
)
def test_bad_input_raises_before_modifying(kwargs, match):
    model = _mlp()
    before = _weights(model)
    spec = kwargs.pop("spec")
    with pytest.raises(ValueError, match=match):
        prune(model, spec, **kwargs)
    assert not prune_info(model)
    assert all(np.array_equal(before[n], w) for n, w in _weights(model).items())


def test_nan_weight_names_layer_and_nothing_is_half_pruned():
    model = _mlp()
    with torch.no_grad():
        model.net[2].weight[3, 5] = float("inf")
    before = _weights(model)
    with pytest.raises(ValueError, match=r"net\.2\.weight"):
        prune(model, "unstructured:0.5")
    assert not prune_info(model)
    for n, w in _weights(model).items():
        np.testing.assert_array_equal(w, before[n])  # net.0 (listed before the bad layer) untouched too


def test_prune_after_quantize_is_refused():
    model = _mlp()
    quantize(model, "fixed:8")
    before = _weights(model)
    with pytest.raises(ValueError, match="prune before quantize"):
        prune(model, "unstructured:0.5")
    assert all(np.array_equal(before[n], w) for n, w in _weights(model).items())


def test_prune_does_not_disturb_a_copy():
    model = _mlp()
    clone = copy.deepcopy(model)
    prune(model, "channel:0.5")
    assert not prune_info(clone)
    assert torch.count_nonzero(clone.net[0].weight) == clone.net[0].weight.numel()


def test_public_module_names():
    import hwsim.prune
    import hwsim.quant
    from hwsim.frontend import prune as frontend_prune
    from hwsim.frontend import quantize as frontend_quantize

    assert hwsim.prune.prune is frontend_prune and hwsim.quant.quantize is frontend_quantize
