"""Hardware-aware block pruning (``auto:METRIC=F``): per-layer densities chosen with the simulator in the loop.

For every target layer the blocks are ranked once (the saliency `prune` uses), and on a grid of kept-block counts
two curves are tabulated:

- cost C_l(k): the layer's simulated cycles, energy or kept MACs on the accelerator at exactly the mask block
  pruning keeps with k blocks (`hwsim.sim.repriced_gemm`: an op's cost depends on its own mask and the op before
  it, which pruning does not change, so the model's total is the sum of its layers' and the rest is constant);
- distortion D_l(k): LPViT's second-order Taylor estimate (arXiv 2407.02068; github Akimoto-Cris/LPViT,
  ``tools/pruners.py: gen_rd_curves_block_approx``): with g the gradient of the output energy mean(f(x)^2) on
  the calibration inputs and dW the weights the mask drops (-W there), D = mean((dW * g)^2) + (g . dW)^2 / 2,
  i.e. the first-order term per element plus the rank-1 (g g^T) Hessian term.

`hwsim.frontend._allocate` then picks a count per layer: the DP (``:dp``, default) or LPViT's Lagrangian
equal-slope search (``:lpvit``) with its hardware term, beta * the layer's simulated latency (energy for an energy
budget) with LPViT's automatic beta. The budget F is a fraction of the dense model's total of METRIC on the same
accelerator, all ops counted (attention's activation GEMMs and vector ops are the constant part).

Every layer keeps at least `MIN_DENSITY` of its blocks (LPViT's default floor, ``--min_sp`` 0.05) and one block.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from ._allocate import LayerCurve, allocate_dp, allocate_lagrange, allocation_totals, hardware_beta
from ._blocks import L2, SUM, block_sums

__all__ = ["GRID_POINTS", "MIN_DENSITY", "auto_allocation"]

GRID_POINTS = 41  # kept-block counts tabulated per layer (LPViT uses 101; the DP needs no finer curve)
MIN_DENSITY = 0.05  # the fewest blocks a layer keeps, as a fraction (LPViT's --min_sp default)
BUDGET_MARGIN = 1e-9  # the allocation aims this much below the budget: the report sums its floats in another order


def output_energy_gradients(model: nn.Module, targets, args: tuple, kwargs: dict) -> list[np.ndarray]:
    """d mean(f(x)^2) / dW for every target (float64, parameter shape): LPViT's loss for ranking and curves, which
    needs no labels (the mean over every float tensor the model returns). Eval mode; no ``.grad`` is left."""
    from torch.utils._pytree import tree_leaves

    modes = {m: m.training for m in model.modules()}
    needs = [t.weight.requires_grad for t in targets]
    try:
        model.eval()
        for t in targets:
            t.weight.requires_grad_(True)
        with torch.enable_grad():
            outs = [o for o in tree_leaves(model(*args, **kwargs)) if torch.is_tensor(o) and o.is_floating_point()]
            if not outs:
                raise ValueError("auto pruning needs a model that returns a float tensor (its output energy ranks the "
                                 "layers)")
            energy = sum(o.double().pow(2).mean() for o in outs)
            grads = torch.autograd.grad(energy, [t.weight for t in targets], allow_unused=True)
    finally:
        for m, training in modes.items():
            m.train(training)
        for t, need in zip(targets, needs, strict=True):
            t.weight.requires_grad_(need)
    out = []
    for t, g in zip(targets, grads, strict=True):
        g64 = np.zeros(tuple(t.weight.shape)) if g is None else g.detach().cpu().double().numpy()
        if not np.isfinite(g64).all():
            raise ValueError(f"layer {t.name}: the output-energy gradient holds NaN or inf")
        out.append(g64)
    return out


def _grid(blocks: int) -> np.ndarray:
    """Kept-block counts from the floor to every block, unique and ascending."""
    low = max(1, math.ceil(MIN_DENSITY * blocks))
    return np.unique(np.linspace(low, blocks, GRID_POINTS).round().astype(np.int64))


def _taylor_curve(t, rows: np.ndarray, grad_rows: np.ndarray, block, order: np.ndarray, ks: np.ndarray,
                  layout) -> np.ndarray:
    """LPViT's D at each kept count: blocks are dropped from the end of ``order`` (least salient first)."""
    from ._prune import _run_blocks

    prod = np.asarray(rows, dtype=np.float64) * grad_rows  # W * g, (out, K)
    sq, lin = np.zeros(layout), np.zeros(layout)
    _run_blocks(block_sums, t, block, prod, np.zeros((1, 1)), L2, t.n, *block, sq)
    _run_blocks(block_sums, t, block, prod, np.zeros((1, 1)), SUM, t.n, *block, lin)
    sq, lin = sq.ravel()[order], lin.ravel()[order]
    kept_sq = np.concatenate([[0.0], np.cumsum(sq)])[ks]  # of the k kept blocks
    kept_lin = np.concatenate([[0.0], np.cumsum(lin)])[ks]
    dropped_sq, dropped_lin = sq.sum() - kept_sq, lin.sum() - kept_lin  # dW = -W there: (g . dW)^2 = lin^2
    return np.maximum(dropped_sq, 0.0) / rows.size + 0.5 * dropped_lin**2


def auto_allocation(model: nn.Module, targets: Sequence, spec, block: tuple[int, int], cfg, saliencies,
                    example_args: tuple, example_kwargs: dict, grads: list[np.ndarray]) -> tuple[dict, dict]:
    """({layer: kept density}, allocation record) of the auto ``spec`` over ``targets`` of ``model`` (unpruned),
    their flat block saliencies ``saliencies`` (ranked as block pruning ranks) and output-energy gradients
    ``grads``; ``cfg`` the accelerator it is simulated on."""
    from ..cost import cost_tables, op_energy_pj
    from ..sim import op_work, repriced_gemm, simulate_workload
    from ..workload import GemmOp, UnmappedOp, Workload
    from ._capture import capture
    from ._prune import _block_counts, _block_layout

    captured = capture(model, example_args, example_kwargs, strict=False)
    workload = Workload([op for op in captured if not isinstance(op, UnmappedOp)], captured.arrays)
    tables = cost_tables(cfg)
    clock = cfg.clock_mhz

    def measure(result) -> float:
        if spec.metric == "latency":
            return float(result.cycles)
        if spec.metric == "energy":
            return op_energy_pj(result.actions, result.cycles, tables, clock).total
        return float(result.macs)

    def hardware(result) -> float:
        return op_energy_pj(result.actions, result.cycles, tables, clock).total if spec.metric == "energy" \
            else float(result.cycles)

    work = op_work(workload, cfg)
    dense = simulate_workload(workload, cfg)
    index_of = {op.weight: i for i, op in enumerate(workload) if isinstance(op, GemmOp) and op.weight}
    curves, kept_counts, layer_ops = [], [], set()
    for t, sal, g in zip(targets, saliencies, grads, strict=True):
        wkey = f"{t.name.removesuffix('.weight').removesuffix('_weight')}.weight"
        i = index_of.get(wkey)
        if i is None:
            raise ValueError(f"auto pruning: layer {t.name} is not one GEMM of the captured graph (a weight used "
                             "twice or not used); exclude it")
        layer_ops.add(i)
        op = workload.ops[i]
        layout = _block_layout(t, block)
        order = np.argsort(-sal, kind="stable")  # the ranking `_top` keeps a prefix of (ties to the lower index)
        ks = _grid(sal.size)
        counts = _block_counts(t, block).ravel()
        total = counts.sum()
        cost, hw = np.empty(ks.size), np.empty(ks.size)
        for j, k in enumerate(ks):
            keep = np.zeros(sal.size, bool)
            keep[order[:k]] = True
            mask = keep.reshape(layout)
            if op.count > 1:  # groups side by side along N -> (groups, K-blocks, N-blocks per group), as capture
                mask = mask.reshape(mask.shape[0], op.count, -1).transpose(1, 0, 2)
            density = float(counts[keep].sum() / total)
            pruned = dataclasses.replace(op, mask="auto.mask", block=block, density=density, prune="block",
                                         requested_density=density)
            result = repriced_gemm(work, i, pruned, {"auto.mask": mask}, cfg)
            cost[j], hw[j] = measure(result), hardware(result)
        distortion = _taylor_curve(t, t.rows(), t.to_rows(g), block, order, ks, layout)
        curves.append(LayerCurve(t.name, ks, distortion, cost, hw))
        kept_counts.append(ks)
    dense_total = sum(measure(r) for r in dense)
    fixed = sum(measure(r) for i, r in enumerate(dense) if i not in layer_ops)
    budget = spec.density * dense_total * (1 - BUDGET_MARGIN) - fixed
    floor = sum(float(c.cost.min()) for c in curves)
    if budget < floor:
        raise ValueError(f"auto pruning: a {spec.metric} budget of {spec.density:g} of the dense model is below what "
                         f"these layers reach at {MIN_DENSITY:g} density ({(floor + fixed) / dense_total:.3f} of it, "
                         "the rest of the model counted); raise the budget")
    if spec.solver == "dp":
        choice = allocate_dp(curves, budget)
        beta = None
    else:
        beta = hardware_beta(curves)
        choice = allocate_lagrange(curves, budget, beta=beta)
    d, c = allocation_totals(curves, choice)
    densities = {t.name: int(ks[j]) / sal.size
                 for t, ks, j, sal in zip(targets, kept_counts, choice, saliencies, strict=True)}
    record = {"spec": str(spec), "metric": spec.metric, "budget": spec.density, "solver": spec.solver,
              "block": list(block), "predicted_fraction": (c + fixed) / dense_total, "distortion": d,
              "dense_total": dense_total, "fixed": fixed, "beta": beta,
              "layers": pd.DataFrame({"layer": [t.name for t in targets],
                                      "blocks_kept": [int(ks[j]) for ks, j in zip(kept_counts, choice, strict=True)],
                                      "blocks_total": [s.size for s in saliencies],
                                      "cost": [cv.cost[j] for cv, j in zip(curves, choice, strict=True)],
                                      "distortion": [cv.distortion[j] for cv, j in zip(curves, choice, strict=True)]})}
    return densities, record
