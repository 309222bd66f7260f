"""Pruning of torch models (block-structured as in LPViT, N:M, unstructured magnitude, output channel).

The public home of `hwsim.frontend.prune`; see its docstring for the options and the spec strings.
"""

from .frontend import PRUNE_METHODS, PruneInfo, PruneSpec, parse_prune, prune, prune_info

__all__ = ["PRUNE_METHODS", "PruneInfo", "PruneSpec", "parse_prune", "prune", "prune_info"]
