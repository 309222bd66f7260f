"""PyTorch front end: prune and quantize torch models, then capture them into a hardware `Workload`.

Pruning and quantization leave records on the model (see `_meta`) that `capture` reads; torch is imported only
here (and in hwsim.models).
"""

from __future__ import annotations

from ._capture import capture
from ._load import load_model, prepare_model
from ._meta import PruneInfo, QuantInfo, prune_info, quant_info
from ._prune import prune
from ._quant import ActQuant, quantize, requant
from ._spec import PRUNE_METHODS, QUANT_SCHEMES, PruneSpec, QuantSpec, parse_prune, parse_quant

__all__ = [
    "PRUNE_METHODS",
    "QUANT_SCHEMES",
    "ActQuant",
    "PruneInfo",
    "PruneSpec",
    "QuantInfo",
    "QuantSpec",
    "capture",
    "load_model",
    "parse_prune",
    "parse_quant",
    "prepare_model",
    "prune",
    "prune_info",
    "quant_info",
    "quantize",
    "requant",
]
