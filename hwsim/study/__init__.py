"""Studies that answer a researcher's question in one call: `quant_study` (which number format gives the best
accuracy per joule and per mm^2)."""

from ._quant import DEFAULT_SCHEMES, QuantStudy, pareto_front, quant_study

__all__ = ["DEFAULT_SCHEMES", "QuantStudy", "pareto_front", "quant_study"]
