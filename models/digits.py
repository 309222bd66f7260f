"""Tiny models on scikit-learn's 8x8 handwritten digits (1797 images, bundled with sklearn: no download).

Small enough to train to high accuracy in about a second on CPU, which makes them the end-to-end fixtures for
pruning/quantisation experiments: a real trained network with a real accuracy to lose.
"""

from __future__ import annotations

from typing import TypedDict

import torch
from torch import nn

from ._registry import register_model

__all__ = ["DigitsCNN", "DigitsMLP", "TrainResult", "digits_cnn", "digits_mlp", "load_digits_split", "train_digits"]


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


@register_model("digits_mlp", description="MLP 64-64-32-10 (ReLU) for sklearn 8x8 digits",
                tags=("mlp", "digits", "trainable"), input_shape=(64,))
def digits_mlp(**kwargs: object) -> DigitsMLP:
    """The digits MLP; ``kwargs`` go to :class:`DigitsMLP`."""
    return DigitsMLP(**kwargs)  # type: ignore[arg-type]


@register_model("digits_cnn", description="Two small Conv2d+ReLU then Linear for sklearn 8x8 digits",
                tags=("cnn", "digits", "trainable"), input_shape=(1, 8, 8))
def digits_cnn(**kwargs: object) -> DigitsCNN:
    """The digits CNN; ``kwargs`` go to :class:`DigitsCNN`."""
    return DigitsCNN(**kwargs)  # type: ignore[arg-type]


def load_digits_split(
    seed: int = 0, test_size: float = 0.25
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Stratified train/test split of sklearn's digits as ``(X_train, y_train, X_test, y_test)``.

    ``X`` is float32 of shape ``(n, 64)`` scaled to [0, 1] (pixels are 0..16); ``y`` holds the class labels
    0..9 as int64, the dtype ``cross_entropy`` and accuracy comparisons need. Reshape ``X`` to ``(n, 1, 8, 8)``
    for the CNN (``train_digits`` does this from the model's ``input_shape``).
    """
    # Imported here so `import hwsim.models` does not require scikit-learn (it is a dev extra).
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x_tr, x_te, y_tr, y_te = train_test_split(
        data.data, data.target, test_size=test_size, random_state=seed, stratify=data.target
    )
    scale = 1.0 / 16.0

    def xs(a: object) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch.float32) * scale

    def ys(a: object) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch.int64)

    return xs(x_tr), ys(y_tr), xs(x_te), ys(y_te)


class TrainResult(TypedDict):
    train_acc: float
    test_acc: float


@torch.no_grad()
def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    return (model(x).argmax(dim=1) == y).float().mean().item()


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
    Pass ``split`` to reuse an already loaded ``load_digits_split()`` result.
    """
    x_tr, y_tr, x_te, y_te = split if split is not None else load_digits_split(seed)
    shape = tuple(getattr(model, "input_shape", (64,)))
    x_tr, x_te = x_tr.reshape(-1, *shape), x_te.reshape(-1, *shape)

    torch.manual_seed(seed)  # reset_parameters() draws from the global RNG
    for m in model.modules():
        if m is not model and hasattr(m, "reset_parameters"):
            m.reset_parameters()
    gen = torch.Generator().manual_seed(seed)

    # Batches of 64x64 are far too small to gain from intra-op threads, and on a busy machine (or under
    # pytest-xdist) OpenMP spin-waiting made training ~20x slower; run single-threaded and restore afterwards.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _fit(model, x_tr, y_tr, x_te, y_te, epochs=epochs, batch_size=batch_size, lr=lr,
                    weight_decay=weight_decay, gen=gen)
    finally:
        torch.set_num_threads(threads)


def _fit(model: nn.Module, x_tr: torch.Tensor, y_tr: torch.Tensor, x_te: torch.Tensor, y_te: torch.Tensor, *,
         epochs: int, batch_size: int, lr: float, weight_decay: float, gen: torch.Generator) -> TrainResult:
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    n = x_tr.shape[0]
    steps = epochs * ((n + batch_size - 1) // batch_size)
    # Cosine decay to zero: reaches a stable optimum in few epochs without tuning a step schedule.
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, batch_size):
            idx = perm[i : i + batch_size]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x_tr[idx]), y_tr[idx]).backward()
            opt.step()
            sched.step()
    return TrainResult(train_acc=_accuracy(model, x_tr, y_tr), test_acc=_accuracy(model, x_te, y_te))
