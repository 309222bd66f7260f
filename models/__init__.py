"""Reference models and recipes (installed as hwsim.models).

Models are built by name from an explicit registry::

    from hwsim.models import create_model, list_models, model_info
    model = create_model("deit_tiny", attention="sdpa")
    args = model_info("deit_tiny").example_args(batch=1)

Importing this package imports every model module so their ``@register_model`` factories are registered.
"""

from __future__ import annotations

from . import digits, jsc, vit
from ._registry import MODELS, ModelEntry, ModelRegistry, create_model, list_models, model_info, register_model
from .digits import load_digits_split, train_digits
from .vit import VisionTransformer

__all__ = [
    "MODELS",
    "ModelEntry",
    "ModelRegistry",
    "VisionTransformer",
    "create_model",
    "digits",
    "jsc",
    "list_models",
    "load_digits_split",
    "model_info",
    "register_model",
    "train_digits",
    "vit",
]
