"""Capture time of the DeiT models (torch.export + mapping to a Workload), one thread.

Target (issue 5): DeiT-B in under 10 s. Usage: python benchmarks/bench_capture.py [--markdown]
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd
import torch

from hwsim.frontend import capture, prune, quantize
from hwsim.models import create_model, model_info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for name in ("deit_tiny", "deit_small", "deit_base"):
        for recipe in ("dense", "block:32x32:0.5 + sp2:4"):
            model = create_model(name)
            example = model_info(name).example_args()
            t0 = time.perf_counter()
            if recipe != "dense":
                prune(model, "block:32x32:0.5")
                quantize(model, "sp2:4")
            t1 = time.perf_counter()
            w = capture(model, example, name=name)
            t2 = time.perf_counter()
            rows.append({"model": name, "recipe": recipe, "GMAC": round(w.total_macs / 1e9, 2),
                         "GEMMs": len(w.gemms), "prune+quant s": round(t1 - t0, 2), "capture s": round(t2 - t1, 2),
                         "target s": 10, "meets": "yes" if t2 - t1 <= 10 else "no"})
    table = pd.DataFrame(rows)
    print(table.to_markdown(index=False) if args.markdown else table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
