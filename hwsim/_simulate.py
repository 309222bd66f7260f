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


def _resolve_workload(model, prune, quant, example_args, example_kwargs, exclude, allow_unmapped) -> Workload:
    if isinstance(model, Workload) or (isinstance(model, str | os.PathLike) and str(model).endswith(".npz")):
        given = [n for n, v in (("prune", prune), ("quant", quant), ("exclude", exclude),
                                ("example_args", example_args), ("example_kwargs", example_kwargs)) if v]
        if given:
            raise ValueError(f"{', '.join(given)}: only for models; a captured workload is already compressed")
        if isinstance(model, Workload):
            return model
        if not Path(model).is_file():
            raise ValueError(f"workload file {str(model)!r} does not exist")
        return Workload.load(model)
    from .frontend import capture, prepare_model

    module, args, kwargs, name = prepare_model(model, prune=prune, quant=quant, example_args=example_args,
                                               example_kwargs=example_kwargs, exclude=exclude)
    return capture(module, args, kwargs, name=name, strict=not allow_unmapped)


def dense_baseline(workload: Workload) -> Workload:
    """The same workload with every pruning mask removed (all weights kept)."""
    ops = [dataclasses.replace(op, mask=None, block=None, density=1.0) if isinstance(op, GemmOp) else op
           for op in workload]
    return Workload(ops, workload.arrays, workload.meta)


def _run(workload: Workload, cfg: AcceleratorConfig, progress: bool):
    from .cost import cost_tables, op_energy_pj, total_energy_j
    from .sim import simulate_workload

    results = simulate_workload(workload, cfg, progress=progress)
    tables = cost_tables(cfg)
    energies = [op_energy_pj(r.actions, r.cycles, tables, cfg.clock_mhz) for r in results]
    rows = []
    for r, e in zip(results, energies, strict=True):
        rows.append({
            "name": r.name, "kind": r.kind, "op": r.op, "shape": r.shape, "density": round(r.density, 4),
            "format": r.fmt, "cycles": r.cycles, "compute_cycles": r.compute_cycles, "stall_cycles": r.stall_cycles,
            "utilization": round(r.utilization, 4), "macs": r.macs, "dram_bytes": r.dram_bytes,
            **{f"energy_{k}_pj": v for k, v in e.by_component.items()}, "energy_pj": e.total,
        })
    layers = pd.DataFrame(rows)
    cycles = int(layers.cycles.sum())
    latency = cycles * (1 / (cfg.clock_mhz * 1e6))  # seconds per cycle x cycles
    energy_by = total_energy_j(energies)
    energy = energy_by.total
    pe_cycles = sum(r.pe_cycles for r in results)
    totals = {
        "cycles": cycles, "stall_cycles": int(layers.stall_cycles.sum()), "latency_s": latency,
        "throughput_inf_per_s": 1 / latency if latency else 0.0, "energy_j": energy,
        "power_w": energy / latency if latency else 0.0, "area_mm2": tables.total_area_mm2,
        "macs": float(layers.macs.sum()), "dense_macs": workload.total_macs,
        "utilization": float(layers.macs.sum()) / pe_cycles if pe_cycles else 0.0,
        "dram_bytes": float(layers.dram_bytes.sum()), "energy_by_component_j": dict(energy_by.by_component),
    }
    return layers, totals, tables


def simulate(model, arch=None, *, prune: str | None = None, quant: str | None = None, baseline: str | None = None,
             example_args=None, example_kwargs=None, exclude=None, allow_unmapped: bool = False,
             progress: bool = False):
    """Simulate a model on an accelerator; returns a `hwsim.report.Report`.

    ``model``: a `Workload`, a saved workload (``.npz``), a registry name, a ``.py`` file defining ``model`` and
    ``example_args``, or a torch module (with ``example_args``). ``arch``: an `AcceleratorConfig` or a YAML
    file (default: the built-in default). ``prune``/``quant``: spec strings applied before capture.
    ``baseline="dense"`` also simulates the unpruned workload and reports ``speedup`` and ``energy_ratio``.
    ``exclude``: parameter-name patterns left dense and unquantized; ``allow_unmapped``: ops with no hardware
    mapping are left out of the totals (and named in ``report.notes``) instead of failing.

    Without ``arch`` the default accelerator gets the MAC the workload's quantization needs
    (`hwsim.sim.mac_for_workload`, recorded in ``report.meta["mac"]`` and config.yaml); with ``arch``, a MAC
    that cannot run a layer's format raises ValueError naming the layer, the format and the MAC. The report's
    ``compression`` table and ``notes`` say what was applied per layer and what saves no cycles here.
    """
    from .report import Report

    if baseline not in (None, "dense"):
        raise ValueError(f"baseline must be 'dense' or None, not {baseline!r}")
    if not isinstance(allow_unmapped, bool):
        raise TypeError(f"allow_unmapped must be True or False, not {allow_unmapped!r}")
    cfg = _resolve_arch(arch)
    if arch is None and quant:  # a scheme no MAC can run fails before minutes of capture, not after
        from .formats import parse_quant
        from .mac import make_mac

        kind, params = parse_quant(quant).default_mac()
        try:
            make_mac(kind, **params)
        except (TypeError, ValueError) as e:
            raise ValueError(f"quant {quant!r} needs a {kind} MAC, which cannot be built: {e}") from None
    workload = _resolve_workload(model, prune, quant, example_args, example_kwargs, exclude, allow_unmapped)
    from .sim import activation_gemm_note, compression_notes, compression_table, mac_for_workload

    if arch is None:  # the default accelerator with the MAC the workload's formats need
        cfg, mac_note = mac_for_workload(workload, cfg)
    else:
        from .sim import mac_text

        where = "the given config" if isinstance(arch, AcceleratorConfig) else str(arch)
        mac_note = f"MAC {mac_text(cfg.array.mac)} from {where}"
    notes = []
    unmapped = [op for op in workload if op.kind == "unmapped"]
    if unmapped and allow_unmapped:  # run what maps; say what does not
        workload = Workload([op for op in workload if op.kind != "unmapped"], workload.arrays, workload.meta)
        kinds = sorted({op.target for op in unmapped})
        notes.append(f"{len(unmapped)} unmapped ops ({', '.join(kinds[:5])}{', ...' if len(kinds) > 5 else ''}) "
                     "have no hardware mapping and are left out of every total")
    compression = pd.DataFrame(compression_table(workload, cfg))  # also checks every layer against the MAC
    notes = compression_notes(compression.to_dict(orient="records"), cfg, mac_chosen=arch is None) + notes
    act_note = activation_gemm_note(workload, cfg)
    if act_note:
        notes.append(act_note)
    layers, totals, tables = _run(workload, cfg, progress)
    base = None
    if baseline == "dense":
        _, dense, _ = _run(dense_baseline(workload), cfg, False)
        base = {"cycles": dense["cycles"], "energy_j": dense["energy_j"], "latency_s": dense["latency_s"],
                "speedup": dense["cycles"] / totals["cycles"], "energy_ratio": dense["energy_j"] / totals["energy_j"]}
    meta = {"config": cfg.name, "mac": mac_note, "prune": prune, "quant": quant, "exclude": exclude,
            "workload_ops": len(workload), "cost_sources": dict(tables.sources)}
    return Report(model=str(workload.meta.get("model", "model")), layers=layers, totals=totals,
                  area=dict(tables.area_mm2), config_yaml=dump_config(cfg), baseline=base, meta=meta,
                  compression=compression, notes=notes)
