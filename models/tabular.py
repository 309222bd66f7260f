"""A small MLP on a tabular data set bundled with scikit-learn (Wisconsin breast cancer: 569 samples, 30 real
features, 2 classes; no download).

The features span four orders of magnitude (areas in the thousands, fractal dimensions near 0.06), so the model
standardises its input itself: the per-feature mean and scale, fitted on the training split only, are buffers
of the model (saved with its weights), and ``model(raw_x)`` works on the raw sklearn features. Keeping the
scaler a separate elementwise op, rather than folding it into the first Linear, keeps that layer's weights on
one scale, which is what a per-layer quantizer needs.
"""

from __future__ import annotations

import torch
from torch import nn

from ._registry import register_model
from ._training import DataSpec, Recipe, Split, TrainResult, fit, sklearn_arrays

__all__ = ["CANCER", "Standardize", "TabularMLP", "cancer_mlp", "load_cancer_split", "train_tabular"]

CANCER_FEATURES = 30


class Standardize(nn.Module):
    """``(x - mean) * inv_std`` per feature, with ``mean`` and ``inv_std`` buffers set by :meth:`fit`."""

    def __init__(self, features: int) -> None:
        super().__init__()
        if features < 1:
            raise ValueError(f"features must be >= 1, not {features!r}")
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("inv_std", torch.ones(features))

    @torch.no_grad()
    def fit(self, x: torch.Tensor) -> None:
        """Set the buffers from the rows of ``x`` (the training split: fitting on test data would leak it)."""
        if x.ndim != 2 or x.shape[1] != self.mean.numel():
            raise ValueError(f"expected (n, {self.mean.numel()}) inputs, not {tuple(x.shape)}")
        self.mean.copy_(x.mean(dim=0))
        # A constant feature keeps scale 1 instead of dividing by zero.
        std = x.std(dim=0, unbiased=False)
        self.inv_std.copy_(torch.where(std > 0, 1.0 / std, torch.ones_like(std)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) * self.inv_std


class TabularMLP(nn.Module):
    """Standardize -> Linear(in, h1) -> ReLU -> Linear(h1, h2) -> ReLU -> Linear(h2, classes)."""

    def __init__(self, in_features: int = CANCER_FEATURES, num_classes: int = 2,
                 hidden: tuple[int, int] = (64, 32)) -> None:
        super().__init__()
        h1, h2 = hidden
        self.input_shape = (in_features,)
        self.scaler = Standardize(in_features)
        self.net = nn.Sequential(
            nn.Linear(in_features, h1), nn.ReLU(),
            nn.Linear(h1, h2), nn.ReLU(),
            nn.Linear(h2, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.scaler(x))


def load_cancer_split(
    seed: int = 0, test_size: float = 0.25
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Stratified train/test split of sklearn's breast-cancer set as ``(X_train, y_train, X_test, y_test)``:
    raw features as float32 ``(n, 30)`` (the model standardises them), labels int64 (0 malignant, 1 benign)."""
    from sklearn.model_selection import train_test_split

    x, y = sklearn_arrays("load_breast_cancer")
    # train_test_split indexes into new arrays, so the tensors below never share the cached ones' memory.
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_size, random_state=seed, stratify=y)
    f32, i64 = torch.float32, torch.int64
    return (torch.as_tensor(x_tr, dtype=f32), torch.as_tensor(y_tr, dtype=i64),
            torch.as_tensor(x_te, dtype=f32), torch.as_tensor(y_te, dtype=i64))


def train_tabular(model: nn.Module, split: Split, recipe: Recipe) -> TrainResult:
    """Fit the model's input scaler on the training split, then :func:`~hwsim.models._training.fit` it."""
    scaler = getattr(model, "scaler", None)
    if not isinstance(scaler, Standardize):
        raise ValueError(f"train_tabular needs a model with a Standardize `scaler`, not {type(model).__name__}")
    scaler.fit(split.x_train)
    return fit(model, split, recipe)


#: sklearn's breast-cancer set, split 75/25 (stratified) with seed 0 (426 train / 143 test samples).
CANCER = DataSpec(name="breast_cancer", load=load_cancer_split, num_classes=2, split_seed=0)


@register_model("cancer_mlp", description="MLP 30-64-32-2 (ReLU) with a built-in standardiser, for sklearn's "
                "breast-cancer set", tags=("mlp", "tabular", "trainable"), input_shape=(CANCER_FEATURES,),
                data=CANCER, trainer=train_tabular,
                recipe=Recipe(optimizer="adam", lr=3e-3, epochs=30, batch_size=32, weight_decay=1e-4))
def cancer_mlp(**kwargs: object) -> TabularMLP:
    """The breast-cancer MLP; ``kwargs`` go to :class:`TabularMLP`."""
    return TabularMLP(**kwargs)  # type: ignore[arg-type]
