"""Hardware-aware pruning on DeiT: simulated speedup of the `auto:` allocations at uniform block pruning's own MAC
and latency fractions, and the time an allocation takes.

Each row prunes a fresh copy of the registry model (random weights: no accuracy here) with 32x32 blocks, captures
it and simulates it on the default accelerator against its dense baseline. "MAC fraction" and "latency fraction"
are measured by that simulation, not predicted. "curves" says whether the allocation computed its per-layer curves
(stored) or read them from the curve cache (hit); delete cache_dir()/curves for a cold run.
Usage: python benchmarks/bench_auto_prune.py [--models deit_base] [--budget 0.5] [--markdown]
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time

import pandas as pd

import hwsim
from hwsim.frontend import capture, prune
from hwsim.frontend._load import resolve_model

ALLOCATION_TARGET_S = 30.0  # the target for DeiT-B (curves included)


def _row(name: str, module, args, spec: str) -> dict:
    model = copy.deepcopy(module)
    t0 = time.perf_counter()
    df = prune(model, spec, example_args=args) if spec.startswith("auto") else prune(model, spec)
    seconds = time.perf_counter() - t0
    report = hwsim.simulate(capture(model, args), baseline="dense")
    t, b = report.totals, report.baseline
    fractions = (df.blocks_kept / df.blocks_total).astype(float)
    return {"model": name, "prune": spec, "MAC fraction": round(t["macs"] / t["dense_macs"], 4),
            "latency fraction": round(t["cycles"] / b["cycles"], 4), "speedup": round(b["speedup"], 3),
            "energy ratio": round(b["energy_ratio"], 3),
            "layer densities": f"{fractions.min():.2f}-{fractions.max():.2f}", "prune s": round(seconds, 1),
            "curves": df.attrs.get("allocation", {}).get("curves_cache", "")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="deit_small,deit_base")
    ap.add_argument("--budget", type=float, default=0.5)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    for name in args.models.split(","):
        r = resolve_model(name)
        uniform = _row(name, r.module, r.args, f"block:32x32:{args.budget:g}")
        rows.append(uniform)
        # the allocations at uniform pruning's own measured MAC and latency fractions (rounded down): same budget
        macs = math.floor(uniform["MAC fraction"] * 1e4) / 1e4
        latency = math.floor(uniform["latency fraction"] * 1e4) / 1e4
        for spec in (f"auto:macs={macs:g}:dp", f"auto:macs={macs:g}:lpvit", f"auto:latency={latency:g}:dp",
                     f"auto:latency={args.budget:g}:dp"):
            rows.append(_row(name, r.module, r.args, spec))
    table = pd.DataFrame(rows)
    print(table.to_markdown(index=False) if args.markdown else table.to_string(index=False))
    print(f"\nallocation target: DeiT-B auto pruning within {ALLOCATION_TARGET_S:g} s (the 'prune s' column)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
