"""Quantization and pruning time of DeiT-B (86 M weights): `quantize` for fixed point, SP2, MSQ and a posit, and
block pruning.

Target: each under 1 s in steady state (the first call in a process also imports numba and loads the cached
kernels: the ``first call s`` column). Best of ``--repeat`` calls on fresh copies of one randomly initialised
model. Usage: python benchmarks/bench_quant_prune.py [--model deit_base] [--repeat 3] [--markdown]
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time

import pandas as pd
import torch

sys.path.insert(0, os.path.dirname(__file__))
from _util import best_time

from hwsim.frontend import prune, quantize
from hwsim.models import create_model

TARGET_S = 1.0
SPECS = ["sp2:4", "fixed:8", "msq:4:0.5", "posit:8:1", "block:32x32:0.5"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="deit_base")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    model = create_model(args.model)
    n_weights = sum(p.numel() for n, p in model.named_parameters() if p.dim() > 1)
    rows = []
    for spec in SPECS:
        run = prune if spec.startswith("block") else quantize
        t0 = time.perf_counter()
        run(copy.deepcopy(model), spec)
        first = time.perf_counter() - t0
        copies = iter([copy.deepcopy(model) for _ in range(args.repeat)])  # copied before, not in, the timing
        seconds = best_time(lambda run=run, spec=spec, copies=copies: run(next(copies), spec), repeat=args.repeat)
        rows.append({"model": args.model, "weights (M)": round(n_weights / 1e6, 1), "call": f"{run.__name__}({spec})",
                     "first call s": round(first, 2), "seconds": round(seconds, 2), "target s": TARGET_S,
                     "meets": "yes" if seconds <= TARGET_S else "no"})
    table = pd.DataFrame(rows)
    print(table.to_markdown(index=False) if args.markdown else table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
