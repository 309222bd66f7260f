"""Tables and figures of number formats."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .._util import write_with

if TYPE_CHECKING:  # annotations only: importing hwsim.report loads neither pandas nor numba
    import pandas as pd

    from ..formats import NumberFormat


def format_table(fmt: NumberFormat) -> pd.DataFrame:
    """One row per code: the code, its bit pattern, its value and the format's own fields."""
    import pandas as pd

    codes = fmt.codes().astype(np.int64)
    table = pd.DataFrame({
        "format": fmt.name,
        "code": codes,
        "bits": [format(int(c), f"0{fmt.bits}b") for c in codes],
        "value": fmt.decode(codes),
    })
    for name, column in fmt.code_fields(codes).items():
        table[name] = column
    return table


def plot_levels(formats: Sequence[NumberFormat], path: str | os.PathLike) -> None:
    """Draw the representable values of several formats side by side.

    Left: a linear axis zoomed to the narrowest format's range (where they compete); right: the positive
    levels on a log2 axis, which shows the tapered precision of posits against the uniform grid of fixed point.
    """
    from matplotlib.figure import Figure  # matplotlib only when a plot is drawn

    if not formats:
        raise ValueError("plot_levels needs at least one format")
    image_format = _image_format(path)
    fig = Figure(figsize=(11, 1.4 + 0.8 * len(formats)), layout="constrained")
    lin, log = fig.subplots(1, 2)
    all_levels = [f.levels() for f in formats]
    zoom = 1.1 * min(float(np.abs(l).max()) for l in all_levels)
    for row, levels in enumerate(all_levels):
        shown = levels[np.abs(levels) <= zoom]
        lin.scatter(shown, np.full(shown.size, row), marker="|", s=300, linewidths=1.5)
        positive = levels[levels > 0]
        log.scatter(np.log2(positive), np.full(positive.size, row), marker="|", s=300, linewidths=1.5)
    lin.set_xlim(-zoom, zoom)
    lin.set_title(f"levels with |x| <= {zoom:g}, linear axis")
    lin.set_xlabel("value")
    log.set_title("positive levels, log2 axis")
    log.set_xlabel("log2(value)")
    for ax in (lin, log):
        ax.set_yticks(range(len(formats)), [f"{f.name}\n{l.size} levels" for f, l in zip(formats, all_levels,
                                                                                       strict=True)])
        ax.set_ylim(-0.6, len(formats) - 0.4)
        ax.invert_yaxis()
        ax.grid(axis="x", alpha=0.3)
    log.tick_params(labelleft=False)
    write_with(path, lambda tmp: fig.savefig(tmp, format=image_format, dpi=120))


def _image_format(path: str | os.PathLike) -> str:
    suffix = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
    if suffix not in ("png", "svg", "pdf"):
        raise ValueError(f"plot file {os.fspath(path)!r} must end in .png, .svg or .pdf")
    return suffix
