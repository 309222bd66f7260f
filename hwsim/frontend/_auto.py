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
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from torch import nn

from .._util import cache_path
from ._allocate import LayerCurve, allocate_dp, allocate_lagrange, allocation_totals, hardware_beta
from ._blocks import L2, SUM, block_sums

__all__ = ["GRID_POINTS", "MIN_DENSITY", "LayerCosts", "auto_allocation", "output_distortions", "solve"]

GRID_POINTS = 41  # kept-block counts tabulated per layer (LPViT uses 101; the DP needs no finer curve)
MIN_DENSITY = 0.05  # the fewest blocks a layer keeps, as a fraction (LPViT's --min_sp default)
BUDGET_MARGIN = 1e-9  # the allocation aims this much below the budget: the report sums its floats in another order


def output_energy_gradients(model: nn.Module, targets, args: tuple, kwargs: dict) -> list[np.ndarray]:
    """d mean(f(x)^2) / dW for every target (float64, parameter shape): LPViT's loss for ranking and curves, which
    needs no labels (the mean over every float tensor the model returns). Eval mode; no ``.grad`` is left."""
    from torch.utils._pytree import tree_leaves

    from ._prune import weight_gradients

    def energy():
        outs = [o for o in tree_leaves(model(*args, **kwargs)) if torch.is_tensor(o) and o.is_floating_point()]
        if not outs:
            raise ValueError("auto pruning needs a model that returns a float tensor (its output energy ranks the "
                             "layers)")
        return sum(o.double().pow(2).mean() for o in outs)

    return weight_gradients(model, targets, energy, "the output-energy gradient")


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


class LayerCosts:
    """The simulated cost of every target layer at any kept-block count, on one accelerator and metric.

    The model is captured once (unpruned); a layer at k blocks is its op re-simulated in place with the k most
    salient blocks kept (`hwsim.sim.repriced_gemm`), so a whole allocation costs ``fixed`` plus its layers' costs,
    exactly what simulating the pruned model gives.
    """

    def __init__(self, model: nn.Module, targets: Sequence, block: tuple[int, int], cfg, saliencies,
                 example_args: tuple, example_kwargs: dict, metric: str) -> None:
        from ..cost import cost_tables
        from ..sim import OpResult, op_work, schedule_memory
        from ..workload import UnmappedOp, Workload
        from ._capture import capture
        from ._prune import _block_counts, _block_layout

        captured = capture(model, example_args, example_kwargs, strict=False)
        self.workload = Workload([op for op in captured if not isinstance(op, UnmappedOp)], captured.arrays)
        self.targets, self.block, self.cfg, self.metric = list(targets), block, cfg, metric
        self.tables = cost_tables(cfg)
        self.work = op_work(self.workload, cfg)
        param_of = captured.meta["weight_params"]
        uses: dict[str, list[int]] = {}  # parameter -> every op that reads it (a module called twice: several)
        for i, op in enumerate(self.workload):
            if op.name in param_of:
                uses.setdefault(param_of[op.name], []).append(i)
        self.ops, self.orders, self.layouts, self.counts = [], [], [], []
        for t, sal in zip(self.targets, saliencies, strict=True):
            if t.name not in uses:
                raise ValueError(f"auto pruning: layer {t.name} is not a GEMM of the captured graph (its weight is "
                                 "not used); exclude it")
            self.ops.append(uses[t.name])
            self.orders.append(np.argsort(-sal, kind="stable"))  # `_top` keeps a prefix (ties to the lower index)
            self.layouts.append(_block_layout(t, block))
            self.counts.append(_block_counts(t, block).ravel())
        dense = [OpResult.of(w, m) for w, m in zip(self.work, schedule_memory(self.work, cfg), strict=True)]
        pruned = {i for indices in self.ops for i in indices}
        self.dense_total = sum(self._measure(r)[0] for r in dense)
        self.fixed = sum(self._measure(r)[0] for i, r in enumerate(dense) if i not in pruned)
        self._costs: dict[tuple[int, int], tuple[float, float]] = {}

    def _measure(self, result) -> tuple[float, float]:
        """(the metric, the hardware term: latency, or energy for an energy budget) of one op's result."""
        from ..cost import op_energy_pj

        energy = op_energy_pj(result.actions, result.cycles, self.tables, self.cfg.clock_mhz).total \
            if self.metric == "energy" else None
        value = float(result.cycles) if self.metric == "latency" else energy if energy is not None \
            else float(result.macs)
        return value, float(result.cycles) if energy is None else energy

    def blocks(self, layer: int) -> int:
        return self.orders[layer].size

    def keep(self, layer: int, k: int) -> np.ndarray:
        """Flat block mask of layer ``layer`` keeping its ``k`` most salient blocks."""
        keep = np.zeros(self.blocks(layer), bool)
        keep[self.orders[layer][:k]] = True
        return keep

    def cost(self, layer: int, k: int) -> tuple[float, float]:
        """(metric, hardware term) of target ``layer`` pruned to ``k`` blocks: every op reading its weight."""
        from ..sim import repriced_gemm

        if (layer, k) in self._costs:
            return self._costs[layer, k]
        keep = self.keep(layer, k)
        density = float(self.counts[layer][keep].sum() / self.counts[layer].sum())
        value = hardware = 0.0
        for i in self.ops[layer]:
            op = self.workload.ops[i]
            mask = keep.reshape(self.layouts[layer])
            if op.count > 1:  # groups side by side along N -> (groups, K-blocks, N-blocks per group), as capture
                mask = mask.reshape(mask.shape[0], op.count, -1).transpose(1, 0, 2)
            pruned = dataclasses.replace(op, mask="auto.mask", block=self.block, density=density, prune="block",
                                         requested_density=density)
            v, h = self._measure(repriced_gemm(self.work, i, pruned, {"auto.mask": mask}, self.cfg))
            value, hardware = value + v, hardware + h
        self._costs[layer, k] = value, hardware
        return value, hardware

    def curves(self, grids: Sequence[np.ndarray], distortions: Sequence[np.ndarray]) -> list[LayerCurve]:
        out = []
        for layer, (t, ks, d) in enumerate(zip(self.targets, grids, distortions, strict=True)):
            values = np.array([self.cost(layer, int(k)) for k in ks]).reshape(-1, 2)
            out.append(LayerCurve(t.name, ks, d, values[:, 0], values[:, 1]))
        return out


def model_outputs(model: nn.Module, inputs: tuple) -> list[torch.Tensor]:
    """Every float tensor ``model(*inputs)`` returns, as float64, in eval mode without gradients (its training
    flags restored): what output distortion compares."""
    from torch.utils._pytree import tree_leaves

    modes = {m: m.training for m in model.modules()}
    try:
        model.eval()
        with torch.no_grad():
            return [o.double() for o in tree_leaves(model(*inputs)) if torch.is_tensor(o) and o.is_floating_point()]
    finally:
        for m, training in modes.items():
            m.train(training)


def output_change(outputs: Sequence[torch.Tensor], reference: Sequence[torch.Tensor]) -> float:
    """The mean squared change of ``outputs`` from ``reference``, summed over the model's output tensors."""
    return float(sum(((a - b) ** 2).mean() for a, b in zip(outputs, reference, strict=True)))


def output_distortions(model: nn.Module, targets: Sequence, keep: Callable[[int, int], np.ndarray], block, grids,
                       calib: tuple) -> list[np.ndarray]:
    """RD_PRUNE's measured curves (``tools/pruners.py: gen_rd_curves``): for each target and kept count k of
    ``grids``, the `output_change` on ``calib`` with only that layer pruned to ``keep(layer, k)`` (a flat block
    mask of ``block`` blocks)."""
    from ._prune import _expand

    reference = model_outputs(model, calib)
    out = []
    for layer, (t, ks) in enumerate(zip(targets, grids, strict=True)):
        saved = t.weight.detach().clone()
        curve = np.empty(ks.size)
        try:
            for j, k in enumerate(ks):
                mask = torch.from_numpy(_expand(t, keep(layer, int(k)), block))
                with torch.no_grad():
                    t.weight.copy_(saved * mask.to(saved.dtype))
                curve[j] = output_change(model_outputs(model, calib), reference)
        finally:
            with torch.no_grad():
                t.weight.copy_(saved)
        out.append(curve)
    return out


def solve(curves: Sequence[LayerCurve], costs, metric: str, budget_fraction: float, solver: str
          ) -> tuple[list[int], float | None]:
    """(chosen point per curve, LPViT's beta or None) meeting ``budget_fraction`` of the dense total (``costs``:
    a `LayerCosts` or `Totals`, for its ``dense_total`` and ``fixed``)."""
    budget = budget_fraction * costs.dense_total * (1 - BUDGET_MARGIN) - costs.fixed
    floor = sum(float(c.cost.min()) for c in curves)
    if budget < floor:
        raise ValueError(f"auto pruning: a {metric} budget of {budget_fraction:g} of the dense model is below what "
                         f"these layers reach at {MIN_DENSITY:g} density "
                         f"({(floor + costs.fixed) / costs.dense_total:.3f} of it, the rest of the model counted); "
                         "raise the budget")
    if solver == "dp":
        return allocate_dp(curves, budget), None
    beta = hardware_beta(curves)
    return allocate_lagrange(curves, budget, beta=beta), beta


def _samples(inputs: tuple) -> int | None:
    """The batch size of the first tensor in ``inputs`` (None when there is none)."""
    first = next((a for a in inputs if torch.is_tensor(a) and a.ndim), None)
    return None if first is None else int(first.shape[0])


class Totals(NamedTuple):
    """The dense model's total of the metric, and the part no target layer changes."""

    dense_total: float
    fixed: float


CURVES_VERSION = 1


def _curves_key(model, targets, spec, block, cfg, example_args, example_kwargs, calib, saliency) -> dict:
    """Everything a model's curves depend on: its weights and inputs, the layers, block, ranking, accelerator,
    metric and distortion kind, the grid, and the code (hwsim's sources, torch's version and thread count)."""
    import hashlib

    from ..arch import dump_config
    from ._workload_cache import _hash_value, _threads, _version, sources_digest

    h = hashlib.sha256()
    _hash_value(h, dict(model.state_dict(keep_vars=False)))
    _hash_value(h, (example_args, example_kwargs, calib))
    return {"v": CURVES_VERSION, "inputs_and_weights": h.hexdigest(), "targets": [t.name for t in targets],
            "block": list(block), "saliency": saliency, "metric": spec.metric, "distortion": spec.distortion,
            "grid": [GRID_POINTS, MIN_DENSITY], "arch": hashlib.sha256(dump_config(cfg).encode()).hexdigest(),
            "sources": sources_digest(), "torch": _version("torch"), "threads": _threads(),
            "module": repr(model)}


def _read_curves(path) -> tuple[list[LayerCurve], Totals] | None:
    from .._util import read_cached

    try:
        data = read_cached(path)
        curves = [LayerCurve(c["name"], np.asarray(c["kept"], np.int64), np.asarray(c["distortion"]),
                             np.asarray(c["cost"]), np.asarray(c["hardware"])) for c in data["layers"]]
        return curves, Totals(float(data["dense_total"]), float(data["fixed"]))
    except (TypeError, KeyError, ValueError, OSError):  # missing, unreadable or damaged: computed again
        return None


def _write_curves(path, curves: Sequence[LayerCurve], totals: Totals) -> None:
    from .._util import write_cached

    try:
        write_cached(path, {"dense_total": totals.dense_total, "fixed": totals.fixed,
                            "layers": [{"name": c.name, "kept": c.kept.tolist(), "distortion": c.distortion.tolist(),
                                        "cost": c.cost.tolist(), "hardware": c.hardware.tolist()} for c in curves]},
                     compact=True)
    except OSError:  # an unwritable cache: the run does not need it
        pass


def auto_allocation(model: nn.Module, targets: Sequence, spec, block: tuple[int, int], cfg, saliencies,
                    example_args: tuple, example_kwargs: dict, grads: Callable[[], list[np.ndarray]],
                    calib: tuple | None = None, *, saliency: str = "l1", cacheable: bool = True
                    ) -> tuple[dict, dict]:
    """({layer: kept density}, allocation record) of the auto ``spec`` over ``targets`` of ``model`` (unpruned),
    their flat block saliencies ``saliencies`` (ranked by ``saliency``, as block pruning ranks) and ``grads()``,
    their output-energy gradients (called only for Taylor curves computed here); ``cfg`` the accelerator it is
    simulated on; ``calib`` the inputs of measured (``output``) distortion (default the example inputs).

    The curves (and the dense totals) are cached on disk (``cache_dir()/curves``) under `_curves_key`, so another
    budget or solver on the same model and recipe needs no capture; ``cacheable=False`` (a ranking by a user's
    loss, whose data cannot be keyed) computes them every time."""
    key = _curves_key(model, targets, spec, block, cfg, example_args, example_kwargs, calib, saliency) \
        if cacheable else None
    path = None if key is None else cache_path("curves", type(model).__name__, key)
    hit = None if path is None else _read_curves(path)
    if hit is not None:
        curves, totals = hit
    else:
        costs = LayerCosts(model, targets, block, cfg, saliencies, example_args, example_kwargs, spec.metric)
        grids = [_grid(costs.blocks(i)) for i in range(len(targets))]
        if spec.distortion == "output":
            distortions = output_distortions(model, targets, costs.keep, block, grids, calib or example_args)
        else:
            distortions = [_taylor_curve(t, t.rows(), t.to_rows(g), block, costs.orders[i], grids[i], costs.layouts[i])
                           for i, (t, g) in enumerate(zip(targets, grads(), strict=True))]
        curves = costs.curves(grids, distortions)
        totals = Totals(costs.dense_total, costs.fixed)
        if path is not None:
            _write_curves(path, curves, totals)
    choice, beta = solve(curves, totals, spec.metric, spec.density, spec.solver)
    d, c = allocation_totals(curves, choice)
    kept = [int(cv.kept[j]) for cv, j in zip(curves, choice, strict=True)]
    blocks = [s.size for s in saliencies]
    densities = {t.name: k / n for t, k, n in zip(targets, kept, blocks, strict=True)}
    record = {"spec": str(spec), "metric": spec.metric, "budget": spec.density, "solver": spec.solver,
              "distortion_kind": spec.distortion,
              "distortion_inputs": None if spec.distortion != "output" else
              f"{'calibration' if calib else 'example'} inputs ({_samples(calib or example_args)} samples)",
              "block": list(block),
              "predicted_fraction": (c + totals.fixed) / totals.dense_total, "distortion": d,
              "dense_total": totals.dense_total, "fixed": totals.fixed, "beta": beta,
              "curves_cache": "off" if path is None else "hit" if hit is not None else "stored",
              "layers": pd.DataFrame({"layer": [t.name for t in targets], "blocks_kept": kept,
                                      "blocks_total": blocks,
                                      "cost": [cv.cost[j] for cv, j in zip(curves, choice, strict=True)],
                                      "distortion": [cv.distortion[j] for cv, j in zip(curves, choice, strict=True)]})}
    return densities, record
