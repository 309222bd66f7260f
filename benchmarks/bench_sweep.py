"""Sweep throughput: the 1,000-point DeiT-S accelerator sweep (configs/sweeps/deit_s_arrays.yaml: one capture,
1,000 configs) on LocalClusters of 1 and 2 worker processes, beside the same points simulated in a plain loop in
this process (no Dask: what the scheduling costs).

Each cluster run writes a fresh results folder; the workload cache is filled first, so every run's capture is a
cache read (the "capture s" column; a cold DeiT-S capture takes ~9 s more, once). Time shares are of worker time
(workers x wall): capture, simulation, and the rest (cluster start-up, scheduling, transfers, idle).
Usage: python benchmarks/bench_sweep.py [--sweep FILE] [--workers 1,2] [--markdown]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _serial(sweep) -> dict:
    """Every point of the (single-group) sweep simulated in this process on one captured workload."""
    from hwsim.sweep._run import _pending
    from hwsim.sweep._tasks import capture_group, simulate_points

    start = time.perf_counter()
    groups, _, _, _ = _pending(sweep, set())
    capture_s = simulate_s = 0.0
    for indices in groups.values():
        captured = capture_group(sweep, indices)
        capture_s += captured.seconds
        rows = simulate_points(sweep, captured, indices)
        simulate_s += sum(r["simulate_s"] or 0.0 for r in rows)
    wall = time.perf_counter() - start
    return {"run": "in-process loop (no Dask)", "workers": 1, "points": len(sweep), "wall s": wall,
            "points/s": len(sweep) / wall, "capture s": capture_s, "simulate s": simulate_s}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", default=str(ROOT / "configs" / "sweeps" / "deit_s_arrays.yaml"))
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    from hwsim.sweep import load_sweep, run_sweep

    sweep = load_sweep(args.sweep)
    rows = [_serial(sweep)]  # also fills the workload and cost caches the cluster runs read
    for n in (int(w) for w in args.workers.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            run = run_sweep(sweep, Path(tmp) / "out", workers=n, report=False)
        rows.append({"run": f"LocalCluster, {n} worker{'s' if n > 1 else ''}", "workers": n, "points": run.ran,
                     "wall s": run.seconds, "points/s": run.rate, "capture s": run.capture_s,
                     "simulate s": run.simulate_s})
    table = pd.DataFrame(rows)
    busy = table.workers * table["wall s"]
    table["capture %"] = 100 * table["capture s"] / busy
    table["simulation %"] = 100 * table["simulate s"] / busy
    table["scheduling+idle %"] = 100 - table["capture %"] - table["simulation %"]
    one = table[table.workers == 1]["points/s"].iloc[-1]
    table["vs 1 worker"] = table["points/s"] / one
    table = table.round({"wall s": 1, "points/s": 1, "capture s": 2, "simulate s": 1, "capture %": 1,
                         "simulation %": 1, "scheduling+idle %": 1, "vs 1 worker": 2})
    print(table.to_markdown(index=False) if args.markdown else table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
