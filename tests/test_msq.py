"""MSQ per-row SP2/fixed assignment."""

from __future__ import annotations

import numpy as np
import pytest

from hwsim.formats import SP2, Fixed, msq_assign, msq_row_errors


def _mixed_rows(rng, rows=64, cols=256):
    """Even rows uniform (suits the uniform fixed grid), odd rows Laplacian (mass near 0 suits SP2)."""
    w = np.empty((rows, cols))
    w[0::2] = rng.uniform(-1, 1, (rows // 2, cols)) * rng.uniform(0.01, 1, (rows // 2, 1))
    w[1::2] = rng.laplace(0, 1, (rows // 2, cols)) * rng.uniform(0.01, 1, (rows // 2, 1))
    return w


def test_row_errors_are_computed_with_per_row_scales():
    w = np.array([[0.5, -0.25, 0.1], [2.0, 1.0, -0.3]])
    sp2, fixed = msq_row_errors(w, bits=4)
    for r in range(2):
        s = np.abs(w[r]).max()  # SP2's largest level is 1, Fixed(4, 3)'s is 7/8
        assert sp2[r] == pytest.approx(((SP2(4).quantize(w[r] / s) * s - w[r]) ** 2).mean())
        f = s / 0.875
        assert fixed[r] == pytest.approx(((Fixed(4, 3).quantize(w[r] / f) * f - w[r]) ** 2).mean())


def test_assigns_exactly_the_requested_fraction_and_picks_the_bell_shaped_rows():
    w = _mixed_rows(np.random.default_rng(0))
    mask = msq_assign(w, 0.5, bits=4)
    assert mask.dtype == bool and mask.shape == (64,)
    assert mask.sum() == 32
    assert mask[1::2].all() and not mask[0::2].any()


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.25, 0.9, 1.0])
def test_fraction_is_met_to_the_row(fraction):
    w = _mixed_rows(np.random.default_rng(1), rows=40)
    assert msq_assign(w, fraction).sum() == round(fraction * 40)


def test_sp2_share_grows_by_adding_rows():
    w = _mixed_rows(np.random.default_rng(2))
    smaller, larger = msq_assign(w, 0.25), msq_assign(w, 0.75)
    assert (larger | ~smaller).all()  # every row SP2 at 25% stays SP2 at 75%


def test_zero_rows_are_fine():
    w = np.zeros((4, 8))
    w[0] = np.linspace(-1, 1, 8)
    assert msq_assign(w, 0.5).sum() == 2


@pytest.mark.parametrize(("weight", "fraction", "error", "message"), [
    (np.ones(5), 0.5, ValueError, "weight must be a 2-D matrix"),
    (np.full((2, 2), np.nan), 0.5, ValueError, "weight must be finite"),
    (np.ones((2, 2)), 1.5, ValueError, r"sp2_fraction must lie in \[0, 1\], not 1.5"),
    (np.ones((2, 2)), "half", TypeError, "sp2_fraction must be a number"),
])
def test_bad_input(weight, fraction, error, message):
    with pytest.raises(error, match=message):
        msq_assign(weight, fraction)
