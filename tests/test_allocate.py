"""Per-layer sparsity allocation (hwsim.frontend._allocate): the DP is optimal among allocations whose rounded-up
cost fits and always meets its budget; the Lagrangian search meets it on the curves' convex hulls; bad inputs are
refused naming the layer or parameter."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hwsim.frontend._allocate import (
    LayerCurve,
    allocate_dp,
    allocate_lagrange,
    allocation_totals,
    hardware_beta,
)


def _curves(rng, layers: int, points: int) -> list[LayerCurve]:
    """Random monotone-ish curves: more kept blocks cost more and distort less, with noise and repeats."""
    out = []
    for i in range(layers):
        kept = np.sort(rng.choice(np.arange(1, 4 * points), points, replace=False))
        cost = kept * rng.uniform(0.5, 3.0) + rng.uniform(0, 2, points) * (rng.random() < 0.5)
        distortion = np.maximum(0, (kept.max() - kept) ** rng.uniform(1, 2.5) * rng.uniform(0.1, 5)
                                + rng.normal(0, 0.3, points))
        out.append(LayerCurve(f"l{i}", kept, distortion, cost))
    return out


def _brute(curves, budget):
    best = None
    for choice in itertools.product(*(range(c.kept.size) for c in curves)):
        d, c = allocation_totals(curves, choice)
        if c <= budget and (best is None or d < best[0]):
            best = (d, choice)
    return best


@pytest.mark.parametrize("seed", range(12))
def test_dp_meets_the_budget_and_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    curves = _curves(rng, layers=int(rng.integers(1, 5)), points=int(rng.integers(1, 6)))
    lo = sum(c.cost.min() for c in curves)
    hi = sum(c.cost.max() for c in curves)
    for budget in [lo, *rng.uniform(lo, hi, 4), hi, hi * 2]:
        choice = allocate_dp(curves, float(budget), steps=20000)
        d, c = allocation_totals(curves, choice)
        assert c <= budget
        best_d, _ = _brute(curves, budget)
        # optimal up to the rounding: nothing the brute force finds is better by more than the slack it buys
        slack = _brute(curves, budget * (1 - len(curves) / 20000))
        assert d <= (best_d if slack is None else max(best_d, slack[0])) + 1e-12
        assert d >= best_d - 1e-12


def test_dp_at_exact_costs_is_exactly_optimal():
    # integer costs and a budget that is a whole number of units: no rounding loss
    rng = np.random.default_rng(7)
    curves = [LayerCurve(f"l{i}", np.arange(1, 6), rng.random(5), np.arange(1, 6) * (i + 1)) for i in range(4)]
    for budget in range(10, 51, 7):
        choice = allocate_dp(curves, float(budget), steps=budget)
        assert allocation_totals(curves, choice)[0] == pytest.approx(_brute(curves, budget)[0], abs=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_lagrange_meets_the_budget_and_is_never_better_than_the_dp(seed):
    rng = np.random.default_rng(100 + seed)
    curves = _curves(rng, layers=int(rng.integers(2, 6)), points=int(rng.integers(2, 8)))
    lo = sum(c.cost.min() for c in curves)
    hi = sum(c.cost.max() for c in curves)
    for budget in rng.uniform(lo, hi, 5):
        lag = allocate_lagrange(curves, float(budget))
        d, c = allocation_totals(curves, lag)
        assert c <= budget
        assert d >= _brute(curves, budget)[0] - 1e-12
        # the fill left no budget on the table: no single layer can move to a dearer, less distorting point
        for i, cv in enumerate(curves):
            fits = cv.cost - cv.cost[lag[i]] <= budget - c
            assert not ((cv.cost > cv.cost[lag[i]]) & fits & (cv.distortion < cv.distortion[lag[i]])).any()
        # the DP (optimal up to rounding) is at least as good as the hull-bound Lagrangian choice
        dp = allocate_dp(curves, float(budget), steps=20000)
        assert allocation_totals(curves, dp)[0] <= d + 1e-9


def test_lagrange_hardware_term_moves_pruning_to_the_layers_it_rewards():
    kept = np.array([1, 2, 3, 4])
    distortion = np.array([3.0, 2.0, 1.0, 0.0])
    macs = kept * 10.0
    # two layers alike in distortion and MACs; only the second one's latency falls with pruning
    flat = LayerCurve("flat", kept, distortion, macs, hardware=np.full(4, 5.0))
    steep = LayerCurve("steep", kept, distortion, macs, hardware=kept * 5.0)
    choice = allocate_lagrange([flat, steep], budget=60.0, beta=1.0)
    assert choice[1] < choice[0]  # the latency-aware term prunes the layer whose latency it saves
    assert hardware_beta([flat, steep]) == pytest.approx(1.0 / 2.5)


def test_bad_inputs_name_the_layer_or_parameter():
    kept = np.arange(1, 4)
    with pytest.raises(ValueError, match="layer a: cost has shape"):
        LayerCurve("a", kept, np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="layer a: distortion holds NaN"):
        LayerCurve("a", kept, np.array([0, np.nan, 1]), np.zeros(3))
    with pytest.raises(ValueError, match="layer a: cost must be >= 0"):
        LayerCurve("a", kept, np.zeros(3), -np.ones(3))
    good = [LayerCurve("a", kept, np.zeros(3), kept * 1.0)]
    with pytest.raises(ValueError, match="below the cheapest allocation"):
        allocate_dp(good, 0.5)
    with pytest.raises(ValueError, match="budget must be a finite cost"):
        allocate_lagrange(good, float("nan"))
    with pytest.raises(ValueError, match="steps must be an integer"):
        allocate_dp(good, 3.0, steps=0)
    with pytest.raises(ValueError, match="no layers"):
        allocate_dp([], 1.0)
    with pytest.raises(ValueError, match="beta must be"):
        allocate_lagrange(good, 3.0, beta=-1)
