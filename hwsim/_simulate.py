"""`hwsim.simulate`: from a (pruned, quantized) model or a saved workload to latency, energy and area."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pandas as pd

from .arch import AcceleratorConfig, dump_config, load_config
from .workload import GemmOp, Workload


def _resolve_arch(arch) -> AcceleratorConfig:
    if arch is None:
        return AcceleratorConfig()
    if isinstance(arch, AcceleratorConfig):
        return arch
    if isinstance(arch, str | os.PathLike):
        return load_config(arch)
    raise TypeError(f"arch must be an AcceleratorConfig or a YAML path, not {type(arch).__name__}")


def _resolve_workload(model, prune, quant, example_args) -> Workload:
    if isinstance(model, Workload):
        if prune or quant:
            raise ValueError("prune and quant apply to models; a captured Workload is already compressed")
        return model
    if isinstance(model, str | os.PathLike) and str(model).endswith(".npz"):
        if prune or quant:
            raise ValueError("prune and quant apply to models; a saved workload is already compressed")
        if not Path(model).is_file():
            raise ValueError(f"workload file {str(model)!r} does not exist")
        return Workload.load(model)
    from .frontend import capture
    from .frontend._load import prepare_model

    module, args, kwargs, name = prepare_model(model, prune=prune, quant=quant, example_args=example_args)
    return capture(module, args, kwargs, name=name)


def dense_baseline(workload: Workload) -> Workload:
    """The same workload with every pruning mask removed (all weights kept)."""
    ops = [dataclasses.replace(op, mask=None, block=None, density=1.0) if isinstance(op, GemmOp) else op
           for op in workload]
    return Workload(ops, workload.arrays, workload.meta)


def _run(workload: Workload, cfg: AcceleratorConfig, progress: bool):
    from .cost import cost_tables, op_energy_pj
    from .sim._model import simulate_workload

    results = simulate_workload(workload, cfg, progress=progress)
    tables = cost_tables(cfg)
    seconds_per_cycle = 1 / (cfg.clock_mhz * 1e6)
    rows = []
    for r in results:
        e = op_energy_pj(r.counts, r.macs, tables)
        e["leakage"] = tables.leakage_w * r.cycles * seconds_per_cycle * 1e12
        rows.append({
            "name": r.name, "kind": r.kind, "op": r.op, "shape": r.shape, "density": round(r.density, 4),
            "format": r.fmt, "cycles": r.cycles, "compute_cycles": r.compute_cycles, "stall_cycles": r.stall_cycles,
            "utilization": round(r.utilization, 4), "macs": r.macs,
            "dram_bytes": r.counts.get("dram_read_bytes", 0.0) + r.counts.get("dram_write_bytes", 0.0),
            **{f"energy_{k}_pj": v for k, v in e.items()}, "energy_pj": sum(e.values()),
        })
    layers = pd.DataFrame(rows)
    cycles = int(layers.cycles.sum())
    latency = cycles * seconds_per_cycle
    energy_by = {k: float(layers[f"energy_{k}_pj"].sum()) * 1e-12 for k in ("mac", "sram", "dram", "vector",
                                                                          "leakage")}
    energy = sum(energy_by.values())
    pe_cycles = sum(r.pe_cycles for r in results)
    totals = {
        "cycles": cycles, "stall_cycles": int(layers.stall_cycles.sum()), "latency_s": latency,
        "throughput_inf_per_s": 1 / latency if latency else 0.0, "energy_j": energy,
        "power_w": energy / latency if latency else 0.0, "area_mm2": tables.total_area_mm2,
        "macs": float(layers.macs.sum()), "dense_macs": workload.total_macs,
        "utilization": float(layers.macs.sum()) / pe_cycles if pe_cycles else 0.0,
        "dram_bytes": float(layers.dram_bytes.sum()), "energy_by_component_j": energy_by,
    }
    return layers, totals, tables


def simulate(model, arch=None, *, prune: str | None = None, quant: str | None = None, baseline: str | None = None,
             example_args=None, progress: bool = False):
    """Simulate a model on an accelerator; returns a `hwsim.report.Report`.

    ``model``: a `Workload`, a saved workload (``.npz``), a registry name, a ``.py`` file defining ``model`` and
    ``example_args``, or a torch module (with ``example_args``). ``arch``: an `AcceleratorConfig` or a YAML
    file (default: the built-in default). ``prune``/``quant``: spec strings applied before capture.
    ``baseline="dense"`` also simulates the unpruned workload and reports ``speedup`` and ``energy_ratio``.
    """
    from .report import Report

    if baseline not in (None, "dense"):
        raise ValueError(f"baseline must be 'dense' or None, not {baseline!r}")
    cfg = _resolve_arch(arch)
    workload = _resolve_workload(model, prune, quant, example_args)
    layers, totals, tables = _run(workload, cfg, progress)
    base = None
    if baseline == "dense":
        _, dense, _ = _run(dense_baseline(workload), cfg, False)
        base = {"cycles": dense["cycles"], "energy_j": dense["energy_j"], "latency_s": dense["latency_s"],
                "speedup": dense["cycles"] / totals["cycles"], "energy_ratio": dense["energy_j"] / totals["energy_j"]}
    meta = {"config": cfg.name, "prune": prune, "quant": quant, "workload_ops": len(workload),
            "cost_sources": tables.sources}
    return Report(model=str(workload.meta.get("model", "model")), layers=layers, totals=totals,
                  area=dict(tables.area_mm2), config_yaml=dump_config(cfg), baseline=base, meta=meta)
