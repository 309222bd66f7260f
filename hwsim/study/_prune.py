"""The pruning study: accuracy against simulated latency (or energy, or MACs) for uniform block pruning and the two
hardware-aware allocations (`hwsim.frontend._auto`), at a list of budgets.

The model's blocks are ranked once and its per-layer cost curves simulated once on the accelerator
(`LayerCosts`). At each budget (a fraction of the dense model's metric):

- ``uniform``: one block density for every layer, the largest whose simulated total meets the budget
  (searched on the exact per-layer costs);
- ``dp``: RD_PRUNE's dynamic programme over the measured output distortion (the mean squared change of the
  outputs on the training inputs with one layer pruned);
- ``lpvit``: LPViT's equal-slope search over its second-order Taylor distortion, with its latency (or energy)
  hardware term.

Each allocation is applied to a fresh copy of the model, captured and simulated against its dense baseline
(the fraction reported is measured, not predicted), and scored on the held-out data, optionally after a short
fine-tune with the pruning masks held fixed. The additivity assumption both allocators rest on is checked on
every row: the output distortion measured with all layers pruned at once beside the sum of the single-layer
distortions.
"""

from __future__ import annotations

import copy
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._save import SavedStudy

__all__ = ["ALLOCATIONS", "PruneStudy", "prune_study"]

ALLOCATIONS = ("uniform", "dp", "lpvit")
UNIFORM_STEPS = 400  # candidate densities of the uniform search


@dataclass
class PruneStudy(SavedStudy):
    """The study's table (one row per budget and allocation) and how it was run."""

    model: str
    table: pd.DataFrame
    meta: dict = field(default_factory=dict)

    def markdown(self) -> str:
        t = self.table.copy()
        m = self.meta
        metric = m["metric"]
        cols = ["budget", "allocation", "kept", f"{metric}_fraction", "speedup", "energy_ratio", "accuracy",
                *(["finetuned_accuracy"] if "finetuned_accuracy" in t else []), "distortion_sum",
                "distortion_joint"]
        shown = t[cols].copy()
        for c in ("accuracy", "finetuned_accuracy"):
            if c in shown:
                shown[c] = (100 * shown[c]).map("{:.2f} %".format)
        shown["kept"] = (100 * shown["kept"]).map("{:.1f} %".format)
        for c in (f"{metric}_fraction", "speedup", "energy_ratio"):
            shown[c] = shown[c].map("{:.4f}".format)
        for c in ("distortion_sum", "distortion_joint"):
            shown[c] = shown[c].map("{:.4g}".format)
        shown = shown.rename(columns={"kept": "weights kept", f"{metric}_fraction": f"{metric} (measured)",
                                      "energy_ratio": "energy ratio", "finetuned_accuracy": "fine-tuned",
                                      "distortion_sum": "Σ single-layer D", "distortion_joint": "joint D"})
        lines = [f"# Pruning study: {self.model}", "", f"`{m['command']}`", "",
                 f"Float accuracy {100 * m['float_accuracy']:.2f} % on {m['data']}; blocks {m['block']}"
                 f"{' (partial edge blocks allowed)' if m['pad'] else ''}; {metric} budgets as fractions of the "
                 f"dense model's on {m['config']}; "
                 f"{'fine-tuned ' + m['finetune'] + ' epochs, masks fixed' if m['finetune'] else 'no fine-tune'}. "
                 f"Additivity (joint D / Σ single-layer D, output distortion on {m['calib_samples']} training "
                 f"inputs): median {m['additivity_median']:.3f}. Took {m['seconds']:.1f} s.", "",
                 shown.to_markdown(index=False), ""]
        return "\n".join(lines)

    def figures(self):
        from matplotlib.figure import Figure

        t, m = self.table, self.meta
        metric = m["metric"]
        fig = Figure(figsize=(6.4, 4.4), layout="constrained")
        ax = fig.subplots()
        for i, name in enumerate(ALLOCATIONS):
            rows = t[t.allocation == name].sort_values(f"{metric}_fraction")
            ax.plot(rows[f"{metric}_fraction"], 100 * rows.accuracy, "o-", color=f"C{i}", label=name)
            if "finetuned_accuracy" in t:
                ax.plot(rows[f"{metric}_fraction"], 100 * rows.finetuned_accuracy, "s--", color=f"C{i}",
                        alpha=0.7, label=f"{name}, fine-tuned")
        ax.axhline(100 * m["float_accuracy"], color="0.3", ls=":", lw=1, label="dense")
        ax.set_xlabel(f"simulated {metric}, fraction of the dense model's")
        ax.set_ylabel("top-1 accuracy [%]")
        ax.set_title(f"{self.model}: accuracy vs simulated {metric}")
        ax.legend(fontsize=8)
        return {f"accuracy_vs_{metric}.png": fig}


def _check_budgets(budgets) -> list[float]:
    if isinstance(budgets, str):
        try:
            budgets = [float(b) for b in budgets.split(",") if b.strip()]
        except ValueError:
            raise ValueError(f"budgets must be comma-separated fractions, not {budgets!r}") from None
    if isinstance(budgets, int | float):
        budgets = [budgets]
    budgets = list(budgets)
    if not budgets:
        raise ValueError("budgets is empty: give at least one fraction of the dense model")
    for b in budgets:
        if isinstance(b, bool) or not isinstance(b, int | float) or not 0 < b <= 1:
            raise ValueError(f"every budget must be a fraction in (0, 1], not {b!r}")
    if len(set(budgets)) != len(budgets):
        raise ValueError("budgets lists a fraction more than once")
    return sorted(budgets, reverse=True)


def _apply(model, targets, block, pad, kept: Sequence[int], costs) -> None:
    """Block-prune every target of ``model`` to its ``kept`` blocks, as the ranking of ``costs`` orders them."""
    from ..frontend import prune

    for i, (t, k) in enumerate(zip(targets, kept, strict=True)):
        density = int(k) / costs.blocks(i)
        prune(model, f"block:{block[0]}x{block[1]}:{density!r}" + (":pad" if pad else ""), include=[t.name])


def prune_study(model: str, budgets: Sequence[float] | str = (0.8, 0.6, 0.4, 0.3), *, metric: str = "latency",
                arch=None, finetune: int | None = None, exclude=None, progress: bool = False,
                command: str | None = None) -> PruneStudy:
    """Run the study (module docstring) of ``model`` (a registry name or model file with data) at ``budgets``
    (fractions of the dense model's simulated ``metric``: latency, energy or macs) on ``arch``.

    Columns: budget, allocation (uniform, dp, lpvit), kept (fraction of the target weights kept),
    <metric>_fraction (measured on the pruned model's simulation), cycles, energy_j, speedup and energy_ratio
    (against the dense baseline), accuracy, [finetuned_accuracy], distortion_sum (the allocation's layers'
    single-layer output distortions summed) and distortion_joint (measured with all of them pruned at once).
    A budget an allocation cannot meet (below what every layer reaches at the floor density) is a ValueError.
    """
    from tqdm import tqdm

    import hwsim

    from .._simulate import _resolve_arch
    from ..frontend import capture
    from ..frontend._auto import (
        LayerCosts,
        _grid,
        _taylor_curve,
        model_outputs,
        output_change,
        output_distortions,
        output_energy_gradients,
        solve,
    )
    from ..frontend._data import data_for, top1
    from ..frontend._load import resolve_model
    from ..frontend._prune import _block_saliency, select_targets
    from ..frontend._spec import AUTO_METRICS

    if metric not in AUTO_METRICS:
        raise ValueError(f"metric must be one of {', '.join(AUTO_METRICS)}, not {metric!r}")
    budgets = _check_budgets(budgets)
    if finetune is not None and (isinstance(finetune, bool) or not isinstance(finetune, int) or finetune < 1):
        raise ValueError(f"finetune must be a number of epochs >= 1, not {finetune!r}")
    cfg = _resolve_arch(arch)
    start = time.perf_counter()
    resolved = resolve_model(model)
    spec, file, module, args, kwargs, name = resolved
    found = data_for(spec, module=module, file=file)
    if not found.test and found.evaluate is None:
        raise ValueError(f"the pruning study scores accuracy: {name} has no held-out data")
    if not (found.train or found.test):
        raise ValueError(f"the pruning study measures output distortion on the model's inputs: {name} defines none "
                         "(define train_data or eval_data)")
    calib = found.calib_args()
    float_acc = top1(module, found)[0]
    targets = select_targets(module, None, exclude, getattr(module, "hwsim_prunable", None))
    block = (cfg.array.block_k, cfg.array.cols)
    pad = any(t.k % block[0] or t.n % block[1] for t in targets)
    saliencies = [_block_saliency(t, t.rows(), None, block, "l1") for t in targets]
    grads = output_energy_gradients(module, targets, args, dict(kwargs or {}))
    costs = LayerCosts(module, targets, block, cfg, saliencies, args, dict(kwargs or {}), metric)
    grids = [_grid(costs.blocks(i)) for i in range(len(targets))]
    measured = output_distortions(module, targets, costs.keep, block, grids, calib)
    taylor = [_taylor_curve(t, t.rows(), t.to_rows(g), block, costs.orders[i], grids[i], costs.layouts[i])
              for i, (t, g) in enumerate(zip(targets, grads, strict=True))]
    curves = {"dp": costs.curves(grids, measured), "lpvit": costs.curves(grids, taylor)}
    floor = (sum(float(c.cost.min()) for c in curves["dp"]) + costs.fixed) / costs.dense_total
    low = [b for b in budgets if b < floor * (1 + 1e-9)]
    if low:  # before any allocation runs
        raise ValueError(f"{metric} budget {low[-1]:g} is below what {name} reaches with every layer at the floor "
                         f"density ({floor:.3f} of the dense model's: the unpruned ops alone take "
                         f"{costs.fixed / costs.dense_total:.3f}); give budgets above {floor:.3f}")
    train = None
    if finetune is not None:
        xs, ys = found.train_xy("finetune")
        if len(xs) != 1:
            raise ValueError(f"finetune trains models with one input tensor, not {len(xs)}")
        train = (xs[0], ys)
    reference = model_outputs(module, calib)

    def single_layer_sum(kept: Sequence[int]) -> float:
        total = 0.0
        for i, k in enumerate(kept):
            j = np.searchsorted(grids[i], k)
            if j < grids[i].size and grids[i][j] == k:
                total += float(measured[i][j])
            else:  # a uniform density off the grid: measure that layer alone
                total += float(output_distortions(module, [targets[i]], lambda _, k, i=i: costs.keep(i, k), block,
                                                  [np.array([k])], calib)[0][0])
        return total

    uniform_ds = np.linspace(1.0, 0.05, UNIFORM_STEPS)
    rows = []
    steps = [(b, a) for b in budgets for a in ALLOCATIONS]
    for budget, allocation in tqdm(steps, desc="allocations", unit="run", disable=None if progress else True):
        if allocation == "uniform":
            kept = None
            limit = budget * costs.dense_total * (1 - 1e-9) - costs.fixed
            for d in uniform_ds:
                ks = [max(1, round(d * costs.blocks(i))) for i in range(len(targets))]
                if sum(costs.cost(i, k)[0] for i, k in enumerate(ks)) <= limit:
                    kept = ks
                    break
            if kept is None:
                raise ValueError(f"uniform pruning cannot meet a {metric} budget of {budget:g} at >= 0.05 density")
        else:
            choice, _ = solve(curves[allocation], costs, metric, budget, allocation)
            kept = [int(g[j]) for g, j in zip(grids, choice, strict=True)]
        pruned = copy.deepcopy(module)
        _apply(pruned, targets, block, pad, kept, costs)
        report = hwsim.simulate(capture(pruned, args, kwargs), cfg, baseline="dense")
        t, base = report.totals, report.baseline
        fraction = {"latency": t["cycles"] / base["cycles"], "energy": t["energy_j"] / base["energy_j"],
                    "macs": t["macs"] / t["dense_macs"]}[metric]
        weights = sum(costs.counts[i][costs.keep(i, k)].sum() for i, k in enumerate(kept))
        row = {"budget": budget, "allocation": allocation,
               "kept": float(weights / sum(c.sum() for c in costs.counts)), f"{metric}_fraction": fraction,
               "cycles": t["cycles"], "energy_j": t["energy_j"], "speedup": base["speedup"],
               "energy_ratio": base["energy_ratio"], "accuracy": top1(pruned, found)[0],
               "distortion_sum": single_layer_sum(kept),
               "distortion_joint": output_change(model_outputs(pruned, calib), reference)}
        if finetune is not None:
            from ..frontend._finetune import finetune_quantized, finetune_recipe

            tuned_targets = select_targets(pruned, None, exclude, getattr(pruned, "hwsim_prunable", None))
            # no quantization: the fake-quantizer is the identity, the masks stay applied
            finetune_quantized(pruned, tuned_targets, lambda _t, rows: rows, {}, train, finetune_recipe(finetune))
            row["finetuned_accuracy"] = top1(pruned, found)[0]
        rows.append(row)
    table = pd.DataFrame(rows)
    ratio = (table.distortion_joint / table.distortion_sum.where(table.distortion_sum > 0)).dropna()
    meta = {"metric": metric, "budgets": budgets, "data": found.source, "float_accuracy": float_acc,
            "config": cfg.name, "block": f"{block[0]}x{block[1]}", "pad": pad,
            "finetune": None if finetune is None else str(finetune),
            "calib_samples": int(calib[0].shape[0]) if calib and hasattr(calib[0], "shape") else None,
            "additivity_median": float(ratio.median()) if len(ratio) else float("nan"),
            "seconds": time.perf_counter() - start,
            "command": command or shlex.join(["hwsim", "study", "prune", str(model), "--budgets",
                                              ",".join(f"{b:g}" for b in budgets), "--metric", metric,
                                              *(["--finetune", str(finetune)] if finetune else [])])}
    return PruneStudy(model=name, table=table, meta=meta)

