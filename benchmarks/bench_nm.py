"""2:4 structured sparsity on N:M PEs: DeiT-B dense, 2:4-pruned and 50 % block-pruned, on the default accelerator
(32x32 SP2-4 x int8, block_k = 32) and on the same accelerator with N:M PEs in groups of 4 (`array.nm_group: 4`).

"speedup" and "energy reduction" are against dense DeiT-B on the default accelerator. The 2:4 pruning is by
magnitude (`nm:2:4`), the block pruning by L1 block saliency (`block:32x32:0.5`); both keep half of the weights.
Usage: python benchmarks/bench_nm.py [--model deit_base] [--markdown]
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

import hwsim
from hwsim.arch import AcceleratorConfig, ArrayConfig

PRUNINGS = (None, "nm:2:4", "block:32x32:0.5")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="deit_base")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    engines = {"default": AcceleratorConfig(), "N:M PEs (groups of 4)": AcceleratorConfig(
        array=ArrayConfig(nm_group=4))}
    rows, base = [], None
    for prune in PRUNINGS:
        for label, cfg in engines.items():
            t = hwsim.simulate(args.model, cfg, prune=prune).totals
            base = base or t
            rows.append({"weights": prune or "dense", "engine": label, "cycles": int(t["cycles"]),
                         "latency ms": round(t["latency_s"] * 1e3, 2),
                         "speedup": round(base["cycles"] / t["cycles"], 3),
                         "energy mJ": round(t["energy_j"] * 1e3, 2),
                         "energy reduction": round(base["energy_j"] / t["energy_j"], 3),
                         "MAC mJ": round(t["energy_by_component_j"]["mac"] * 1e3, 2),
                         "DRAM mJ": round(t["energy_by_component_j"]["dram"] * 1e3, 2),
                         "area mm2": round(t["area_mm2"], 3)})
    table = pd.DataFrame(rows)
    print(table.to_markdown(index=False) if args.markdown else table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
