"""The cost model's engine overhead: the factor on PEs x PE area that accounts for the engine's own logic.

Calibrated from synthesis of the whole engine (data/engine_overhead.yaml says how it was measured): per engine
kind, ratio = a + b / sqrt(PEs) fitted by least squares to the measured points, so a larger array amortizes its
control and skew registers over more PEs. N:M engines with a group other than a measured one are extrapolated
linearly in (group - 1), the extra activations each PE's registers carry, from the plain output-stationary
engine through the nearest measured group (an estimate: only that group was synthesized).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from .._util import check_int
from ._data import data_view

ENGINE_OVERHEAD = "engine_overhead.yaml"


@cache
def _fit(kind: str) -> tuple[float, float]:
    points = data_view(ENGINE_OVERHEAD)["engines"][kind]
    u = np.array([1 / np.sqrt(p["pes"]) for p in points])
    ratio = np.array([p["ratio"] for p in points])
    (a, b), *_ = np.linalg.lstsq(np.stack([np.ones_like(u), u], axis=1), ratio, rcond=None)
    return float(a), float(b)


def _nm_kinds() -> dict[int, str]:
    return {int(k.split("nm")[1]): k for k in data_view(ENGINE_OVERHEAD)["engines"] if k.startswith("os_nm")}


def engine_overhead(dataflow: str, pes: int, nm_group: int = 1) -> float:
    """Engine area over PEs x PE area for a ``dataflow`` ("os", "ws") engine of ``pes`` PEs (``nm_group`` > 1:
    N:M PEs, output-stationary)."""
    if dataflow not in ("os", "ws"):
        raise ValueError(f"dataflow must be os or ws, not {dataflow!r}")
    pes = check_int("pes", pes, 1)
    check_int("nm_group", nm_group, 1)

    def at(kind: str) -> float:
        a, b = _fit(kind)
        return a + b / float(np.sqrt(pes))

    if nm_group == 1:
        return at(dataflow)
    measured = _nm_kinds()
    if dataflow != "os" or not measured:
        raise ValueError("N:M engines are output-stationary, and data/engine_overhead.yaml must measure one")
    if nm_group in measured:
        return at(measured[nm_group])
    group = min(measured, key=lambda g: abs(g - nm_group))  # the nearest measured group, scaled in (group - 1)
    base = at("os")
    return base + (at(measured[group]) - base) * (nm_group - 1) / (group - 1)
