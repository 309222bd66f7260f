"""Whole-model simulation: time per model size, and the headline LPViT-style study on DeiT-B.

1. Time of one whole simulation (every GEMM, vector op and memory transfer, with costs) of DeiT-Ti/S/B on the
   default accelerator, from a captured workload, after warm-up (target: DeiT-B <= 1 s on one core).
2. --study: DeiT-B with 32x32 block pruning (L1 block saliency, per layer) and SP2-4 weights (the default engine's
   format) at several densities: speedup and
   energy reduction against the dense model on the same engine, beside LPViT's reported 3.93x.
3. --formats: DeiT-B at 50% of 32x32 blocks under each quantization scheme, each on the default accelerator with
   the MAC its format needs (`hwsim.simulate` without an arch): the format's latency, energy and area.
Usage: python benchmarks/bench_simulate.py [--study] [--formats] [--markdown]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import pandas as pd
import torch
import yaml

sys.path.insert(0, os.path.dirname(__file__))
from _util import best_time

import hwsim
from hwsim.frontend import capture, prune, quantize
from hwsim.models import create_model, model_info

LPVIT_SPEEDUP = 3.93  # LPViT (block-structured ViT pruning), reported speedup on dedicated hardware


def captured(name: str, density: float | None = None, quant: str | None = None):
    model = create_model(name)
    if density is not None and density < 1:
        prune(model, f"block:32x32:{density}")
    if quant:
        quantize(model, quant)
    return capture(model, model_info(name).example_args(), name=name)


def timing_table() -> pd.DataFrame:
    rows = []
    for name in ("deit_tiny", "deit_small", "deit_base"):
        w = captured(name, 0.5)
        hwsim.simulate(w)  # warm-up: cost tables (synthesis, gate simulation) cached on disk
        seconds = best_time(lambda w=w: hwsim.simulate(w), 3)
        rows.append({"model": name, "ops": len(w), "GEMMs": len(w.gemms), "GMAC": round(w.total_macs / 1e9, 2),
                     "simulate s": round(seconds, 3), "target s": 1.0 if name == "deit_base" else None})
    return pd.DataFrame(rows)


def study(quant: str = "sp2:4") -> pd.DataFrame:
    # quantized to the default engine's own format, so the MAC runs the model's real SP2-4 codes
    dense = hwsim.simulate(captured("deit_base", quant=quant))
    rows = []
    for density in (1.0, 0.75, 0.5, 0.35, 0.25, 0.15, 0.1, 0.05, 0.02):
        r = dense if density == 1.0 else hwsim.simulate(captured("deit_base", density, quant))
        t = r.totals
        rows.append({"kept blocks": density, "GEMM MACs kept": round(t["macs"] / t["dense_macs"], 3),
                     "cycles": int(t["cycles"]), "latency ms": round(t["latency_s"] * 1e3, 2),
                     "speedup": round(dense.totals["cycles"] / t["cycles"], 2),
                     "energy mJ": round(t["energy_j"] * 1e3, 2),
                     "energy reduction": round(dense.totals["energy_j"] / t["energy_j"], 2)})
    return pd.DataFrame(rows)


FORMATS_STUDY = ("fixed:8", "fixed:4", "sp2:4", "msq:4:0.5", "posit:4:1", "posit+fixed:4:1:4")


def formats_study(density: float = 0.5) -> pd.DataFrame:
    rows = []
    for quant in FORMATS_STUDY:
        r = hwsim.simulate(captured("deit_base", density, quant))
        t, mac = r.totals, hwsim.arch.config_from_dict(yaml.safe_load(r.config_yaml)).array.mac
        params = " ".join(f"{k}={v}" for k, v in mac.params.items() if k not in ("acc_bits", "overflow"))
        rows.append({"quant": quant, "MAC": f"{mac.kind} {params}",
                     "latency ms": round(t["latency_s"] * 1e3, 2), "energy mJ": round(t["energy_j"] * 1e3, 2),
                     "MAC mJ": round(t["energy_by_component_j"]["mac"] * 1e3, 2),
                     "DRAM mJ": round(t["energy_by_component_j"]["dram"] * 1e3, 2),
                     "DRAM MB": round(t["dram_bytes"] / 1e6, 1), "PE array mm2": round(r.area["pe_array"], 3),
                     "area mm2": round(t["area_mm2"], 3)})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", action="store_true", help="also run the DeiT-B block-pruning study")
    ap.add_argument("--formats", action="store_true", help="also run the quantization-format table on DeiT-B")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    show = (lambda t: t.to_markdown(index=False)) if args.markdown else (lambda t: t.to_string(index=False))
    t0 = time.perf_counter()
    print("## Whole-model simulation time (default accelerator, 32x32 blocks at 50%, one core)\n")
    print(show(timing_table()))
    if args.study:
        table = study()
        print("\n## DeiT-B, 32x32 block pruning, SP2-4 weights, on the default 32x32 SP2 engine, against dense\n")
        print(show(table))
        reach = table[table["speedup"] >= LPVIT_SPEEDUP]
        where = (f"first reached at {reach['kept blocks'].iloc[0]} of the blocks kept" if len(reach)
                 else "not reached at any density in the sweep")
        print(f"\nLPViT reports {LPVIT_SPEEDUP}x on dedicated hardware; on this engine that speedup is {where}.")
    if args.formats:
        print("\n## DeiT-B at 50% of 32x32 blocks: each format on the MAC it needs (default accelerator otherwise)\n")
        print(show(formats_study()))
    print(f"\n(total {time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
