"""`hwsim.simulate(model, lut=...)`: a LUT network as pipelined logic (one register per layer, a sample per
cycle): latency in cycles at the estimated fmax, LUTs, flip-flops and cell area, gate-level energy per
inference, accuracy of the logic, and with ``baseline="mac"`` the same network on the MAC engine beside it."""

from __future__ import annotations

import numpy as np

from ..workload import GemmOp, LutLayerOp, VectorOp, Workload

__all__ = ["lut_workload", "mac_workload", "simulate_lut"]

RANDOM_STIMULUS = 256  # samples of uniform random input codes when a network has no data


def lut_workload(design, cost) -> Workload:
    """The LUT network as a `Workload` of `LutLayerOp`s, one per layer, with its synthesized costs."""
    ops = [LutLayerOp(name=t.name, target="lut", mode=design.mode, neurons=t.neurons, fan_in=t.fan_in,
                      in_bits=t.in_bits, out_bits=t.out_bits, luts=c.luts, lut6=c.lut6, ffs=c.ffs, carry4=c.carry4,
                      depth=c.depth, lutcost=c.lutcost)
           for t, c in zip(design.tables, cost.layers, strict=True)]
    return Workload(ops, meta={"model": design.name, "lut_mode": design.mode})


def mac_workload(model, name: str) -> Workload:
    """The same network for the MAC engine: per layer a (1 x in) x (in x out) GEMM with the layer's masked weight,
    then batch norm and the activation as vector ops. The fan-in masks are unstructured (a few connections per
    neuron), so the block-sparse engine runs every GEMM dense."""
    ops, arrays = [], {}
    for i, blk in enumerate(model.layers):
        lin = blk.linear
        key = f"layers.{i}.linear.weight"
        arrays[key] = lin.masked_weight().detach().T.contiguous().numpy()
        ops.append(GemmOp(name=f"layers.{i}.linear", target="linear", role="linear", m=1, k=lin.in_features,
                          n=lin.out_features, weight=key))
        ops.append(VectorOp(name=f"layers.{i}.bn", target="batch_norm", op="batch_norm", elements=lin.out_features))
        ops.append(VectorOp(name=f"layers.{i}.act", target="quant_act", op="relu", elements=lin.out_features))
    return Workload(ops, arrays, {"model": name})


def _test_xy(mdata):
    import torch

    if mdata is None or not mdata.test:
        return None, None
    x = torch.cat([b[0][0] for b in mdata.test])
    y = torch.cat([b[1] for b in mdata.test])
    return x, y


def _mac_baseline_config(arch):
    """The accelerator of the MAC baseline: ``arch`` (a config or a YAML path), else the default accelerator with
    an 8-bit fixed-point MAC (the network's weights are real-valued)."""
    import dataclasses

    from .._simulate import _resolve_arch
    from ..arch import MacConfig

    if arch is not None:
        return _resolve_arch(arch)
    cfg = _resolve_arch(None)
    return dataclasses.replace(cfg, array=dataclasses.replace(
        cfg.array, mac=MacConfig(kind="fixed", params={"w_bits": 8, "x_bits": 8})))


def simulate_lut(model, mode: str, *, evaluate: bool = False, baseline: str | None = None, arch=None, data=None,
                 train_data=None, mac_activity: str = "data", use_cache: bool = True):
    """See `hwsim.simulate` (``lut=``); returns a `hwsim.report.Report`."""
    import pandas as pd

    from .._util import phase
    from ..report import Report
    from ._network import _train_inputs, design_inputs, load_lut_model, lut_cost, lut_design
    from ._tables import LUT_MODES

    if mode not in LUT_MODES:
        raise ValueError(f"lut must be one of {', '.join(LUT_MODES)}, not {mode!r}")
    if baseline not in (None, "mac"):
        raise ValueError(f"with lut=, baseline must be 'mac' (the network on the MAC engine) or None, not "
                         f"{baseline!r}")
    if arch is not None and baseline != "mac":
        raise ValueError("arch: a LUT network runs as logic, not on the accelerator; the config applies only to "
                         "baseline='mac'")
    if mac_activity != "data" and baseline != "mac":
        raise ValueError("mac_activity: a LUT network has no MACs; it applies only to baseline='mac'")
    mac_cfg = _mac_baseline_config(arch) if baseline == "mac" else None  # a bad config fails before synthesis
    module, name, mdata = load_lut_model(model, data, train_data)
    train_x = _train_inputs(mdata, name) if mode == "observed" else None
    if evaluate and (mdata is None or not mdata.test):
        raise ValueError(f"evaluate needs held-out data, and {name} has none (give data=(x, y))")
    with phase("minimize the logic (ESPRESSO)"):
        design = lut_design(module, mode, train_x, name=name, use_cache=use_cache)
    notes = []
    test_x, test_y = _test_xy(mdata)
    if test_x is not None:
        codes_in, torch_out = design_inputs(module, test_x)
        stimulus = f"the {test_x.shape[0]} held-out samples"
    else:
        rng = np.random.default_rng(0)
        lo, hi = module.input_quant.lo, module.input_quant.hi
        codes_in = rng.integers(lo, hi + 1, size=(RANDOM_STIMULUS, design.in_features))
        torch_out = None
        stimulus = f"{RANDOM_STIMULUS} uniformly random input codes ({name} has no data)"
    with phase("synthesize and simulate the gates"):
        cost = lut_cost(design, codes_in, use_cache=use_cache)
    workload = lut_workload(design, cost)
    notes.append(f"LUT network in {mode} mode: {cost.luts} LUTs ({cost.lut6} LUT6), {cost.ffs} flip-flops, "
                 f"{cost.carry4} CARRY4 from Yosys {cost.yosys} synth_xilinx (not Vivado); LogicNets' LUTCost "
                 f"estimate {cost.lutcost:,.0f}")
    zero = " (0 taken as 1: register to register)" if cost.depth == 0 else ""
    notes.append(f"fmax {cost.fmax_mhz:.0f} MHz estimated from the deepest layer's {cost.depth} logic levels at "
                 f"{cost.level_delay_ns} ns per level{zero} "
                 "(no place and route); one sample per cycle, pipelined")
    empty = [c.name for c in cost.layers if c.luts == 0]
    if empty:
        notes.append(f"{', '.join(empty)} synthesized to no LUTs: their outputs are constant or no later layer "
                     "reads them (a network with random weights often computes a constant)")
    notes.append(f"energy from gate-level toggles of the 45 nm gate netlist on {stimulus} (its outputs checked "
                 "against the minimized logic on every streamed sample)")

    throughput = cost.fmax_mhz * 1e6  # inferences per second, one per cycle
    leakage_j = cost.leakage_mw * 1e-3 / throughput
    by_component = {k: v * 1e-12 for k, v in cost.energy_breakdown_pj.items()}
    by_component["leakage"] = leakage_j
    energy = sum(by_component.values())
    latency = cost.latency_cycles / throughput
    dense_macs = sum(int(blk.linear.in_features) * int(blk.linear.out_features) for blk in module.layers)
    rows = [{"name": op.name, "kind": "lut", "op": f"{op.neurons}x LUT{op.x_bits}->{op.out_bits}",
             "shape": f"{op.neurons}x{op.x_bits}", "mode": op.mode, "cycles": 1, "compute_cycles": 1,
             "stall_cycles": 0, "luts": op.luts, "lut6": op.lut6, "ffs": op.ffs, "carry4": op.carry4,
             "depth": op.depth, "lutcost": round(op.lutcost, 1)} for op in workload]
    totals = {
        "cycles": cost.latency_cycles, "stall_cycles": 0, "latency_s": latency, "throughput_inf_per_s": throughput,
        "energy_j": energy, "power_w": energy * throughput, "area_mm2": cost.area_um2 * 1e-6,
        "macs": 0.0, "dense_macs": dense_macs, "utilization": 0.0, "dram_bytes": 0.0,
        "energy_by_component_j": by_component, "luts": cost.luts, "lut6": cost.lut6, "ffs": cost.ffs,
        "carry4": cost.carry4, "lut_depth": cost.depth, "fmax_mhz": cost.fmax_mhz, "lutcost": cost.lutcost,
        "gates": cost.gates,
    }
    accuracy = None
    if evaluate:
        logic = design.forward(codes_in)
        labels = test_y.numpy()
        acc = float((np.argmax(logic, axis=1) == labels).mean())
        torch_acc = float((np.argmax(torch_out, axis=1) == labels).mean())
        differ = int((logic != torch_out).any(axis=1).sum())
        accuracy = {"accuracy": acc, "float_accuracy": torch_acc, "hardware_accuracy": acc, "data": mdata.source,
                    "samples": int(labels.size), "baseline_accuracy": None, "overflows": None,
                    "disagreements": differ}
        notes.append(f"accuracy of the minimized logic {100 * acc:.2f} % against {100 * torch_acc:.2f} % for the "
                     f"quantized torch network ({differ} of {labels.size} samples give other output codes"
                     + ("; unseen input patterns are don't-cares in observed mode)" if mode == "observed" else ")"))
    base = None
    if baseline == "mac":
        from .._simulate import simulate

        mac = simulate(mac_workload(module, name), mac_cfg, mac_activity=mac_activity)
        mt = mac.totals
        base = {"kind": "mac", "cycles": mt["cycles"], "latency_s": mt["latency_s"], "energy_j": mt["energy_j"],
                "area_mm2": mt["area_mm2"], "throughput_inf_per_s": mt["throughput_inf_per_s"],
                "speedup": mt["latency_s"] / latency, "energy_ratio": mt["energy_j"] / energy,
                "area_ratio": mt["area_mm2"] / totals["area_mm2"], "mac": mac.meta.get("mac")}
        notes.append(f"baseline mac: the same network as dense GEMMs on the accelerator ({mac.meta.get('mac')}); "
                     "its fan-in masks are unstructured, so the block-sparse engine skips none of their zeros")
    meta = {"engine": "lut", "lut_mode": mode, "config": "LUT logic (pipelined, xc7 LUT6 mapping)",
            "cost_yosys": cost.yosys, "level_delay_ns": cost.level_delay_ns, "energy_samples": cost.energy_samples}
    return Report(model=name, layers=pd.DataFrame(rows), totals=totals, area={"logic": cost.area_um2 * 1e-6},
                  config_yaml=f"# LUT logic, not an accelerator config\nlut:\n  mode: {mode}\n  level_delay_ns: "
                              f"{cost.level_delay_ns}\n  fpga_flow: synth_xilinx -family xc7 (yosys {cost.yosys})\n",
                  baseline=base, meta=meta, compression=None, notes=notes, accuracy=accuracy)
