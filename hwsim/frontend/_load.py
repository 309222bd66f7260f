"""Resolve a MODEL argument: a registry name or a Python file that defines a model."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path


def load_model(spec: str, *, batch: int = 1):
    """Return ``(model, example_args, example_kwargs, name)`` for a registry name or a ``.py`` file.

    A file must define ``model`` (an ``nn.Module``, or a function returning one) and ``example_args`` (a tuple of
    inputs, or a function returning one); it may define ``example_kwargs``.
    """
    import torch

    path = Path(spec)
    if spec.endswith(".py"):
        if not path.is_file():
            raise ValueError(f"model file {spec!r} does not exist")
        module_name = f"_hwsim_user_model_{abs(hash(path.resolve()))}"
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[module_name] = module
        try:
            loader_spec.loader.exec_module(module)
        except Exception as e:  # the user's file: report its error in one line
            raise ValueError(f"model file {spec!r} failed to run: {type(e).__name__}: {e}") from e
        missing = [n for n in ("model", "example_args") if not hasattr(module, n)]
        if missing:
            raise ValueError(f"model file {spec!r} must define {' and '.join(missing)}")
        model = module.model() if callable(module.model) and not isinstance(module.model, torch.nn.Module) \
            else module.model
        args = module.example_args() if callable(module.example_args) else module.example_args
        kwargs = getattr(module, "example_kwargs", None)
        kwargs = kwargs() if callable(kwargs) else kwargs
        if not isinstance(model, torch.nn.Module):
            raise ValueError(f"model in {spec!r} must be a torch.nn.Module, not {type(model).__name__}")
        if not isinstance(args, tuple):
            args = (args,)
        return model, args, kwargs, path.stem
    from hwsim.models import create_model, model_info

    model = create_model(spec)  # unknown names raise ValueError with close matches
    return model, model_info(spec).example_args(batch), None, spec


def prepare_model(model, *, prune=None, quant=None, example_args=None, example_kwargs=None, exclude=None):
    """Resolve ``model`` (registry name, ``.py`` path, or ``nn.Module`` with ``example_args`` and optional
    ``example_kwargs``), then prune and quantize it; returns ``(model, example_args, example_kwargs, name)``.

    ``exclude``: fnmatch patterns of parameter names (``head.weight``, ``blocks.0.*``) left dense and
    unquantized. Both specs are parsed before any work, so a bad spec fails before a model is built or modified.
    """
    import torch

    from ._prune import prune as do_prune
    from ._quant import quantize as do_quantize
    from ._spec import parse_prune, parse_quant

    prune_spec = parse_prune(prune) if prune else None
    quant_spec = parse_quant(quant) if quant else None
    if isinstance(model, str | os.PathLike):
        module, args, kwargs, name = load_model(str(model))
    elif isinstance(model, torch.nn.Module):
        if example_args is None:
            raise ValueError("a torch model needs example_args to be captured")
        args = example_args if isinstance(example_args, tuple) else (example_args,)
        module, kwargs, name = model, example_kwargs, type(model).__name__
    else:
        raise TypeError("model must be a Workload, a .npz or .py path, a registry name or a torch.nn.Module, "
                        f"not {type(model).__name__}")
    if exclude is not None:
        exclude = [exclude] if isinstance(exclude, str) else exclude
        if not isinstance(exclude, list | tuple) or not all(isinstance(p, str) and p for p in exclude):
            raise TypeError(f"exclude must be a pattern string or a list of them, not {exclude!r}")
        if not (prune_spec or quant_spec):
            raise ValueError("exclude applies to pruning and quantization; give prune or quant")
    if prune_spec is not None:
        do_prune(module, prune_spec, exclude=exclude)
    if quant_spec is not None:
        do_quantize(module, quant_spec, exclude=exclude)
    return module, args, kwargs, name
