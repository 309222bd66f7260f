"""Reference models and recipes (installed as hwsim.models).

Models are built by name from an explicit registry::

    from hwsim.models import create_model, list_models, model_info
    model = create_model("deit_tiny", attention="sdpa")
    args = model_info("deit_tiny").example_args(batch=1)

Models registered with data and a training recipe (``has_data(name)``: the digits models, ``vit_digits``,
``cancer_mlp``) are also available trained, from a disk cache after the first time::

    from hwsim.models import accuracy, dataset, trained_model
    model = trained_model("vit_digits")          # eval mode, a new module each call
    acc = accuracy(model, dataset("vit_digits"))  # on the fixed held-out test split

Importing this package imports every model module so their ``@register_model`` factories are registered.
"""

from __future__ import annotations

from . import digits, jsc, lutnets, tabular, vit
from ._registry import (
    MODELS,
    ModelEntry,
    ModelRegistry,
    create_model,
    dataset,
    has_data,
    list_models,
    model_info,
    register_model,
    trained_model,
    trained_weights_path,
)
from ._training import DataSpec, Recipe, Split, TrainResult, accuracy, fit
from .digits import load_digits_split, train_digits
from .vit import VisionTransformer

__all__ = [
    "MODELS",
    "DataSpec",
    "ModelEntry",
    "ModelRegistry",
    "Recipe",
    "Split",
    "TrainResult",
    "VisionTransformer",
    "accuracy",
    "create_model",
    "dataset",
    "digits",
    "fit",
    "has_data",
    "jsc",
    "list_models",
    "load_digits_split",
    "lutnets",
    "model_info",
    "register_model",
    "tabular",
    "train_digits",
    "trained_model",
    "trained_weights_path",
    "vit",
]
