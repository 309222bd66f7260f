"""Per-layer sparsity allocation under a budget: given, for every prunable layer, a curve of (kept blocks,
distortion, cost) points, choose one point per layer so that the summed distortion is small and the summed cost
meets a budget.

Two solvers, both over the same `LayerCurve` tables:

- `allocate_dp`: the dynamic programme of layer-adaptive pruning by the additivity of output distortion (Xu et
  al., "Efficient Joint Optimization of Layer-Adaptive Weight Pruning in Deep Neural Networks", ICCV 2023,
  arXiv 2308.10438; code github.com/Akimoto-Cris/RD_PRUNE, ``tools/algo.py: dp_pruning``). There the budget is
  surviving weights at one-weight resolution; here it is any additive cost (simulated cycles, energy or MACs),
  discretised into ``steps`` units with every point's cost rounded *up*, so the allocation it returns always
  meets the budget (its true cost is at most the discretised one) and is optimal up to that rounding.
- `allocate_lagrange`: LPViT's equal-slope search (Xu et al., "LPViT: Low-Power Semi-structured Pruning for
  Vision Transformers", ECCV 2024, arXiv 2407.02068; code github.com/Akimoto-Cris/LPViT, ``tools/common.py:
  find_slope`` and ``tools/algo.py: pareto_condition``), with its hardware term: every layer takes the point
  minimising ``D + beta * H + lam * C`` and ``lam`` is bisected on a log scale until the budget is met. LPViT
  matches slopes of smoothed curves (argmin |D' - lam|); a simulated cost is a step function whose slope is 0 or
  undefined in places, so this uses the Lagrangian form, which picks the same points on each curve's lower
  convex hull and needs no smoothing.

Curves are tables, not functions: a point per achievable kept-block count, so what is costed is what pruning
will produce.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["LayerCurve", "allocate_dp", "allocate_lagrange", "allocation_totals", "hardware_beta"]

DP_STEPS = 2000  # budget units of the DP: each layer's cost rounds up by at most budget / DP_STEPS


@dataclass(frozen=True)
class LayerCurve:
    """One layer's choices: ``kept[j]`` blocks give distortion ``distortion[j]`` and cost ``cost[j]`` (and,
    for `allocate_lagrange`, a hardware term ``hardware[j]``, default the cost)."""

    name: str
    kept: np.ndarray
    distortion: np.ndarray
    cost: np.ndarray
    hardware: np.ndarray | None = None

    def __post_init__(self) -> None:
        kept = np.asarray(self.kept)
        if kept.ndim != 1 or kept.size == 0:
            raise ValueError(f"layer {self.name}: kept must be a non-empty 1-D array of block counts")
        fields = {"kept": kept}
        for field in ("distortion", "cost", "hardware"):
            value = getattr(self, field)
            if value is None:
                continue
            a = np.asarray(value, dtype=np.float64)
            if a.shape != kept.shape:
                raise ValueError(f"layer {self.name}: {field} has shape {a.shape}, kept has {kept.shape}")
            if not np.isfinite(a).all():
                raise ValueError(f"layer {self.name}: {field} holds NaN or inf")
            if field == "cost" and (a < 0).any():
                raise ValueError(f"layer {self.name}: cost must be >= 0")
            a.setflags(write=False)
            fields[field] = a
        for field, value in fields.items():
            object.__setattr__(self, field, value)


def _check(curves: Sequence[LayerCurve], budget: float) -> None:
    if not curves:
        raise ValueError("no layers to allocate over")
    if not all(isinstance(c, LayerCurve) for c in curves):
        raise TypeError("curves must be LayerCurve objects")
    if isinstance(budget, bool) or not isinstance(budget, int | float) or not math.isfinite(budget) or budget < 0:
        raise ValueError(f"budget must be a finite cost >= 0, not {budget!r}")
    cheapest = sum(float(c.cost.min()) for c in curves)
    if cheapest > budget:
        raise ValueError(f"budget {budget:.6g} is below the cheapest allocation ({cheapest:.6g}: every layer at its "
                         "lowest-cost point); raise the budget or lower the minimum density")


def allocation_totals(curves: Sequence[LayerCurve], choice: Sequence[int]) -> tuple[float, float]:
    """(summed distortion, summed cost) of ``choice`` (one point index per curve)."""
    return (float(sum(c.distortion[j] for c, j in zip(curves, choice, strict=True))),
            float(sum(c.cost[j] for c, j in zip(curves, choice, strict=True))))


def allocate_dp(curves: Sequence[LayerCurve], budget: float, *, steps: int = DP_STEPS) -> list[int]:
    """One point index per curve minimising the summed distortion subject to the summed cost <= ``budget``.

    What the budget leaves above every layer's cheapest point is cut into ``steps`` units, and a point costing c
    above its layer's cheapest takes ceil(c / unit) of them: the result always meets the budget, and no
    allocation whose rounded-up cost fits has a lower distortion. O(layers x steps x
    points), vectorised over the budget axis. ValueError if not even the cheapest points fit.
    """
    _check(curves, budget)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, not {steps!r}")
    for n in (steps, steps - 1, steps - 2):  # a unit's float rounding may overshoot by an ulp: one unit less
        choice = _dp(curves, budget, max(n, 1))
        if allocation_totals(curves, choice)[1] <= budget:
            return choice
    raise ValueError(  # pragma: no cover - an ulp at most, which one unit less absorbs
        f"budget {budget:.6g} fits the cheapest allocation only within the DP's rounding; raise it slightly")


def _dp(curves: Sequence[LayerCurve], budget: float, steps: int) -> list[int]:
    # Every layer pays at least its cheapest point: only the cost above that is discretised, so the cheapest
    # allocation always fits and the rounding spans just the part of the budget there is to choose over.
    spare = budget - sum(float(c.cost.min()) for c in curves)
    unit = spare / steps
    units = [np.ceil((c.cost - c.cost.min()) / unit).astype(np.int64) if unit > 0 else
             np.where(c.cost > c.cost.min(), steps + 1, 0) for c in curves]
    best = np.zeros(steps + 1)  # best[b]: least distortion of the layers so far within b units
    choices = []
    for c, u in zip(curves, units, strict=True):
        new = np.full(steps + 1, np.inf)
        pick = np.full(steps + 1, -1, dtype=np.int64)
        for j in np.argsort(c.distortion, kind="stable"):  # ties keep the lower-distortion (then lower index) point
            q = int(u[j])
            if q > steps:
                continue
            cand = np.full(steps + 1, np.inf)
            cand[q:] = best[: steps + 1 - q] + c.distortion[j]
            better = cand < new
            new[better] = cand[better]
            pick[better] = j
        best = new
        choices.append(pick)
    b = int(np.argmin(best))  # the least distortion anywhere within the budget
    if not np.isfinite(best[b]):  # pragma: no cover - the check above rules it out
        raise ValueError("no allocation meets the budget")
    out = []
    for u, pick in zip(reversed(units), reversed(choices), strict=True):
        j = int(pick[b])
        out.append(j)
        b -= int(u[j])
    return out[::-1]


def hardware_beta(curves: Sequence[LayerCurve]) -> float:
    """LPViT's scale of the hardware term (``RDPruner.recalc_lamda_power``): the mean over layers of the
    steepest distortion slope over the mean of the steepest hardware slope, so that beta * H moves the
    allocation as much as D does. Slopes per kept block; 0 when no layer's hardware term changes."""
    def steepest(y: np.ndarray, x: np.ndarray) -> float:
        if x.size < 2:
            return 0.0
        order = np.argsort(x)
        dx = np.diff(x[order].astype(np.float64))
        ok = dx > 0
        return float(np.max(np.abs(np.diff(y[order])[ok] / dx[ok]))) if ok.any() else 0.0

    d = np.mean([steepest(c.distortion, c.kept) for c in curves])
    h = np.mean([steepest(c.cost if c.hardware is None else c.hardware, c.kept) for c in curves])
    return float(d / h) if h > 0 else 0.0


LAGRANGE_ITERATIONS = 200


def allocate_lagrange(curves: Sequence[LayerCurve], budget: float, *, beta: float = 0.0) -> list[int]:
    """LPViT-style allocation: each layer takes ``argmin_j D[j] + beta * H[j] + lam * C[j]`` (H the hardware
    term, default the cost), with ``lam`` the smallest whose summed cost meets ``budget`` (found by bisection).

    ``lam`` may be negative: a hardware term that rewards pruning (here H falls as a layer is pruned) can by
    itself prune past the budget, and a negative price on the cost then keeps more, so the budget is used rather
    than undershot. The search lands on each curve's lower convex hull of (cost, D + beta * H), which can fall
    short of the budget by a hull step; a greedy fill spends the rest on distortion (`_fill`). ValueError if not
    even the cheapest points fit.
    """
    _check(curves, budget)
    if isinstance(beta, bool) or not isinstance(beta, int | float) or not math.isfinite(beta) or beta < 0:
        raise ValueError(f"beta must be a finite number >= 0, not {beta!r}")
    scores = [c.distortion + beta * (c.cost if c.hardware is None else c.hardware) for c in curves]

    def choose(lam: float) -> list[int]:
        # ties go to the cheaper point, then the lower index: lexsort's last key is the primary one
        return [int(np.lexsort((np.arange(c.cost.size), c.cost, s + lam * c.cost))[0])
                for c, s in zip(curves, scores, strict=True)]

    def fits(lam: float) -> bool:
        return allocation_totals(curves, choose(lam))[1] <= budget

    # beyond +-bound every layer takes its cheapest / dearest point: no score gap outweighs the price of a cost gap
    span = max(float(np.ptp(s)) for s in scores)
    gaps = [float(np.min(np.diff(np.unique(c.cost)))) for c in curves if np.unique(c.cost).size > 1]
    bound = 2.0 * (span + 1.0) / max(min(gaps, default=1.0), 1e-300)
    lo, hi = -bound, bound  # hi fits (every cheapest point does, as checked); lo may
    if fits(lo):
        return choose(lo)
    for _ in range(LAGRANGE_ITERATIONS):  # lo does not fit, hi does
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if fits(mid):
            hi = mid
        else:
            lo = mid
    return _fill(curves, choose(hi), budget)


def _fill(curves: Sequence[LayerCurve], choice: list[int], budget: float) -> list[int]:
    """Spend what the hull step left of the budget on distortion: repeatedly move the one layer whose dearer
    point lowers its distortion most per unit of added cost, while the total still fits. (LPViT's search stops
    at its tolerance instead; on layers of few blocks one hull step can be a tenth of the budget. The hardware
    term has shaped which layers were pruned; what is left of the budget buys back accuracy.)"""
    choice = list(choice)
    spare = budget - allocation_totals(curves, choice)[1]
    while True:
        best = None
        for i, c in enumerate(curves):
            j = choice[i]
            extra = c.cost - c.cost[j]
            gain = c.distortion[j] - c.distortion  # > 0: less distortion
            ok = (extra > 0) & (extra <= spare) & (gain > 0)
            if ok.any():
                rate = np.where(ok, gain / np.where(extra > 0, extra, 1.0), -np.inf)
                k = int(np.argmax(rate))
                if best is None or rate[k] > best[0]:
                    best = (rate[k], i, k)
        if best is None:
            return choice
        _, i, k = best
        spare -= curves[i].cost[k] - curves[i].cost[choice[i]]
        choice[i] = k
