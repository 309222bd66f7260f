"""Studies that answer a researcher's question in one call: `quant_study` (which number format gives the best
accuracy per joule and per mm^2) and `prune_study` (how much accuracy each way of allocating block sparsity keeps
at a simulated latency, energy or MAC budget)."""

from ._prune import ALLOCATIONS, PruneStudy, prune_study
from ._quant import DEFAULT_SCHEMES, QuantStudy, pareto_front, quant_study

__all__ = ["ALLOCATIONS", "DEFAULT_SCHEMES", "PruneStudy", "QuantStudy", "pareto_front", "prune_study", "quant_study"]
