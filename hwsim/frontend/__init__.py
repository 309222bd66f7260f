"""PyTorch front end: prune and quantize torch models, then capture them into a hardware `Workload`.

Pruning and quantization leave records on the model (see `_meta`) that `capture` reads; torch is imported only
here (and in hwsim.models), and only when one of these names is first used: `_workload_cache` reads a cached
workload without torch.
"""

from __future__ import annotations

import importlib

# public name -> the submodule defining it (imported on first use)
_EXPORTS = {
    "capture": "_capture",
    "load_model": "_load",
    "prepare_model": "_load",
    "PruneInfo": "_meta",
    "QuantInfo": "_meta",
    "prune_info": "_meta",
    "quant_info": "_meta",
    "prune": "_prune",
    "ActQuant": "_quant",
    "quantize": "_quant",
    "requant": "_quant",
    "PRUNE_METHODS": "_spec",
    "QUANT_SCHEMES": "_spec",
    "PruneSpec": "_spec",
    "QuantSpec": "_spec",
    "parse_prune": "_spec",
    "parse_quant": "_spec",
    "workload_for": "_workload_cache",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
