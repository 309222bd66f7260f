"""Tiny models on scikit-learn's 8x8 handwritten digits (1797 images, bundled with sklearn: no download).

Small enough to train to high accuracy in a few seconds on CPU, which makes them the end-to-end fixtures for
pruning/quantisation experiments: a real trained network with a real accuracy to lose. Each is registered with
the digits data (`DIGITS`, a fixed stratified 75/25 split) and its recipe, so ``hwsim.models.trained_model(name)``
trains it once and serves the cached weights afterwards.
"""

from __future__ import annotations

import torch
from torch import nn

from ._registry import register_model
from ._training import DataSpec, Recipe, Split, TrainResult, fit, sklearn_arrays
from .vit import VisionTransformer

__all__ = ["DIGITS", "DigitsCNN", "DigitsMLP", "TrainResult", "digits_cnn", "digits_mlp", "load_digits_split",
           "train_digits", "vit_digits"]


class DigitsMLP(nn.Module):
    """64 -> 64 -> 32 -> 10 MLP with ReLU, on flattened 8x8 images."""

    input_shape: tuple[int, ...] = (64,)

    def __init__(self, hidden: tuple[int, int] = (64, 32), num_classes: int = 10) -> None:
        super().__init__()
        h1, h2 = hidden
        self.net = nn.Sequential(
            nn.Linear(64, h1), nn.ReLU(),
            nn.Linear(h1, h2), nn.ReLU(),
            nn.Linear(h2, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class DigitsCNN(nn.Module):
    """Two 3x3 conv + ReLU stages on a 1x8x8 image, then a Linear classifier.

    The second conv is strided (8x8 -> 4x4) instead of pooling, so every op is a MAC array op.
    """

    input_shape: tuple[int, ...] = (1, 8, 8)

    def __init__(self, channels: tuple[int, int] = (8, 16), num_classes: int = 10) -> None:
        super().__init__()
        c1, c2 = channels
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(),            # 8x8
            nn.Conv2d(c1, c2, 3, stride=2, padding=1), nn.ReLU(),  # 4x4
        )
        self.classifier = nn.Linear(c2 * 4 * 4, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


def load_digits_split(
    seed: int = 0, test_size: float = 0.25
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Stratified train/test split of sklearn's digits as ``(X_train, y_train, X_test, y_test)``.

    ``X`` is float32 of shape ``(n, 64)`` scaled to [0, 1] (pixels are 0..16); ``y`` holds the class labels
    0..9 as int64, the dtype ``cross_entropy`` and accuracy comparisons need. Reshape ``X`` to ``(n, 1, 8, 8)``
    for the CNN (``train_digits`` does this from the model's ``input_shape``).
    """
    from sklearn.model_selection import train_test_split

    x, y = sklearn_arrays("load_digits")
    # train_test_split indexes into new arrays, so the tensors below never share the cached ones' memory.
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_size, random_state=seed, stratify=y)
    scale = 1.0 / 16.0

    def xs(a: object) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch.float32) * scale

    def ys(a: object) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch.int64)

    return xs(x_tr), ys(y_tr), xs(x_te), ys(y_te)


#: sklearn's digits, split 75/25 (stratified) with seed 0: the held-out test set every digits model is scored on.
DIGITS = DataSpec(name="digits", load=load_digits_split, num_classes=10, split_seed=0)

# Adam with cosine decay reaches a stable optimum in few epochs without tuning a step schedule (~2 s each here).
_DIGITS_RECIPE = Recipe(optimizer="adam", lr=1e-2, epochs=20, batch_size=64, weight_decay=1e-4)


@register_model("digits_mlp", description="MLP 64-64-32-10 (ReLU) for sklearn 8x8 digits",
                tags=("mlp", "digits", "trainable"), input_shape=(64,), data=DIGITS, recipe=_DIGITS_RECIPE)
def digits_mlp(**kwargs: object) -> DigitsMLP:
    """The digits MLP; ``kwargs`` go to :class:`DigitsMLP`."""
    return DigitsMLP(**kwargs)  # type: ignore[arg-type]


@register_model("digits_cnn", description="Two small Conv2d+ReLU then Linear for sklearn 8x8 digits",
                tags=("cnn", "digits", "trainable"), input_shape=(1, 8, 8), data=DIGITS,
                recipe=_DIGITS_RECIPE)
def digits_cnn(**kwargs: object) -> DigitsCNN:
    """The digits CNN; ``kwargs`` go to :class:`DigitsCNN`."""
    return DigitsCNN(**kwargs)  # type: ignore[arg-type]


#: The digits ViT's shape: 4x4 patches of the 8x8 image (2x2 grid, 4 tokens + the class token), D=64 in 4 heads of
#: 16, 4 blocks, MLP ratio 2. Every block Linear (qkv 64->192, proj 64->64, fc1 64->128, fc2 128->64) is a
#: multiple of 32 on both sides, so 32x32 block pruning of `hwsim_prunable` ("blocks.*") tiles them exactly.
VIT_DIGITS_CONFIG: dict[str, object] = {"img_size": 8, "patch_size": 4, "in_chans": 1, "num_classes": 10,
                                        "dim": 64, "depth": 4, "num_heads": 4, "mlp_ratio": 2.0}


@register_model("vit_digits", description="DeiT-style ViT for sklearn 8x8 digits: 4x4 patches (5 tokens), D=64, "
                "4 heads, 4 blocks, MLP 128", tags=("vit", "transformer", "digits", "trainable"),
                input_shape=(1, 8, 8), data=DIGITS,
                # AdamW with a one-epoch warmup, as transformers want; 8 epochs reach ~96% in ~6 s on one core.
                recipe=Recipe(optimizer="adamw", lr=3e-3, epochs=8, batch_size=32, weight_decay=0.05,
                              warmup_epochs=1))
def vit_digits(**kwargs: object) -> VisionTransformer:
    """The digits ViT (:data:`VIT_DIGITS_CONFIG`); ``kwargs`` override it (e.g. ``patch_size=2`` for 16 tokens)."""
    return VisionTransformer(**{**VIT_DIGITS_CONFIG, **kwargs})  # type: ignore[arg-type]


def train_digits(
    model: nn.Module,
    *,
    epochs: int = 20,
    batch_size: int = 64,
    lr: float = 1e-2,
    weight_decay: float = 1e-4,
    seed: int = 0,
    split: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
) -> TrainResult:
    """Train ``model`` in place on the digits split with Adam; return final train/test accuracy in [0, 1].

    Deterministic for a given ``seed``: the weights are re-initialised from ``seed`` (so the result does not
    depend on how the model was built or on the global RNG) and mini-batches are shuffled from a private
    generator. Inputs are reshaped to ``model.input_shape`` when the model declares one (flat 64 otherwise).
    Pass ``split`` to reuse an already loaded ``load_digits_split()`` result. (The registry's
    ``trained_model(name)`` is the cached form of this for registered models.)
    """
    x_tr, y_tr, x_te, y_te = split if split is not None else load_digits_split(seed)
    shape = tuple(getattr(model, "input_shape", (64,)))
    data = Split(x_train=x_tr.reshape(-1, *shape), y_train=y_tr, x_test=x_te.reshape(-1, *shape), y_test=y_te,
                 num_classes=10)
    # Batches of 64x64 are far too small to gain from intra-op threads, and on a busy machine (or under
    # pytest-xdist) OpenMP spin-waiting made training ~20x slower: the recipe runs single-threaded.
    recipe = Recipe(optimizer="adam", lr=lr, epochs=epochs, batch_size=batch_size, weight_decay=weight_decay,
                    seed=seed, threads=1)
    with torch.random.fork_rng():
        torch.manual_seed(seed)  # reset_parameters() draws from the global RNG
        for m in model.modules():
            if m is not model and hasattr(m, "reset_parameters"):
                m.reset_parameters()
    return fit(model, data, recipe)
