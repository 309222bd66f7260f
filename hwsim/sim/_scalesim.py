"""SCALE-Sim-compatible compute cycles for dense GEMMs (os, ws and is dataflows).

SCALE-Sim v3 (Samajdar et al.) turns a GEMM row ``M, N, K`` into an M x K input, a K x N weight and an M x N
output, maps two of the dimensions onto the array (Sr over the R rows, Sc over the C columns) and streams the
third over time (T):

    os: Sr = M, Sc = N, T = K      ws: Sr = K, Sc = N, T = M      is: Sr = K, Sc = M, T = N

Folds = ceil(Sr / R) x ceil(Sc / C), serialized, each padded to a full array and costing
``T + R + C - 2`` cycles (os: skewed fill of the stream) or ``2R + C + T - 2`` (ws/is: R cycles to preload the
stationary operand first). SCALE-Sim reports the index of the last cycle, hence the final -1. These formulas
were read from SCALE-Sim v3's compute modules and checked against 28 of its runs (tests/test_scalesim.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from .._util import check_int
from ..arch import ceil_div

DATAFLOWS = ("os", "ws", "is")


@dataclass(frozen=True, slots=True)
class ScaleSimCycles:
    """What SCALE-Sim v3 prints for a dense GEMM: compute cycles and overall utilization."""

    dataflow: str
    cycles: int
    folds: int
    cycles_per_fold: int
    macs: int
    pes: int

    @property
    def utilization(self) -> float:
        """SCALE-Sim's 'Overall Util' as a fraction: MACs / (cycles x PEs)."""
        return self.macs / (self.cycles * self.pes)


def scalesim_cycles(m: int, k: int, n: int, rows: int, cols: int, dataflow: str = "os") -> ScaleSimCycles:
    """Compute cycles of Y[m, n] = X[m, k] W[k, n] on a rows x cols array, as SCALE-Sim v3 reports them."""
    m, k, n = (check_int(name, v, 1) for name, v in (("m", m), ("k", k), ("n", n)))
    rows, cols = check_int("rows", rows, 1), check_int("cols", cols, 1)
    if dataflow not in DATAFLOWS:
        raise ValueError(f"dataflow must be one of {', '.join(DATAFLOWS)}, not {dataflow!r}")
    sr, sc, t = {"os": (m, n, k), "ws": (k, n, m), "is": (k, m, n)}[dataflow]
    folds = ceil_div(sr, rows) * ceil_div(sc, cols)
    per_fold = t + rows + cols - 2 if dataflow == "os" else 2 * rows + cols + t - 2
    return ScaleSimCycles(dataflow, folds * per_fold - 1, folds, per_fold, m * n * k, rows * cols)
