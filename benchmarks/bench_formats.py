"""Encode throughput: 10**7 float32 values into posit<8,2>, SP2-4 and Fixed-8 on one core.

Target (issue 2): each <= 1 s. The peer is PyPI softposit (a C library behind a per-value Python call),
timed on a subsample and compared per value. Usage: python benchmarks/bench_formats.py [--n N] [--csv FILE]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(__file__))
from _util import best_time

from hwsim.formats import SP2, Fixed, Posit

TARGET_S = 1.0


def softposit_rate(x: np.ndarray) -> float | None:
    """Values per second for softposit's posit<8,2> conversion, or None when it is not installed."""
    try:
        import softposit
    except ImportError:
        return None
    values = x.astype(np.float64).tolist()
    t0 = time.perf_counter()
    for v in values:
        softposit.posit_2(v, x=8)
    return len(values) / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10**7, help="values to encode (default 1e7)")
    ap.add_argument("--csv", help="also write the table as CSV")
    args = ap.parse_args(argv)

    rng = np.random.default_rng(0)
    x = (rng.standard_normal(args.n) * np.exp(rng.standard_normal(args.n) * 2)).astype(np.float32)
    rows = []
    peer = softposit_rate(x[:100_000])
    for fmt in (Posit(8, 2), SP2(4), Fixed(8, 7)):
        fmt.encode(x[:1000])  # JIT warm-up / table build
        seconds = best_time(lambda f=fmt: f.encode(x))
        rate = args.n / seconds
        row = {"format": fmt.name, "values": args.n, "seconds": round(seconds, 3),
               "Mvalues/s": round(rate / 1e6, 1), "target_s": TARGET_S, "meets": seconds <= TARGET_S}
        if isinstance(fmt, Posit) and peer:
            row["x softposit"] = round(rate / peer, 1)
        rows.append(row)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    if peer:
        print(f"softposit posit<8,2> per-value conversion: {peer / 1e6:.2f} Mvalues/s (100k-value subsample)")
    if args.csv:
        table.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
