"""The report of a whole-model simulation: per-layer table, totals, figures, and files written whole."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._util import output_dir

if TYPE_CHECKING:  # annotations only: a report is built from DataFrames its caller already has
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


@dataclass
class Report:
    """Result of `hwsim.simulate`: ``layers`` (one row per op) and ``totals`` (the numbers a reader wants first)."""

    model: str
    layers: pd.DataFrame
    totals: dict
    area: dict  # mm^2 by component
    config_yaml: str
    baseline: dict | None = None  # totals of the dense baseline with speedup / energy_ratio
    meta: dict = field(default_factory=dict)
    compression: pd.DataFrame | None = None  # per weight layer: pruning asked/achieved, format, widths, MAC
    notes: list[str] = field(default_factory=list)  # what a reader of the totals must know
    # top-1 accuracy (evaluate=True): accuracy, float_accuracy (uncompressed), data, samples, hardware_accuracy
    # (integer path on the simulated MAC, None without quantized activations) and its overflows; the dense
    # baseline's (quantized alike, not pruned) is baseline["accuracy"]
    accuracy: dict | None = None

    def to_dict(self) -> dict:
        out = {"model": self.model, **self.totals, "area_by_component_mm2": self.area}
        if self.baseline is not None:
            out["baseline"] = self.baseline
            out["speedup"] = self.baseline["speedup"]
            out["energy_ratio"] = self.baseline["energy_ratio"]
        if self.accuracy is not None:
            out["accuracy"] = self.accuracy["accuracy"]
            out["float_accuracy"] = self.accuracy["float_accuracy"]
            out["accuracy_data"] = self.accuracy["data"]
            out["hardware_accuracy"] = self.accuracy.get("hardware_accuracy")
            out["accumulator_overflows"] = self.accuracy.get("overflows")
        out["notes"] = list(self.notes)
        out["compression"] = [] if self.compression is None else self.compression.to_dict(orient="records")
        out["meta"] = self.meta
        return out

    def summary(self) -> str:
        if self.meta.get("engine") == "lut":
            return self._lut_summary()
        t = self.totals
        lines = [
            f"{self.model} on {self.meta.get('config', 'the accelerator')}",
            *([f"  {self.meta['mac']}"] if self.meta.get("mac") else []),
            f"  cycles      {t['cycles']:,}  ({t['stall_cycles']:,} stalled)   latency {t['latency_s'] * 1e3:.3f} ms"
            f"   {t['throughput_inf_per_s']:.1f} inferences/s",
            f"  MACs        {t['macs']:,.0f} kept of {t['dense_macs']:,}   "
            f"PE utilization {100 * t['utilization']:.1f} %",
            f"  energy      {t['energy_j'] * 1e3:.3f} mJ per inference   average power {t['power_w']:.3f} W",
            "              " + ", ".join(f"{k} {100 * v / max(t['energy_j'], 1e-30):.0f} %"
                                       for k, v in t["energy_by_component_j"].items()),
            f"  area        {t['area_mm2']:.3f} mm^2   " + ", ".join(f"{k} {v:.3f}" for k, v in self.area.items()),
        ]
        if self.baseline is not None:
            b = self.baseline
            ratio = b["energy_ratio"]
            energy = f"energy {ratio:.2f}x lower" if ratio >= 1 else f"energy {1 / ratio:.2f}x higher"
            lines.append(f"  vs dense    speedup {b['speedup']:.2f}x, {energy} "
                         f"({b['cycles']:,} cycles, {b['energy_j'] * 1e3:.3f} mJ)")
        if self.accuracy is not None:
            a = self.accuracy
            dense = "" if a.get("baseline_accuracy") is None else f", dense {100 * a['baseline_accuracy']:.2f} %"
            hw = "" if a.get("hardware_accuracy") is None else \
                f", integer datapath {100 * a['hardware_accuracy']:.2f} %"
            lines.append(f"  accuracy    {100 * a['accuracy']:.2f} % top-1{hw} (uncompressed "
                         f"{100 * a['float_accuracy']:.2f} %{dense}) on {a['data']}")
        if self.meta.get("workload_cache"):
            from ..frontend._workload_cache import CACHE_STATUS

            status = self.meta["workload_cache"]
            lines.append(f"  workload    {CACHE_STATUS.get(status, status)}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _lut_summary(self) -> str:
        t = self.totals
        lines = [
            f"{self.model} as LUT logic ({self.meta.get('lut_mode')} mode), pipelined: one sample per cycle",
            f"  latency     {t['cycles']} cycles at {t['fmax_mhz']:.0f} MHz (est.) = {t['latency_s'] * 1e9:.2f} ns"
            f"   {t['throughput_inf_per_s'] / 1e6:.0f} M inferences/s",
            f"  logic       {t['luts']:,} LUTs ({t['lut6']:,} LUT6), {t['ffs']:,} FFs, {t['carry4']} CARRY4, depth "
            f"{t['lut_depth']} levels; LUTCost estimate {t['lutcost']:,.0f}",
            f"  energy      {t['energy_j'] * 1e12:.3f} pJ per inference   power {t['power_w'] * 1e3:.3f} mW at full "
            "rate",
            f"  area        {t['area_mm2']:.5f} mm^2 ({t['gates']:,} gates, 45 nm cells)",
        ]
        if self.baseline is not None:
            b = self.baseline
            lines.append(f"  vs MAC      the MAC engine takes {b['speedup']:.1f}x the latency, "
                         f"{b['energy_ratio']:.1f}x the energy and {b['area_ratio']:.1f}x the area "
                         f"({b['cycles']:,} cycles, {b['energy_j'] * 1e9:.3f} nJ, {b['area_mm2']:.3f} mm^2)")
        if self.accuracy is not None:
            a = self.accuracy
            lines.append(f"  accuracy    {100 * a['accuracy']:.2f} % top-1 of the logic (torch network "
                         f"{100 * a['float_accuracy']:.2f} %) on {a['data']}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def compression_summary(self, max_rows: int = 12) -> str:
        """The per-layer compression table as text (first and last layers when it is long)."""
        if self.compression is None or self.compression.empty:
            return ""
        text = self.compression.to_string(index=False, na_rep="-").splitlines()
        if len(text) - 1 > max_rows:
            half = max_rows // 2
            text = [*text[: half + 1], f"  ... {len(text) - 1 - 2 * half} more layers ...", *text[-half:]]
        return "\n".join(text)

    def figures(self) -> dict[str, Figure]:
        """Per-layer latency (compute / stall stacked), energy breakdown, and area breakdown."""
        figs = {}
        gemm = self.layers
        compute = gemm["compute_cycles"].to_numpy()
        total = compute + gemm["stall_cycles"].to_numpy()
        fig, ax = _chart(12, 4, xlabel=True)
        # one filled outline per series, not one bar patch per op: the same picture, drawn far faster for 100s of ops
        edges = np.arange(len(gemm) + 1) - 0.5
        ax.stairs(compute, edges, fill=True, label="compute")
        ax.stairs(total, edges, baseline=compute, fill=True, label="stall (DRAM)")
        ax.set_ylim(0, 1.05 * max(1, int(total.max(initial=0))))
        ax.set_xlabel("op (in execution order)")
        ax.set_ylabel("cycles")
        ax.set_title(f"{self.model}: per-op latency")
        ax.legend()
        figs["latency.png"] = fig

        fig, ax = _chart(6, 4)
        comp = self.totals["energy_by_component_j"]
        ax.bar(list(comp), [v * 1e3 for v in comp.values()])
        ax.set_ylabel("energy per inference [mJ]")
        ax.set_title(f"{self.model}: energy by component")
        figs["energy.png"] = fig

        fig, ax = _chart(6, 4)
        ax.bar(list(self.area), list(self.area.values()))
        ax.set_ylabel("area [mm^2]")
        ax.set_title("accelerator area by component")
        figs["area.png"] = fig
        return figs

    def save(self, out_dir: str | os.PathLike) -> Path:
        """Write report.json, layers.csv, layers.md, config.yaml and the figures into ``out_dir``.

        Everything is rendered into a staging folder first and moved in at the end, so a failure leaves no
        partial report behind.
        """
        with output_dir(out_dir) as out:
            self._save_into(out)
        return out

    def _save_into(self, out: Path) -> None:
        stage = Path(tempfile.mkdtemp(prefix=".hwsim-report-", dir=out))
        try:
            (stage / "report.json").write_text(json.dumps(self.to_dict(), indent=1, default=_jsonable) + "\n")
            self.layers.to_csv(stage / "layers.csv", index=False)
            if self.compression is not None:
                self.compression.to_csv(stage / "compression.csv", index=False)
            (stage / "layers.md").write_text(f"# {self.model}\n\n" + self.summary().replace("\n", "  \n") + "\n\n"
                                             + self.layers.to_markdown(index=False) + "\n")
            (stage / "config.yaml").write_text(self.config_yaml)
            for name, fig in self.figures().items():
                fig.savefig(stage / name, dpi=110)
            for item in stage.iterdir():
                os.replace(item, out / item.name)
        finally:
            shutil.rmtree(stage, ignore_errors=True)


def _chart(width: float, height: float, *, xlabel: bool = False) -> tuple[Figure, Axes]:
    """A figure of ``width`` x ``height`` inches with one axes inside fixed margins that hold a title, a y label,
    tick labels of up to 8 characters and, if asked, an x label: a layout engine would measure every label first,
    which costs more than the drawing itself."""
    from matplotlib.figure import Figure  # matplotlib only when figures are drawn

    fig = Figure(figsize=(width, height))
    bottom = 0.6 if xlabel else 0.4
    fig.subplots_adjust(left=0.9 / width, right=1 - 0.15 / width, bottom=bottom / height, top=1 - 0.35 / height)
    return fig, fig.subplots()


def _jsonable(v):
    if hasattr(v, "item"):
        return v.item()
    raise TypeError(f"cannot write {type(v).__name__} to JSON")
