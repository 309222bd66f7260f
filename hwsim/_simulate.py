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


def _allocation_outcome(allocation: dict, totals: dict, dense: dict) -> dict:
    """An auto prune spec's record (`hwsim.frontend._auto`) with the fraction of the dense model's metric this
    simulation measured beside the one the allocation predicted, and a one-line note saying both."""
    metric = allocation.get("metric")
    if metric not in ("latency", "energy", "macs"):
        raise ValueError(f"unknown metric {metric!r}")
    key = {"latency": "cycles", "energy": "energy_j"}.get(metric)
    measured = totals["macs"] / totals["dense_macs"] if metric == "macs" else totals[key] / dense[key]
    out = {**allocation, "measured_fraction": measured}
    layers = allocation.get("layers") or []
    kept = sum(r["blocks_kept"] for r in layers) / max(sum(r["blocks_total"] for r in layers), 1)
    predicted = allocation.get("predicted_fraction", float("nan"))
    out["note"] = (f"{allocation.get('spec')}: {len(layers)} layers' densities chosen by "
                   f"{'the DP' if allocation.get('solver') == 'dp' else 'the LPViT search'} ({100 * kept:.1f} % of "
                   f"their blocks kept); {metric} {measured:.4f} of the dense model's on this accelerator "
                   f"(budget {allocation.get('budget')}, predicted {predicted:.4f})"
                   + (f"; output distortion measured on {allocation['distortion_inputs']}"
                      if allocation.get("distortion_inputs") else ""))
    return out


def _allocation_config(cfg: AcceleratorConfig, arch, quant) -> AcceleratorConfig:
    """The accelerator an ``auto:`` prune spec allocates on: the simulated one. Without ``arch`` that is the
    default config with the MAC ``quant`` needs (as `mac_for_workload` will choose it, at the default activation
    width: the allocation runs before activations are calibrated)."""
    if arch is not None or not quant:
        return cfg
    from .formats import parse_quant
    from .sim._datapath import with_scheme_mac

    return with_scheme_mac(cfg, parse_quant(quant), cfg.array.mac.unit.x_bits)


def _resolve_workload(model, prune, quant, example_args, example_kwargs, exclude, allow_unmapped, act_bits=None,
                      finetune=None, evaluate=False, baseline=None, data=None, train_data=None, cache=True,
                      arch=None):
    """(workload, the `Prepared` model or None, what the workload cache did or None for a saved workload)."""
    if isinstance(model, Workload) or (isinstance(model, str | os.PathLike) and str(model).endswith(".npz")):
        given = [n for n, v in (("prune", prune), ("quant", quant), ("exclude", exclude),
                                ("example_args", example_args), ("example_kwargs", example_kwargs),
                                ("act_bits", act_bits), ("finetune", finetune), ("data", data),
                                ("train_data", train_data)) if v is not None and v is not False]
        if given:
            raise ValueError(f"{', '.join(given)}: only for models; a captured workload is already compressed")
        if cache is False:
            raise ValueError("cache=False: only for models; a captured workload is read as it is, never cached")
        if evaluate:
            raise ValueError("evaluate needs the model: a captured workload has no weights to run on data")
        if isinstance(model, Workload):
            return model, None, None
        if not Path(model).is_file():
            raise ValueError(f"workload file {str(model)!r} does not exist")
        return Workload.load(model), None, None
    from .frontend._load import check_request
    from .frontend._workload_cache import workload_for

    request = check_request(prune=prune, quant=quant, act_bits=act_bits, finetune=finetune, exclude=exclude,
                            evaluate=evaluate, evaluate_baseline=evaluate and baseline == "dense", data=data,
                            train_data=train_data, arch=arch)
    return workload_for(model, request, example_args=example_args, example_kwargs=example_kwargs,
                        strict=not allow_unmapped, cache=cache)


def _accuracy(p, mac_unit, notes: list[str]) -> dict:
    """The report's accuracy record: the torch path's and, when every quantized layer's activations are codes,
    the integer path's on the simulated MAC (with its accumulator overflows)."""
    from .frontend import quant_info
    from .frontend._data import top1
    from .frontend._integer import integer_model, integer_overflows

    out = {"accuracy": p.accuracy, "float_accuracy": p.float_accuracy, "data": p.data.source,
           "samples": None if p.predictions is None else int(p.predictions.shape[0]),
           "baseline_accuracy": p.baseline_accuracy, "hardware_accuracy": None, "overflows": None}
    records = quant_info(p.model)
    if records and all(q.act_format is not None for q in records.values()):
        hardware = integer_model(p.model, mac_unit)
        out["hardware_accuracy"], _ = top1(hardware, p.data)
        out["overflows"], total = integer_overflows(hardware)
        if out["overflows"]:
            notes.append(f"{out['overflows']} of {total} accumulator results overflowed the MAC's acc_bits on the "
                         f"evaluation data: hardware accuracy {100 * out['hardware_accuracy']:.2f} % against "
                         f"{100 * p.accuracy:.2f} % for the float-accumulating torch model")
    else:
        notes.append("accuracy from the torch model: "
                     + ("the model is not quantized" if not records else "activations are not quantized (give "
                        "act_bits)") + ", so there is no integer path to run")
    return out


def dense_baseline(workload: Workload) -> Workload:
    """The same workload with every pruning mask removed (all weights kept)."""
    ops = [dataclasses.replace(op, mask=None, block=None, density=1.0) if isinstance(op, GemmOp) else op
           for op in workload]
    return Workload(ops, workload.arrays, workload.meta)


MAC_ACTIVITIES = ("data", "random")


def _layer_tables(workload: Workload, cfg: AcceleratorConfig, tables, mac_activity: str):
    """Per op, the cost tables that price it, and the MAC energies the ops' own codes gave (name -> pJ/MAC).

    With ``mac_activity="data"`` a quantized GEMM whose activation codes were sampled gets the MAC energy of its
    own (weight, activation) code pairs (`hwsim.cost.layer_mac_energy`; on N:M PEs plus the mux's random-activity
    share); every other op keeps the table's uniform-random entry."""
    from .cost import layer_mac_energy, mac_energy

    per_op, used = [], {}
    key = ("pe_array", "mac")
    unit = cfg.array.mac.unit
    # N:M PEs: the layer's codes drive the MAC; the activation mux adds what it costs at random activity (the
    # table's N:M PE entry less the bare MAC's)
    mux_pj = 0.0 if cfg.array.nm_group == 1 else tables.energy_pj[key] - mac_energy(unit).dynamic_pj_per_mac
    for op in workload:
        t = tables
        if mac_activity == "data" and isinstance(op, GemmOp) and op.act_codes is not None:
            e = layer_mac_energy(unit, op, workload)
            if e is not None:
                pj = e.dynamic_pj_per_mac + mux_pj
                t = dataclasses.replace(tables, energy_pj={**tables.energy_pj, key: pj})
                used[op.name] = pj
        per_op.append(t)
    return per_op, used


def _run(workload: Workload, cfg: AcceleratorConfig, mac_activity: str = "data"):
    from .cost import cost_tables, op_energy_pj, total_energy_j
    from .sim import simulate_workload

    # no bar of its own: it takes a fraction of a second, and a bar nested in the job's "simulate" phase line
    # would write cursor movements to a pipe
    results = simulate_workload(workload, cfg)
    tables = cost_tables(cfg)
    op_tables, data_macs = _layer_tables(workload, cfg, tables, mac_activity)
    if len(op_tables) != len(results):  # pragma: no cover - simulate_workload keeps one result per op
        raise RuntimeError("simulate_workload returned a result count different from the workload's ops")
    energies = [op_energy_pj(r.actions, r.cycles, t, cfg.clock_mhz) for r, t in zip(results, op_tables, strict=True)]
    random_mac_pj = tables.energy_pj["pe_array", "mac"]
    rows = []
    for r, e in zip(results, energies, strict=True):
        rows.append({
            "name": r.name, "kind": r.kind, "op": r.op, "shape": r.shape, "density": round(r.density, 4),
            "format": r.fmt, "cycles": r.cycles, "compute_cycles": r.compute_cycles, "stall_cycles": r.stall_cycles,
            "utilization": round(r.utilization, 4), "macs": r.macs, "dram_bytes": r.dram_bytes,
            **{f"energy_{k}_pj": v for k, v in e.by_component.items()}, "energy_pj": e.total,
            "mac_pj_per_mac": data_macs.get(r.name, random_mac_pj if r.kind == "gemm" else 0.0),
            "mac_activity": "data" if r.name in data_macs else ("random" if r.kind == "gemm" else ""),
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
        # the PE array's energy had every MAC cost the uniform-random table entry: how much real codes move it
        "mac_energy_random_j": float((layers.macs * (layers.kind == "gemm")).sum()) * random_mac_pj * 1e-12,
        "mac_activity_layers": len(data_macs),
    }
    return layers, totals, tables


def simulate(model, arch=None, *, prune: str | None = None, quant: str | None = None, baseline: str | None = None,
             example_args=None, example_kwargs=None, exclude=None, allow_unmapped: bool = False,
             act_bits: int | None = None, finetune=None, evaluate: bool = False, data=None, train_data=None,
             mac_activity: str = "data", lut: str | None = None, progress: bool = False, cache: bool = True):
    """Simulate a model on an accelerator; returns a `hwsim.report.Report`.

    ``model``: a `Workload`, a saved workload (``.npz``), a registry name, a ``.py`` file defining ``model`` and
    ``example_args``, or a torch module (with ``example_args``). ``arch``: an `AcceleratorConfig` or a YAML
    file (default: the built-in default). ``prune``/``quant``: spec strings applied before capture.
    ``baseline="dense"`` also simulates the unpruned workload and reports ``speedup`` and ``energy_ratio``.
    ``exclude``: parameter-name patterns left dense and unquantized; ``allow_unmapped``: ops with no hardware
    mapping are left out of the totals (and named in ``report.notes``) instead of failing. ``act_bits``: the
    quantized layers' input activations in fixed point too (calibrated on the model's training inputs, or on
    ``example_args`` for a model without data); ``finetune``: epochs of quantization-aware fine-tuning.
    ``evaluate=True``: the top-1 accuracy on the model's held-out data (``data``/``train_data`` for a torch
    module, as in `hwsim.evaluate`) in ``report.accuracy``: the torch path's, the uncompressed model's, and,
    with quantized activations, the integer path's on the simulated MAC with its accumulator overflows.
    A registry model with data is simulated with its trained weights. ``mac_activity="data"`` (default): a layer
    whose activations are quantized costs the MAC energy of its own code pairs at gate level (`hwsim.cost.
    layer_mac_energy`; ``totals["mac_energy_random_j"]`` is what uniform random codes would have cost);
    ``"random"``: every MAC at the uniform-random table entry.

    ``cache=True``: a registry model or model file is captured once per prune/quant request and later calls
    read the workload from the disk cache (`hwsim.frontend._workload_cache`: the key covers the model's code and
    weights, the request, and the hwsim, torch and numpy versions); ``report.meta["workload_cache"]`` says
    ``hit``, ``stored`` or why it did not apply. ``cache=False`` always captures.

    ``lut="full"|"observed"``: a LUT network (the registry's LogicNets-style models, `hwsim.models.jsc.JSCNet`)
    as pipelined LUT logic (`hwsim.lut`): latency at the fmax estimated from its LUT depth, LUTs, flip-flops,
    cell area and gate-level energy per inference from synthesis of its RTL, and with ``evaluate`` the accuracy
    of the minimized logic (``observed``: only the training split's patterns specified, NullaNet).
    ``baseline="mac"`` then also runs the same network on the MAC engine (``arch``) for the side-by-side.

    Without ``arch`` the default accelerator gets the MAC the workload's quantization needs
    (`hwsim.sim.mac_for_workload`, recorded in ``report.meta["mac"]`` and config.yaml); with ``arch``, a MAC
    that cannot run a layer's format raises ValueError naming the layer, the format and the MAC. The report's
    ``compression`` table and ``notes`` say what was applied per layer and what saves no cycles here.
    """
    from ._util import timed_phases

    with timed_phases(show=progress) as timings:
        report = _simulate(model, arch, prune, quant, baseline, example_args, example_kwargs, exclude, allow_unmapped,
                           act_bits, finetune, evaluate, data, train_data, mac_activity, lut, progress, cache)
    report.meta["timings_s"] = {k: round(v, 4) for k, v in timings.items()}
    return report


def _simulate(model, arch, prune, quant, baseline, example_args, example_kwargs, exclude, allow_unmapped, act_bits,
              finetune, evaluate, data, train_data, mac_activity, lut, progress, cache):
    from ._util import phase
    from .report import Report

    if mac_activity not in MAC_ACTIVITIES:
        raise ValueError(f"mac_activity must be one of {', '.join(MAC_ACTIVITIES)}, not {mac_activity!r}")
    if lut is not None:
        given = [n for n, v in (("prune", prune), ("quant", quant), ("exclude", exclude), ("act_bits", act_bits),
                                ("finetune", finetune), ("example_args", example_args),
                                ("example_kwargs", example_kwargs)) if v is not None]
        if allow_unmapped:
            given.append("allow_unmapped")
        if given:
            raise ValueError(f"{', '.join(given)}: not for lut=; a LUT network is already fan-in-constrained and "
                             "quantized, and runs as logic")
        if cache is False:
            raise ValueError("cache=False: not for lut=; a LUT network is built as logic, not captured, so "
                             "nothing is cached")
        from .lut._simulate import simulate_lut

        return simulate_lut(model, lut, evaluate=evaluate, baseline=baseline, arch=arch, data=data,
                            train_data=train_data, mac_activity=mac_activity)
    if baseline == "mac":
        raise ValueError("baseline 'mac' compares a LUT network's logic with the MAC engine: give lut='full' or "
                         "'observed'")
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
    workload, prepared, cached = _resolve_workload(model, prune, quant, example_args, example_kwargs, exclude,
                                                   allow_unmapped, act_bits, finetune, evaluate, baseline, data,
                                                   train_data, cache, arch)
    if len(workload) == 0:
        raise ValueError(f"the workload of {workload.meta.get('model', 'the model')} has no ops: nothing to simulate")
    from .sim import activation_gemm_note, compression_notes, compression_table, mac_for_workload

    if arch is None:  # the default accelerator with the MAC the workload's formats need
        cfg, mac_note = mac_for_workload(workload, cfg)
    else:
        from .sim import mac_text

        where = "the given config" if isinstance(arch, AcceleratorConfig) else str(arch)
        mac_note = f"MAC {mac_text(cfg.array.mac)} from {where}"
    notes = []
    accuracy = _accuracy(prepared, cfg.array.mac.unit, notes) if evaluate else None
    unmapped = [op for op in workload if op.kind == "unmapped"]
    if unmapped and allow_unmapped:  # run what maps; say what does not
        workload = Workload([op for op in workload if op.kind != "unmapped"], workload.arrays, workload.meta)
        if len(workload) == 0:
            raise ValueError("every op of the workload is unmapped: nothing is left to simulate")
        kinds = sorted({op.target for op in unmapped})
        notes.append(f"{len(unmapped)} unmapped ops ({', '.join(kinds[:5])}{', ...' if len(kinds) > 5 else ''}) "
                     "have no hardware mapping and are left out of every total")
    compression = pd.DataFrame(compression_table(workload, cfg))  # also checks every layer against the MAC
    notes = compression_notes(compression.to_dict(orient="records"), cfg, mac_chosen=arch is None) + notes
    if mac_activity == "data" and any(isinstance(op, GemmOp) and op.act_codes is not None for op in workload):
        notes.append("MAC energy of the layers with quantized activations from gate-level toggles of their own "
                     "weight and activation codes (totals.mac_energy_random_j: the same MACs at uniform random "
                     "codes); the others at uniform random codes")
    act_note = activation_gemm_note(workload, cfg)
    if act_note:
        notes.append(act_note)
    with phase("simulate"):
        layers, totals, tables = _run(workload, cfg, mac_activity)
    base = dense = None
    allocation = workload.meta.get("allocation")
    if baseline == "dense" or isinstance(allocation, dict):
        with phase("simulate dense baseline"):
            _, dense, _ = _run(dense_baseline(workload), cfg, mac_activity)
    if isinstance(allocation, dict):
        try:
            allocation = _allocation_outcome(allocation, totals, dense)
        except (KeyError, TypeError, ValueError, ZeroDivisionError):  # a workload file's meta is free-form
            allocation = {**allocation, "note": "the workload's meta.allocation is not an auto-pruning record hwsim "
                                                "can read: its budget is not checked"}
        notes.append(allocation["note"])
    if baseline == "dense":
        base = {"cycles": dense["cycles"], "energy_j": dense["energy_j"], "latency_s": dense["latency_s"],
                "speedup": dense["cycles"] / totals["cycles"], "energy_ratio": dense["energy_j"] / totals["energy_j"]}
        if accuracy is not None:  # the dense baseline quantized alike, not pruned
            base["accuracy"] = accuracy["baseline_accuracy"]
    meta = {"config": cfg.name, "mac": mac_note, "prune": prune, "quant": quant, "exclude": exclude,
            "act_bits": act_bits, "mac_activity": mac_activity, "finetune": None if finetune is None else str(finetune),
            "workload_ops": len(workload), "workload_cache": cached, "cost_sources": dict(tables.sources)}
    if allocation is not None:
        meta["allocation"] = allocation
    return Report(model=str(workload.meta.get("model", "model")), layers=layers, totals=totals,
                  area=dict(tables.area_mm2), config_yaml=dump_config(cfg), baseline=base, meta=meta,
                  compression=compression, notes=notes, accuracy=accuracy)
