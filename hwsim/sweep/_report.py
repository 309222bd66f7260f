"""A sweep's summary and figures, drawn from its Parquet rows alone (``hwsim sweep --report DIR``).

- ``pareto_latency_energy.png``: every simulated point, latency against energy per inference, one colour per
  model, its Pareto front marked;
- ``pareto_accuracy_energy.png`` (with ``eval``): accuracy against energy;
- ``axes.png``: parallel coordinates of the axes that vary and the two objectives, each point a line;
- ``summary.md``: counts, the last run's timing, the Pareto points and the failures grouped by error.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["sweep_figures", "sweep_markdown", "write_report"]

REPORT_DIR = "_report"
MAX_LINES = 3000  # parallel-coordinates lines drawn (a random subset beyond it; the front always)


def _meta(table) -> dict:
    return table.attrs.get("hwsim.sweep", {})


def _load(out: Path):
    from ._store import read_results, results_schema

    table = read_results(out)
    schema = results_schema(out)
    raw = (schema.metadata or {}).get(b"hwsim.sweep") if schema is not None else None
    table.attrs["hwsim.sweep"] = json.loads(raw) if raw else {}
    return table


def _fronts(ok, x: str, y: str, maximize_y: bool = False) -> np.ndarray:
    """Bool per row of ``ok``: on its model's front of (min x, min y) or (min x, max y)."""
    from .._util.pareto import pareto_min

    front = np.zeros(len(ok), dtype=bool)
    for _, rows in ok.groupby("model", sort=False).indices.items():
        yy = ok[y].to_numpy(dtype=float)[rows]
        front[rows] = pareto_min(ok[x].to_numpy(dtype=float)[rows], -yy if maximize_y else yy)
    return front


def _varying(table, meta: dict) -> list[str]:
    axes = [a for a in ["model", *meta.get("axes", [])] if a in table]
    return [a for a in axes if _labels(table[a]).nunique() > 1]


def _labels(column):
    """An axis column as text, a missing value (no prune, no quant) as "none": pandas reads those as NaN, and
    text and NaN neither sort together nor count as a value."""
    return column.map(lambda v: "none" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))


def _scatter(table, x: str, y: str, xlabel: str, ylabel: str, title: str, maximize_y: bool, xs: float, ys: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.8, 4.6), layout="constrained")
    ax = fig.subplots()
    front = _fronts(table, x, y, maximize_y)
    for c, (model, rows) in enumerate(table.groupby("model", sort=False).indices.items()):
        px, py = table[x].to_numpy(dtype=float)[rows] * xs, table[y].to_numpy(dtype=float)[rows] * ys
        f = front[rows]
        color = f"C{c % 10}"
        label = Path(str(model)).name
        ax.scatter(px[~f], py[~f], s=9, color=color, alpha=0.35, lw=0, label=f"{label} ({len(rows)} points)")
        order = np.argsort(px[f])
        ax.step(px[f][order], py[f][order], where="post", color=color, lw=1.2)
        ax.scatter(px[f], py[f], s=22, color=color, edgecolor="k", lw=0.6, zorder=3,
                   label=f"{label}: Pareto front ({int(f.sum())})")
    ax.set_xscale("log")
    if not maximize_y:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.25)
    return fig


def _coordinates(ok, meta: dict):
    """Parallel coordinates: the varying axes (text as categories), then latency and energy on log scales."""
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    cols = _varying(ok, meta)
    objectives = ["latency_s", "energy_j"]
    fig = Figure(figsize=(max(6.4, 1.3 * (len(cols) + 2)), 4.6), layout="constrained")
    ax = fig.subplots()
    scaled, ticks = [], []
    for c in [*cols, *objectives]:
        v = ok[c]
        numeric = c in objectives or (v.dtype.kind in "iuf" and v.notna().all())
        if numeric:
            a = v.to_numpy(dtype=float)
            if c in objectives or (a.min() > 0 and a.max() / a.min() > 20):
                a = np.log10(a)
            lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
            scaled.append((a - lo) / (hi - lo) if hi > lo else np.full(a.shape, 0.5))
            ticks.append((f"{v.min():.3g}", f"{v.max():.3g}"))
        else:
            labels = _labels(v)
            cats = sorted(labels.unique())
            codes = labels.map({s: i for i, s in enumerate(cats)}).to_numpy(dtype=float)
            scaled.append(codes / max(len(cats) - 1, 1) if len(cats) > 1 else np.full(codes.shape, 0.5))
            ticks.append((_short(cats[0]), _short(cats[-1])))
    data = np.stack(scaled, axis=1)
    front = _fronts(ok, "latency_s", "energy_j")
    rng = np.random.default_rng(0)
    rest = np.flatnonzero(~front)
    if rest.size > MAX_LINES:
        rest = np.sort(rng.choice(rest, MAX_LINES, replace=False))
    xs = np.arange(data.shape[1])
    energy = data[:, -1]
    lines = LineCollection([np.column_stack([xs, data[i]]) for i in rest], cmap="viridis", lw=0.6, alpha=0.35)
    lines.set_array(energy[rest])
    ax.add_collection(lines)
    for i in np.flatnonzero(front):
        ax.plot(xs, data[i], color="C3", lw=1.4, alpha=0.9)
    ax.plot([], [], color="C3", label="latency-energy Pareto front")
    for x, (lo, hi) in zip(xs, ticks, strict=True):
        ax.axvline(x, color="0.4", lw=0.8)
        ax.annotate(lo, (x, 0), xytext=(3, -10), textcoords="offset points", fontsize=7)
        ax.annotate(hi, (x, 1), xytext=(3, 4), textcoords="offset points", fontsize=7)
    ax.set_xticks(xs, [*cols, "latency [s]", "energy [J]"], rotation=20, fontsize=8)
    ax.set_yticks([])
    ax.set_xlim(-0.2, xs[-1] + 0.6)
    ax.set_ylim(-0.08, 1.08)
    fig.colorbar(lines, ax=ax, label="energy (scaled, log)")
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(f"{meta.get('name', 'sweep')}: {len(ok)} points, each a line", fontsize=10)
    return fig


def _short(text: str, n: int = 18) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def sweep_figures(table) -> dict:
    """{file name: matplotlib Figure} for the simulated points of ``table`` (no figure when none ran)."""
    meta = _meta(table)
    ok = table[table.status == "ok"].reset_index(drop=True)
    if ok.empty:
        return {}
    figs = {"pareto_latency_energy.png": _scatter(
        ok, "latency_s", "energy_j", "latency per inference [µs]", "energy per inference [µJ]",
        f"{meta.get('name', 'sweep')}: latency vs energy", False, 1e6, 1e6)}
    if "accuracy" in ok and ok.accuracy.notna().any():
        scored = ok[ok.accuracy.notna()].copy()
        scored["accuracy_pct"] = 100 * scored.accuracy
        figs["pareto_accuracy_energy.png"] = _scatter(
            scored, "energy_j", "accuracy_pct", "energy per inference [µJ]", "top-1 accuracy [%]",
            f"{meta.get('name', 'sweep')}: accuracy vs energy", True, 1e6, 1.0)
    figs["axes.png"] = _coordinates(ok, meta)
    return figs


def _runs(out: Path) -> list[dict]:
    path = out / "_runs.jsonl"
    if not path.is_file():
        return []
    runs = []
    for line in path.read_text().splitlines():
        try:
            runs.append(json.loads(line))
        except json.JSONDecodeError:  # a line a killed client was writing
            continue
    return runs


def sweep_markdown(table, runs: list[dict] = ()) -> str:
    meta = _meta(table)
    ok = table[table.status == "ok"].reset_index(drop=True)
    failed = table[table.status == "failed"]
    lines = [f"# Sweep {meta.get('name', '')}", "",
             f"{len(table)} of {meta.get('points', len(table))} points in the results: {len(ok)} simulated, "
             f"{len(failed)} failed.", ""]
    if runs and runs[-1].get("repeats"):
        lines += [f"{runs[-1]['repeats']} points repeat another point's content (random draws that coincide) and "
                  "are in the results once.", ""]
    if runs and runs[-1].get("lost"):
        why = "; ".join(f"{n} x {msg}" for msg, n in (runs[-1].get("problems") or {}).items())
        lines += [f"{runs[-1]['lost']} points were not run by the last run ({why}); a rerun tries them again.", ""]
    ran = [r for r in runs if r.get("ran")]
    if ran:
        r = ran[-1]
        busy = r["workers"] * r["seconds"]
        workers = f"{r['workers']} worker{'s' if r['workers'] != 1 else ''}"
        lines += [f"Last run that simulated points: {r['ran']} points in {r['seconds']:.1f} s on {workers} "
                  f"({r['scheduler']}), {r['points_per_s']:.2f} points/s; {r['skipped']} were already "
                  f"done. Worker time: capture {r['capture_s']:.1f} s, simulation {r['simulate_s']:.1f} s, "
                  f"scheduling and idle {max(busy - r['capture_s'] - r['simulate_s'], 0):.1f} s.", ""]
    if not ok.empty:
        front = ok[_fronts(ok, "latency_s", "energy_j")].sort_values(["model", "latency_s"])
        cols = [*_varying(ok, meta), "latency_s", "energy_j", "area_mm2",
                *(["speedup"] if "speedup" in ok else []), *(["accuracy"] if "accuracy" in ok else [])]
        shown = front[cols].head(30).copy()
        for c in shown.columns:
            if shown[c].dtype.kind not in "iufb":
                shown[c] = _labels(shown[c])
        shown["latency_s"] = (shown.latency_s * 1e6).map("{:.3f}".format)
        shown["energy_j"] = (shown.energy_j * 1e6).map("{:.4f}".format)
        shown = shown.rename(columns={"latency_s": "latency µs", "energy_j": "energy µJ", "area_mm2": "area mm²"})
        lines += [f"## Latency-energy Pareto front ({len(front)} points{', first 30' if len(front) > 30 else ''})",
                  "", shown.to_markdown(index=False, floatfmt=".4g"), ""]
    if len(failed):
        errors = failed.groupby("error", sort=False)["index"].agg(["count", "min"]).sort_values("count",
                                                                                                  ascending=False)
        lines += ["## Failed points", "", "| points | first index | error |", "|---|---|---|"]
        lines += [f"| {n} | {first} | {str(err).replace('|', '/')} |" for err, (n, first) in errors.head(20).iterrows()]
        lines.append("")
    return "\n".join(lines)


def write_report(out) -> Path:
    """Redraw ``out/_report`` (summary.md and the figures) from the results in ``out``; returns the folder."""
    from .._util import output_dir, write_text, write_with

    out = Path(out)
    table = _load(out)
    with output_dir(out / REPORT_DIR) as rep:
        write_text(rep / "summary.md", sweep_markdown(table, _runs(out)))
        for name, fig in sweep_figures(table).items():
            write_with(rep / name, lambda tmp, fig=fig: fig.savefig(tmp, dpi=110, format="png"))
    return out / REPORT_DIR
