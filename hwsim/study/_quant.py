"""The quantization-scheme study: accuracy against latency, energy and area, one accelerator per scheme.

For each weight scheme the model is quantized (input activations at ``act_bits`` fixed point, calibrated on the
training inputs), optionally fine-tuned, scored on its held-out data on both accuracy paths (the torch model and
the hardware's integer arithmetic, `hwsim.evaluate`), captured, and simulated on the accelerator whose MAC runs
the scheme at its own widths (`hwsim.sim.mac_for_workload`: only the MAC changes; array, buffers and clock stay
those of ``arch``). The MAC energy of every layer comes from its own codes at gate level (`hwsim.cost.
layer_mac_energy`) beside the uniform-random figure.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._save import SavedStudy

__all__ = ["DEFAULT_SCHEMES", "QuantStudy", "pareto_front", "quant_study"]

# The defaults: fixed point at 4 and 8 bits, SP2-4, MSQ with half the rows SP2, posit<4,0> and
# posit<4,1>, and the Posit4/FixP4 mix (half the rows posit<4,1>, the rest fixed-point 4-bit).
DEFAULT_SCHEMES = ("fixed:4", "fixed:8", "sp2:4", "msq:4:0.5", "posit:4:0", "posit:4:1", "posit+fixed:4:1:4")
DEFAULT_ACT_BITS = 8


def pareto_front(cost: Sequence[float], accuracy: Sequence[float]) -> np.ndarray:
    """Bool per point: no other point costs at most as much and is at least as accurate, better in one."""
    from .._util.pareto import pareto_min

    return pareto_min(cost, -np.asarray(accuracy, dtype=float))


@dataclass
class QuantStudy(SavedStudy):
    """The study's table (one row per scheme) and how it was run."""

    model: str
    table: pd.DataFrame
    meta: dict = field(default_factory=dict)

    def markdown(self) -> str:
        t = self.table
        cols = ["scheme", "mac", "accuracy", *(["ptq_accuracy"] if "ptq_accuracy" in t else []), "hardware_accuracy",
                "latency_s", "energy_j", "mac_energy_j", "mac_energy_random_j", "area_mm2", "pe_array_mm2",
                "pareto_energy", "pareto_mac_energy", "pareto_area"]
        shown = t[cols].copy()
        for c in ("accuracy", "ptq_accuracy", "hardware_accuracy"):
            if c in shown:
                shown[c] = (100 * shown[c]).map("{:.2f} %".format)
        shown["latency_s"] = (shown.latency_s * 1e6).map("{:.3f}".format)
        for c in ("energy_j", "mac_energy_j", "mac_energy_random_j"):
            shown[c] = (shown[c] * 1e9).map("{:.3f}".format)
        for c in ("area_mm2", "pe_array_mm2"):
            shown[c] = shown[c].map("{:.4f}".format)
        shown = shown.rename(columns={"latency_s": "latency µs", "energy_j": "energy nJ", "mac_energy_j": "MAC nJ",
                                      "mac_energy_random_j": "MAC nJ (random codes)", "area_mm2": "area mm²",
                                      "pe_array_mm2": "PE array mm²", "pareto_energy": "Pareto (energy)",
                                      "pareto_mac_energy": "Pareto (MAC energy)", "pareto_area": "Pareto (area)"})
        m = self.meta
        lines = [f"# Quantization study: {self.model}", "",
                 f"`{m['command']}`", "",
                 f"Float accuracy {100 * m['float_accuracy']:.2f} % on {m['data']}; activations {m['act_bits']}-bit "
                 f"fixed point; {'fine-tuned (' + m['finetune'] + ')' if m['finetune'] else 'post-training'}"
                 f"; accelerator {m['config']} with each scheme's MAC. Took {m['seconds']:.1f} s.", "",
                 shown.to_markdown(index=False), ""]
        return "\n".join(lines)

    def figures(self):
        from matplotlib.figure import Figure

        t = self.table
        figs = {}
        for name, col, label, scale in (
                ("accuracy_vs_energy.png", "energy_j", "energy per inference [nJ]", 1e9),
                ("accuracy_vs_mac_energy.png", "mac_energy_j", "PE-array (MAC) energy per inference [nJ]", 1e9),
                ("accuracy_vs_area.png", "pe_array_mm2", "PE-array area [mm²] (the rest is the same for all)", 1.0)):
            fig = Figure(figsize=(6.4, 4.4), layout="constrained")
            ax = fig.subplots()
            x, y = t[col].to_numpy() * scale, 100 * t.accuracy.to_numpy()
            front = pareto_front(x, y)
            ax.scatter(x[~front], y[~front], color="0.55", label="dominated")
            ax.scatter(x[front], y[front], color="C3", label="Pareto front", zorder=3)
            order = np.argsort(x[front])
            ax.step(x[front][order], y[front][order], where="post", color="C3", alpha=0.6)
            for xi, yi, s in zip(x, y, t.scheme, strict=True):
                ax.annotate(s, (xi, yi), textcoords="offset points", xytext=(4, 3), fontsize=8)
            ax.axhline(100 * self.meta["float_accuracy"], color="0.3", ls=":", lw=1, label="float")
            ax.set_xlabel(label)
            ax.set_ylabel("top-1 accuracy [%]")
            ax.set_title(f"{self.model}: accuracy vs {label.split(' [')[0].split(' per')[0]}")
            ax.legend(fontsize=8)
            figs[name] = fig
        return figs


def _check_schemes(schemes) -> list[str]:
    from ..formats import parse_quant
    from ..mac import make_mac

    if isinstance(schemes, str):
        schemes = [s for s in schemes.split(",") if s.strip()]
    if not schemes:
        raise ValueError("schemes is empty: give at least one quantization scheme")
    specs = []
    for s in schemes:
        spec = parse_quant(s) if isinstance(s, str) else s
        kind, params = spec.default_mac()
        try:
            make_mac(kind, **params)
        except (TypeError, ValueError) as e:
            raise ValueError(f"quant {str(spec)!r} needs a {kind} MAC, which cannot be built: {e}") from None
        specs.append(str(spec))
    dupes = sorted({s for s in specs if specs.count(s) > 1})
    if dupes:
        raise ValueError(f"schemes lists {', '.join(dupes)} more than once")
    return specs


def quant_study(model, schemes: Sequence[str] | str = DEFAULT_SCHEMES, *, arch=None, act_bits: int = DEFAULT_ACT_BITS,
                finetune: int | None = None, exclude=None, data=None, train_data=None, progress: bool = False,
                command: str | None = None) -> QuantStudy:
    """Run the study (module docstring) of ``model`` (a registry name with data, a model file with ``eval_data``
    or ``evaluate``, or a torch module with ``data``; a module is deep-copied per scheme) over ``schemes``.

    Columns: scheme, mac, accuracy (top-1 of the torch path), hardware_accuracy (the integer path on the
    simulated MAC: equal unless accumulators overflow), float_accuracy, overflows (accumulator results that
    wrapped or saturated on the evaluation data), [ptq_accuracy when fine-tuning], latency_s, cycles, energy_j,
    mac_energy_j (gate-level, own codes), mac_energy_random_j (the same MACs at uniform random codes), area_mm2,
    pe_array_mm2, weight_bits,
    pareto_energy / pareto_mac_energy / pareto_area (on the accuracy-vs-energy / -MAC-energy / -PE-array-area
    fronts).
    """
    import copy

    import torch
    from tqdm import tqdm

    from .._simulate import _resolve_arch, _run
    from ..frontend import capture, prepare_model
    from ..frontend._data import top1
    from ..frontend._integer import integer_model, integer_overflows
    from ..sim import mac_for_workload, mac_text

    specs = _check_schemes(schemes)
    if isinstance(act_bits, bool) or not isinstance(act_bits, int) or not 2 <= act_bits <= 32:
        raise ValueError(f"act_bits must be an integer in [2, 32], not {act_bits!r}")
    base_cfg = _resolve_arch(arch)
    is_module = isinstance(model, torch.nn.Module)
    from ..frontend._data import as_batches

    example = None
    if data is not None:  # read once: an iterator or generator function is consumed here
        data = as_batches(data, "data")
    if train_data is not None:
        train_data = as_batches(train_data, "train_data")
    if is_module:
        if data is None:
            raise ValueError(f"a {type(model).__name__} model needs data=(x, y) for the study")
        example = tuple(a[:1] for a in data[0][0])
    start = time.perf_counter()
    rows, meta = [], {}
    for spec in tqdm(specs, desc="schemes", unit="scheme", disable=None if progress else True):
        source = copy.deepcopy(model) if is_module else model
        p = prepare_model(source, quant=spec, act_bits=act_bits, finetune=finetune, example_args=example,
                          exclude=exclude, evaluate=True, data=data, train_data=train_data)
        ptq = None
        if finetune is not None:
            q = prepare_model(copy.deepcopy(model) if is_module else model, quant=spec, act_bits=act_bits,
                              example_args=example, exclude=exclude, evaluate=True, data=data, train_data=train_data)
            ptq = q.accuracy
        workload = capture(p.model, p.args, p.kwargs, name=p.name)
        cfg, _ = mac_for_workload(workload, base_cfg)
        hardware = integer_model(p.model, cfg.array.mac.unit)  # the simulated MAC, accumulator included
        hw_acc, _ = top1(hardware, p.data)
        _, totals, tables = _run(workload, cfg, "data")
        gemms = [op for op in workload.gemms if op.quant is not None]
        row = {
            "scheme": spec, "mac": mac_text(cfg.array.mac), "accuracy": p.accuracy, "hardware_accuracy": hw_acc,
            "float_accuracy": p.float_accuracy, "overflows": integer_overflows(hardware)[0],
            **({"ptq_accuracy": ptq} if finetune is not None else {}),
            "latency_s": totals["latency_s"], "cycles": totals["cycles"], "energy_j": totals["energy_j"],
            "mac_energy_j": totals["energy_by_component_j"]["mac"],
            "mac_energy_random_j": totals["mac_energy_random_j"],
            "area_mm2": totals["area_mm2"], "pe_array_mm2": tables.area_mm2["pe_array"],
            "weight_bits": max((op.quant.w_bits for op in gemms), default=None),
        }
        rows.append(row)
        meta = {"data": p.data.source, "float_accuracy": p.float_accuracy, "config": cfg.name, "name": p.name}
    table = pd.DataFrame(rows)
    table["pareto_energy"] = pareto_front(table.energy_j, table.accuracy)
    table["pareto_mac_energy"] = pareto_front(table.mac_energy_j, table.accuracy)
    table["pareto_area"] = pareto_front(table.pe_array_mm2, table.accuracy)
    name = meta.get("name", str(model))
    meta.update(act_bits=act_bits, finetune=None if finetune is None else str(finetune), schemes=specs,
                seconds=time.perf_counter() - start,
                command=command or shlex.join([
                    "hwsim", "study", "quant", name, "--schemes", ",".join(specs),
                    *(["--finetune", str(finetune)] if isinstance(finetune, int) else []),
                    *(["--act-bits", str(act_bits)] if act_bits != DEFAULT_ACT_BITS else [])]))
    return QuantStudy(model=name, table=table, meta=meta)
