"""prune's block/N:M kernels and selection against the numpy reference they replaced, bit for bit.

`_reference_masks` is the mask computation prune used before (per-element int64 block ids and np.bincount over
float64 rows, full stable argsorts), run on the same weights: odd shapes with partial edge blocks, grouped and
1-D convolutions, transformers' Conv1D (a transposed parameter), many exactly equal magnitudes and block scores
(ties), every saliency and scope, and a second call composing with the first.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from hwsim.frontend import parse_prune, prune, prune_info
from hwsim.frontend._prune import _at_least_one, _keep_count, _normalise, _top, select_targets, taylor_gradients

pytestmark = pytest.mark.usefixtures("torch_one_thread")


# ------------------------------------------------------------------------------------------------ reference


def _ref_block_ids(t, block):
    bk, bn = block
    k_idx, n_idx = np.arange(t.k), np.arange(t.out)
    ncb = -(-t.n // bn)
    col_block = (n_idx // t.n) * ncb + (n_idx % t.n) // bn
    shape = (-(-t.k // bk), t.groups * ncb)
    return col_block[:, None] + (k_idx // bk)[None, :] * shape[1], shape


def _ref_block_saliency(rows, grad, ids, nblocks, saliency):
    flat = ids.ravel()
    count = np.maximum(np.bincount(flat, minlength=nblocks), 1)
    if saliency == "l1":
        return np.bincount(flat, np.abs(rows).ravel(), nblocks) / count
    if saliency == "l2":
        return np.sqrt(np.bincount(flat, (rows**2).ravel(), nblocks) / count)
    return np.bincount(flat, np.abs(rows * grad).ravel(), nblocks) / count


def _ref_top(scores, keep):
    mask = np.zeros(scores.size, dtype=bool)
    mask[np.argsort(-scores, kind="stable")[:keep]] = True
    return mask


def _reference_masks(model, spec, scope="layer", saliency="l1", data=None, prev=None):
    """{name: (mask, block_mask)} as prune computed them, from float64 copies of the weights."""
    spec = parse_prune(spec)
    targets = select_targets(model, None, None)
    rows = [t.to_rows(t.weight.detach().double().numpy()) for t in targets]
    grads = taylor_gradients(model, targets, data) if saliency == "taylor" else [None] * len(targets)
    masks = []
    if spec.method == "block":
        layout = [_ref_block_ids(t, spec.block) for t in targets]
        sal = [_ref_block_saliency(r, None if g is None else t.to_rows(g), ids, shape[0] * shape[1], saliency)
               for t, r, g, (ids, shape) in zip(targets, rows, grads, layout, strict=True)]
        if scope == "layer":
            keeps = [_ref_top(s, _keep_count(spec.density, s.size)) for s in sal]
        else:
            norm = np.concatenate([_normalise(s) for s in sal])
            keep_all = _ref_top(norm, round(spec.density * norm.size))
            keeps = [_at_least_one(k, s, spec.density)
                     for k, s in zip(np.split(keep_all, np.cumsum([s.size for s in sal])[:-1]), sal, strict=True)]
        masks = [keep[ids] for keep, (ids, _) in zip(keeps, layout, strict=True)]
    elif spec.method == "nm":
        for r in rows:
            g = np.abs(r).reshape(r.shape[0], -1, spec.m)
            rank = np.argsort(np.argsort(-g, axis=-1, kind="stable"), axis=-1, kind="stable")
            masks.append((rank < spec.n).reshape(r.shape))
    elif spec.method == "unstructured":
        if scope == "layer":
            masks = [_ref_top(np.abs(r).ravel(), _keep_count(spec.density, r.size)).reshape(r.shape) for r in rows]
        else:
            flat = np.concatenate([np.abs(r).ravel() for r in rows])
            parts = np.split(_ref_top(flat, round(spec.density * flat.size)), np.cumsum([r.size for r in rows])[:-1])
            masks = [_at_least_one(p, np.abs(r).ravel(), spec.density).reshape(r.shape)
                     for p, r in zip(parts, rows, strict=True)]
    else:
        masks = [np.repeat(_ref_top(np.sqrt((r**2).sum(axis=1)), _keep_count(spec.density, r.shape[0]))[:, None],
                           r.shape[1], axis=1) for r in rows]
    out = {}
    for t, m in zip(targets, masks, strict=True):
        mask = t.from_rows(m)
        block = spec.block if spec.method == "block" else None
        if prev is not None and t.name in prev:
            mask = mask & prev[t.name].mask
            block = block or prev[t.name].block
        block_mask = None
        if block is not None:
            ids, shape = _ref_block_ids(t, block)
            block_mask = (np.bincount(ids.ravel(), t.to_rows(mask).ravel(), shape[0] * shape[1]) > 0).reshape(shape)
        out[t.name] = (mask, block_mask)
    return out


# -------------------------------------------------------------------------------------------------- models


class _Net(nn.Module):
    """Odd GEMM shapes: a Linear, a grouped Conv2d, a Conv1d and transformers' Conv1D ((in, out) weights)."""

    def __init__(self, ties: bool, seed: int = 0):
        super().__init__()
        from transformers.pytorch_utils import Conv1D

        torch.manual_seed(seed)
        self.conv = nn.Conv2d(6, 10, 3, groups=2)  # per group K = 27, N = 5
        self.conv1 = nn.Conv1d(10, 7, 5)  # K = 50, N = 7
        self.fc = nn.Linear(7 * 4, 37)  # K = 28, N = 37
        self.c = Conv1D(29, 37)  # K = 37, N = 29, stored (37, 29)
        self.head = nn.Linear(29, 3)
        if ties:  # a few magnitudes only: equal |w|, equal block scores, equal rows
            with torch.no_grad():
                for p in self.parameters():
                    if p.dim() > 1:
                        p.copy_(torch.randint(-2, 3, p.shape).float() * 0.25)
                self.fc.weight[3] = self.fc.weight[4]

    def forward(self, x):  # (B, 6, 8, 8)
        x = self.conv(x).relu().flatten(2)[:, :, :20]  # (B, 10, 20)
        x = self.conv1(x).relu()[:, :, :4].flatten(1)  # (B, 28)
        return self.head(self.c(self.fc(x).relu()).relu())


def _data():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(16, 6, 8, 8, generator=gen)
    return x, torch.randint(0, 3, (16,), generator=gen), nn.CrossEntropyLoss()


def _check(model, spec, **kwargs):
    expected = _reference_masks(model, spec, prev=prune_info(model) or None, **kwargs)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    df = prune(model, spec, **kwargs)
    info = prune_info(model)
    params = dict(model.named_parameters())
    for name, (mask, block_mask) in expected.items():
        rec = info[name]
        np.testing.assert_array_equal(rec.mask, mask, err_msg=name)
        if block_mask is None:
            assert rec.block_mask is None
        else:
            np.testing.assert_array_equal(rec.block_mask, block_mask, err_msg=name)
        assert rec.density == (mask.mean() if mask.size else 1.0)
        want = torch.where(torch.from_numpy(mask), before[name], torch.zeros(()))
        assert torch.equal(params[name].detach(), want)
    row = df.set_index("layer")
    assert (row["kept"] == [int(expected[n][0].sum()) for n in row.index]).all()


SPECS = [("block:4x4:0.4:pad", {}), ("block:5x3:0.5:pad", {"saliency": "l2"}),
         ("block:8x2:0.3:pad", {"scope": "global"}), ("block:3x3:0.6:pad", {"saliency": "l2", "scope": "global"}),
         ("block:4x2:0.5:pad", {"saliency": "taylor", "data": _data()}),
         ("block:1x1:0.5", {}), ("block:64x64:0.5:pad", {}),
         ("unstructured:0.3", {}), ("unstructured:0.45", {"scope": "global"}), ("channel:0.5", {}),
         ("channel:0.0", {}), ("unstructured:1.0", {})]


@pytest.mark.parametrize("ties", [False, True], ids=["random", "ties"])
@pytest.mark.parametrize(("spec", "kwargs"), SPECS, ids=[s + "-" + "-".join(map(str, k.keys())) for s, k in SPECS])
def test_prune_matches_the_reference_masks(spec, kwargs, ties):
    _check(_Net(ties), spec, **kwargs)


def _nm_model(ties: bool, grouped: bool) -> nn.Module:
    """Layers with K = 40 (Linear, Conv1d, transformers' Conv1D) and a grouped conv with K = 8."""
    from transformers.pytorch_utils import Conv1D

    torch.manual_seed(2)
    layers = {"a": nn.Linear(40, 37), "b": nn.Conv1d(10, 7, 4), "c": Conv1D(29, 40)}
    if grouped:
        layers["d"] = nn.Conv2d(10, 15, 2, groups=5)
    model = nn.ModuleDict(layers)
    if ties:
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(torch.randint(-2, 3, p.shape).float())
    return model


@pytest.mark.parametrize("ties", [False, True], ids=["random", "ties"])
@pytest.mark.parametrize(("n", "m"), [(2, 4), (1, 2), (3, 8), (5, 40)])  # m = 40: past the counting kernel
def test_nm_matches_the_reference(n, m, ties):
    _check(_nm_model(ties, grouped=m <= 8), f"nm:{n}:{m}")


@pytest.mark.parametrize(("first", "second"), [("block:4x4:0.5:pad", "nm:1:2"),
                                               ("unstructured:0.7", "block:3x5:0.5:pad"),
                                               ("block:4x4:0.6:pad", "block:2x2:0.5:pad")])
def test_composed_calls_match_the_reference(first, second):
    model = nn.ModuleDict({"a": nn.Linear(28, 37), "b": nn.Conv2d(4, 6, 3, groups=2)})
    torch.manual_seed(1)
    for p in model.parameters():
        nn.init.normal_(p)
    _check(model, first)
    _check(model, second)


def test_top_keeps_the_stable_sort_tie_rule():
    rng = np.random.default_rng(0)
    for size in (1, 2, 7, 100, 5000):
        for scores in (rng.integers(0, 4, size).astype(float), rng.standard_normal(size),
                       np.where(rng.random(size) < 0.5, 0.0, -0.0), np.zeros(size)):
            for keep in {0, 1, size // 3, size // 2, size - 1, size}:
                np.testing.assert_array_equal(_top(scores, keep), _ref_top(scores, keep))
                np.testing.assert_array_equal(_top(scores.astype(np.float32), keep), _ref_top(scores, keep))


def test_float16_and_float64_weights_prune_like_float32_ranks():
    for dtype in (torch.float16, torch.float64):
        model = nn.Sequential(nn.Linear(28, 37)).to(dtype)
        ref = copy.deepcopy(model)
        prune(model, "block:4x4:0.5:pad")
        mask, block_mask = _reference_masks(ref, "block:4x4:0.5:pad")["0.weight"]
        np.testing.assert_array_equal(prune_info(model)["0.weight"].mask, mask)
        np.testing.assert_array_equal(prune_info(model)["0.weight"].block_mask, block_mask)
