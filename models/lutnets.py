"""LUT networks trained on bundled data: LogicNets-style fan-in-constrained, activation-quantized MLPs
(`hwsim.models.jsc.JSCNet`) whose neurons the LUT mapping (`hwsim.lut`) turns into truth tables.

The jet-substructure data of the JSC models cannot be fetched here, so these train on sklearn's bundled sets:
8x8 digits with 2-bit inputs and fan-in 6 (every neuron a 12-input function), and the breast-cancer table
likewise. Shapes chosen here (not from a paper): the smallest that reached a stable accuracy in a few seconds of
training on 2 cores.
"""

from __future__ import annotations

from ._registry import register_model
from ._training import Recipe
from .digits import DIGITS
from .jsc import JSCConfig, JSCNet
from .tabular import CANCER, CANCER_FEATURES

__all__ = ["LUT_CONFIGS", "cancer_lut", "digits_lut"]

LUT_CONFIGS: dict[str, JSCConfig] = {
    "digits_lut": JSCConfig((256, 128), input_fanin=6, hidden_fanin=6, output_fanin=6,
                            input_bits=2, hidden_bits=2, output_bits=4),
    "cancer_lut": JSCConfig((64, 32), input_fanin=6, hidden_fanin=6, output_fanin=6,
                            input_bits=2, hidden_bits=2, output_bits=4),
}

_TAGS = ("mlp", "logicnets", "sparse", "lut", "trainable")


@register_model("digits_lut", description="LUT network 64-256-128-10 for sklearn digits: fan-in 6, 2-bit "
                "inputs and hidden activations, 4-bit logits", tags=(*_TAGS, "digits"), input_shape=(64,),
                data=DIGITS, recipe=Recipe(optimizer="adam", lr=1e-2, epochs=30, batch_size=64, weight_decay=0.0))
def digits_lut(seed: int = 0) -> JSCNet:
    """The digits LUT network; ``seed`` draws its wiring."""
    return JSCNet(LUT_CONFIGS["digits_lut"], in_features=64, num_classes=10, seed=seed)


@register_model("cancer_lut", description="LUT network 30-64-32-2 for sklearn breast cancer: fan-in 6, 2-bit "
                "inputs and hidden activations, 4-bit logits", tags=(*_TAGS, "tabular"),
                input_shape=(CANCER_FEATURES,), data=CANCER,
                recipe=Recipe(optimizer="adam", lr=1e-2, epochs=40, batch_size=32, weight_decay=0.0))
def cancer_lut(seed: int = 0) -> JSCNet:
    """The breast-cancer LUT network; ``seed`` draws its wiring."""
    return JSCNet(LUT_CONFIGS["cancer_lut"], in_features=CANCER_FEATURES, num_classes=2, seed=seed)
