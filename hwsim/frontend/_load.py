"""Resolve a MODEL argument: a registry name or a Python file that defines a model."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import NamedTuple


def load_module_file(spec: str):
    """Run a user's model file and return it as a module; ValueError in one line when it is missing or fails."""
    path = Path(spec)
    if not path.is_file():
        raise ValueError(f"model file {spec!r} does not exist")
    module_name = f"_hwsim_user_model_{abs(hash(path.resolve()))}"
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module
    try:
        loader_spec.loader.exec_module(module)
    except SystemExit as e:  # the file must define a model, not end the process
        raise ValueError(f"model file {spec!r} called sys.exit({e.code!r}) while loading") from None
    except Exception as e:  # the user's file: report its error in one line
        raise ValueError(f"model file {spec!r} failed to run: {type(e).__name__}: {e}") from e
    return module


def file_model(spec: str, module):
    """The ``model`` a loaded model file defines (a module, or a function returning one), checked."""
    import torch

    from ._data import _user_call

    if not hasattr(module, "model"):
        raise ValueError(f"model file {spec!r} must define model")
    model = _user_call(module.model, f"model() in {spec}") \
        if callable(module.model) and not isinstance(module.model, torch.nn.Module) else module.model
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model in {spec!r} must be a torch.nn.Module, not {type(model).__name__}")
    return model


def _from_file(spec: str, module):
    missing = [n for n in ("model", "example_args") if not hasattr(module, n)]
    if missing:
        raise ValueError(f"model file {spec!r} must define {' and '.join(missing)}")
    from ._data import _user_call

    model = file_model(spec, module)
    args = _user_call(module.example_args, f"example_args() in {spec}") if callable(module.example_args) \
        else module.example_args
    kwargs = getattr(module, "example_kwargs", None)
    kwargs = _user_call(kwargs, f"example_kwargs() in {spec}") if callable(kwargs) else kwargs
    if not isinstance(args, tuple):
        args = (args,)
    return model, args, kwargs, Path(spec).stem


def load_model(spec: str, *, batch: int = 1, trained: bool = True):
    """Return ``(model, example_args, example_kwargs, name)`` for a registry name or a ``.py`` file.

    A file must define ``model`` (an ``nn.Module``, or a function returning one) and ``example_args`` (a tuple of
    inputs, or a function returning one); it may define ``example_kwargs``. A registry model with data comes
    with its trained weights (`hwsim.models.trained_model`, trained once and cached) unless ``trained=False``;
    the others with their reproducible random initial weights.
    """
    if spec.endswith(".py"):
        return _from_file(spec, load_module_file(spec))
    from hwsim.models import create_model, has_data, model_info, trained_model

    if trained and has_data(spec):  # unknown names raise ValueError with close matches
        model = trained_model(spec)
    else:
        model = create_model(spec)
    return model, model_info(spec).example_args(batch), None, spec


class Prepared(NamedTuple):
    """A resolved, compressed model ready for `capture`, with its data and accuracies when they were asked for."""

    model: object  # torch.nn.Module
    args: tuple
    kwargs: dict | None
    name: str
    data: object = None  # ModelData, when evaluation, calibration or fine-tuning needed it
    accuracy: float | None = None  # of the compressed model (evaluate=True)
    float_accuracy: float | None = None  # of the model before pruning and quantization (evaluate=True)
    predictions: object = None  # torch tensor of the compressed model's test predictions (None: user evaluate)
    baseline_accuracy: float | None = None  # quantized alike but not pruned (evaluate_baseline=True)


class Request(NamedTuple):
    """What `prepare_model` is asked to do, validated before any model is built (see `check_request`)."""

    prune: object  # PruneSpec or None
    quant: object  # QuantSpec or None
    act_bits: int | None
    finetune: object
    exclude: list[str] | None
    evaluate: bool
    evaluate_baseline: bool
    data: object
    train_data: object
    arch: object = None  # the AcceleratorConfig an auto prune spec allocates against (None for other specs)


class Resolved(NamedTuple):
    """A model argument resolved to a module: ``spec`` is the registry name or file path (None for a module
    passed in), ``file`` the loaded model file."""

    spec: str | None
    file: object
    module: object  # torch.nn.Module
    args: tuple
    kwargs: dict | None
    name: str


def check_request(*, prune=None, quant=None, act_bits=None, finetune=None, exclude=None, evaluate=False,
                  evaluate_baseline=False, data=None, train_data=None, arch=None) -> Request:
    """`prepare_model`'s options, parsed and checked without building anything (ValueError/TypeError naming the
    option). ``arch`` (an `AcceleratorConfig`, YAML path or None: the default with the MAC ``quant`` needs) is
    what an ``auto:`` prune spec simulates its allocation on; with another spec it is not kept."""
    from ._spec import parse_prune, parse_quant

    for what, spec in (("prune", prune), ("quant", quant)):
        if isinstance(spec, str) and not spec.strip():
            raise ValueError(f"{what} is empty: give a spec or None")
    prune_spec = parse_prune(prune) if prune is not None else None
    quant_spec = parse_quant(quant) if quant is not None else None
    if act_bits is not None and quant_spec is None:
        raise ValueError("act_bits applies to quantized layers; give quant")
    if finetune is not None and quant_spec is None:
        raise ValueError("finetune fine-tunes a quantized model; give quant")
    if not isinstance(evaluate, bool):
        raise TypeError(f"evaluate must be True or False, not {evaluate!r}")
    if exclude is not None:
        exclude = [exclude] if isinstance(exclude, str) else exclude
        if not isinstance(exclude, list | tuple) or not all(isinstance(p, str) and p for p in exclude):
            raise TypeError(f"exclude must be a pattern string or a list of them, not {exclude!r}")
        if not (prune_spec or quant_spec):
            raise ValueError("exclude applies to pruning and quantization; give prune or quant")
        exclude = list(exclude)
    if evaluate_baseline and not evaluate:
        raise ValueError("evaluate_baseline measures the baseline's accuracy; give evaluate=True")
    if finetune is not None:
        from ._finetune import check_finetune_value

        check_finetune_value(finetune)
    cfg = None
    if prune_spec is not None and prune_spec.method == "auto":
        from .._simulate import _allocation_config, _resolve_arch

        cfg = _allocation_config(_resolve_arch(arch), arch, quant)
    return Request(prune_spec, quant_spec, act_bits, finetune, exclude, evaluate, evaluate_baseline, data, train_data,
                   cfg)


def resolve_model(model, example_args=None, example_kwargs=None) -> Resolved:
    """A registry name, ``.py`` path or ``nn.Module`` (with ``example_args`` and optional ``example_kwargs``) as a
    module and its example inputs."""
    import torch

    from .._util import phase

    if isinstance(model, str | os.PathLike):
        spec = str(model)
        with phase(f"build {Path(spec).name}"):
            file = load_module_file(spec) if spec.endswith(".py") else None
            module, args, kwargs, name = _from_file(spec, file) if file else load_model(spec)
        return Resolved(spec, file, module, args, kwargs, name)
    if isinstance(model, torch.nn.Module):
        if example_args is None:
            raise ValueError("a torch model needs example_args to be captured")
        args = example_args if isinstance(example_args, tuple) else (example_args,)
        return Resolved(None, None, model, args, example_kwargs, type(model).__name__)
    raise TypeError("model must be a Workload, a .npz or .py path, a registry name or a torch.nn.Module, "
                    f"not {type(model).__name__}")


def prepare_model(model, *, prune=None, quant=None, act_bits=None, finetune=None, example_args=None,
                  example_kwargs=None, exclude=None, evaluate=False, evaluate_baseline=False, data=None,
                  train_data=None) -> Prepared:
    """Resolve ``model`` (registry name, ``.py`` path, or ``nn.Module`` with ``example_args`` and optional
    ``example_kwargs``), then prune and quantize it (a torch module is compressed in place).

    ``exclude``: fnmatch patterns of parameter names (``head.weight``, ``blocks.0.*``) left dense and
    unquantized. ``act_bits``: the quantized layers' input activations in fixed point too, calibrated on the
    model's training inputs (`hwsim.frontend.ModelData`), or on ``example_args`` for a model without data.
    ``finetune``: epochs of quantization-aware fine-tuning on the training split. ``evaluate``: measure the
    top-1 accuracy of the model before compression and after (``Prepared.float_accuracy`` / ``accuracy``);
    ``evaluate_baseline``: also of a copy quantized alike but not pruned (``baseline_accuracy``).
    The data (``data`` / ``train_data``, else the registry's split or the file's ``eval_data``) is looked up
    only when one of those needs it. Specs are parsed before any work, so a bad spec fails before a model is
    built or modified.
    """
    request = check_request(prune=prune, quant=quant, act_bits=act_bits, finetune=finetune, exclude=exclude,
                            evaluate=evaluate, evaluate_baseline=evaluate_baseline, data=data, train_data=train_data)
    return compress_model(resolve_model(model, example_args, example_kwargs), request)


def compress_model(resolved: Resolved, request: Request) -> Prepared:
    """Prune and quantize a resolved model as ``request`` says (in place), with the data that needs."""
    from .._util import phase
    from ._data import data_for, top1
    from ._prune import prune as do_prune

    spec, file, module, args, kwargs, name = resolved
    r = request
    prune_spec, quant_spec, act_bits, finetune, exclude = r.prune, r.quant, r.act_bits, r.finetune, r.exclude
    evaluate, data, train_data = r.evaluate, r.data, r.train_data
    file_has_data = file is not None and any(hasattr(file, n) for n in ("eval_data", "train_data", "evaluate"))
    has_own_data = data is not None or file_has_data or (spec is not None and _registry_has_data(spec))
    sensitivity = quant_spec is not None and quant_spec.kind.sensitivity
    measured = prune_spec is not None and prune_spec.method == "auto" and prune_spec.distortion == "output"
    needs_data = evaluate or finetune is not None or (has_own_data and (act_bits is not None or sensitivity or
                                                                        measured))
    if train_data is not None and not (act_bits is not None or sensitivity or finetune is not None):
        raise ValueError("train_data serves activation calibration (act_bits), posit+fixed row ranking and "
                         "finetune; none of them applies here")
    found = data_for(spec if spec is not None else module, data=data, train_data=train_data, module=module,
                     file=file) if needs_data else None
    if finetune is not None:  # before any weight changes: a model that cannot be fine-tuned is not pruned first
        x, _ = found.train_xy("finetune")
        if len(x) != 1:
            raise ValueError(f"finetune trains models with one input tensor, not {len(x)}")
    float_acc = acc = preds = base_acc = None
    if evaluate:
        with phase("evaluate"):
            float_acc = top1(module, found)[0]
    if r.evaluate_baseline:
        import copy

        base = copy.deepcopy(module)
        if quant_spec is not None:
            with phase("quantize"):
                _quantize(base, quant_spec, exclude, act_bits, finetune, found, args)
        with phase("evaluate"):
            base_acc = top1(base, found)[0]
    if prune_spec is not None:
        with phase("prune"):
            if prune_spec.method == "auto":
                calib = found.calib_args() if measured and found is not None and found.train else None
                do_prune(module, prune_spec, exclude=exclude, arch=r.arch, example_args=args,
                         example_kwargs=kwargs, calib=calib)
            else:
                do_prune(module, prune_spec, exclude=exclude)
    if quant_spec is not None:
        with phase("quantize"):
            _quantize(module, quant_spec, exclude, act_bits, finetune, found, args)
    if evaluate:
        with phase("evaluate"):
            acc, preds = top1(module, found)
    return Prepared(module, args, kwargs, name, found, acc, float_acc, preds, base_acc)


def _quantize(module, spec, exclude, act_bits, finetune, found, example_args) -> None:
    """`quantize` with the calibration, sensitivity and fine-tuning data ``found`` provides."""
    import torch

    from ._quant import quantize

    options = {}
    if act_bits is not None:
        options.update(act_bits=act_bits, calib=found.calib_args() if found is not None else example_args)
    if spec.kind.sensitivity and found is not None and found.train:
        x, y = found.train_sample()
        options["data"] = (x, y, torch.nn.functional.cross_entropy)
    if finetune is not None:
        x, y = found.train_xy("finetune")
        options.update(finetune=finetune, train_data=(x[0], y))
    quantize(module, spec, exclude=exclude, **options)


def _registry_has_data(spec: str) -> bool:
    if spec.endswith(".py"):
        return False
    from hwsim.models import has_data

    return has_data(spec)
