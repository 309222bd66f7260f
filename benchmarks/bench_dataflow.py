"""Output- against weight-stationary: whole-model cycles, energy and area of DeiT-B and a CNN (ResNet-18,
benchmarks/models/resnet18.py), dense and block-pruned, on the default accelerator with each dataflow; and the WS
engine's dense GEMM cycles beside SCALE-Sim v3's ws formula for the same layers, in the same run.

Both dataflows run the same PEs, buffers and workload (32x32 array, SP2-4 x int8, block_k = 32); only
`array.dataflow` differs. "GEMM cycles" sums the engine's compute cycles of every GEMM; "cycles" is the whole
model (vector ops and DRAM stalls included). "WS vs SCALE-Sim" is the engine's dense WS cycles of every GEMM
(one pass over M, as SCALE-Sim streams it) over `hwsim.sim.scalesim_cycles(..., "ws")` of the same GEMMs.
Block pruning is 32x32 at half density (`block:32x32:0.5:pad`: ResNet's 3-channel stem and 64-wide layers have
partial edge blocks).
Usage: python benchmarks/bench_dataflow.py [--models deit_base,resnet18] [--markdown]
"""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path

import pandas as pd

import hwsim
from hwsim.arch import AcceleratorConfig, ArrayConfig
from hwsim.frontend import capture, prune
from hwsim.models import create_model, model_info
from hwsim.sim import gemm_timing, scalesim_cycles

PRUNE = "block:32x32:0.5:pad"
MODEL_FILES = {"resnet18": Path(__file__).parent / "models" / "resnet18.py"}


def config(dataflow: str) -> AcceleratorConfig:
    return AcceleratorConfig(array=ArrayConfig(dataflow=dataflow))


def workload(name: str, spec: str | None):
    if name in MODEL_FILES:
        source = runpy.run_path(str(MODEL_FILES[name]))
        model, args = source["model"](), source["example_args"]()
    else:
        model, args = create_model(name), model_info(name).example_args()
    if spec:
        prune(model, spec)
    return capture(model, args, name=name)


def scalesim_ratio(w, cfg: AcceleratorConfig) -> tuple[int, int]:
    """(engine dense WS cycles, SCALE-Sim ws cycles) summed over the workload's GEMMs."""
    engine, a = cfg.array.engine(), cfg.array
    ours = theirs = 0
    for op in w.gemms:
        ours += gemm_timing(engine, op.m, op.k, op.n).cycles * op.count
        theirs += scalesim_cycles(op.m, op.k, op.n, a.rows, a.cols, "ws").cycles * op.count
    return ours, theirs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="deit_base,resnet18")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    rows, check = [], []
    for name in args.models.split(","):
        for spec in (None, PRUNE):
            w = workload(name, spec)
            results = {}
            for dataflow in ("os", "ws"):
                r = hwsim.simulate(w, config(dataflow))
                t = r.totals
                layers = r.layers
                gemm = int(layers.loc[layers["kind"] == "gemm", "compute_cycles"].sum())
                results[dataflow] = t
                rows.append({"model": name, "weights": spec or "dense", "dataflow": dataflow,
                             "GEMM cycles": gemm, "cycles": int(t["cycles"]),
                             "latency ms": round(t["latency_s"] * 1e3, 3), "energy mJ": round(t["energy_j"] * 1e3, 3),
                             "SRAM mJ": round(t["energy_by_component_j"]["sram"] * 1e3, 3),
                             "area mm2": round(t["area_mm2"], 3)})
            rows[-1]["WS / OS cycles"] = round(results["ws"]["cycles"] / results["os"]["cycles"], 3)
            rows[-1]["WS / OS energy"] = round(results["ws"]["energy_j"] / results["os"]["energy_j"], 3)
            if spec is None:
                ours, theirs = scalesim_ratio(w, config("ws"))
                check.append({"model": name, "GEMMs": len(w.gemms), "WS engine dense cycles": ours,
                              "SCALE-Sim ws cycles": theirs, "ratio": round(ours / theirs, 4)})
    for table in (pd.DataFrame(rows).fillna(""), pd.DataFrame(check)):
        print(table.to_markdown(index=False) if args.markdown else table.to_string(index=False))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
