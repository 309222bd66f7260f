"""Block-sparse GEMM engine: simulation speed (with SCALE-Sim side by side), growth, and achieved speedup.

1. Cycle-exact simulation of a 512x768x768 GEMM on a 32x32 array, 32x32 blocks at 50% density (target
   <= 50 ms on one core). With --scalesim-python, SCALE-Sim v3 runs the dense version in the same session and
   the table shows both wall times, their ratio, and that the compute cycles agree with hwsim's
   SCALE-Sim-compatible mode. (Set SCALE-Sim up in its own venv: `python3 -m venv ss &&
   ss/bin/pip install scalesim "numpy<2.4"`.)
2. Simulation time against problem size: it must follow tiles and blocks, not cycles x PEs (--plot FILE).
3. Achieved speedup against the ideal 1/density for 16x16 and 32x32 blocks on a 32x32 array.
Usage: python benchmarks/bench_gemm.py [--scalesim-python PATH] [--plot FILE.png] [--markdown]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(__file__))
from _util import best_time

from hwsim.arch import EngineConfig, GemmShape
from hwsim.mac import make_mac
from hwsim.sim import gemm_timing, random_block_mask, scalesim_cycles

SCALESIM_CFG = """[general]
run_name = bench

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False

[architecture_presets]
ArrayHeight: {rows}
ArrayWidth: {cols}
IfmapSramSzkB: 4096
FilterSramSzkB: 4096
OfmapSramSzkB: 4096
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Bandwidth: 10
Dataflow: os
MemoryBanks: 1
ReadRequestBuffer: 512
WriteRequestBuffer: 512

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport: false
SparseRep: ellpack_block
OptimizedMapping: false
BlockSize: 8
RandomNumberGeneratorSeed: 40
"""


def engine(rows=32, cols=32, bk=32, bn=32) -> EngineConfig:
    return EngineConfig(rows=rows, cols=cols, block_k=bk, block_n=bn, mac=make_mac("sp2", w_bits=4, x_bits=8))


def time_sim(cfg: EngineConfig, m: int, k: int, n: int, density: float, repeat: int = 20) -> tuple[float, object]:
    shape = GemmShape.of(cfg, m, k, n)
    mask = random_block_mask(shape.k_blocks, shape.n_blocks, density, 0)
    result = gemm_timing(cfg, m, k, n, mask)  # warm-up
    return best_time(lambda: gemm_timing(cfg, m, k, n, mask), repeat), result


def run_scalesim(python: str, m: int, k: int, n: int, rows: int, cols: int) -> tuple[float, int]:
    """Wall seconds and compute cycles of one SCALE-Sim v3 run (its traces go to a temp dir, then away)."""
    with tempfile.TemporaryDirectory(prefix="scalesim-") as tmp:
        d = Path(tmp)
        (d / "cfg.cfg").write_text(SCALESIM_CFG.format(rows=rows, cols=cols))
        (d / "topo.csv").write_text(f"Layer, M, N, K,\ngemm0, {m}, {n}, {k},\n")
        (d / "layout.csv").write_text("Layer name,\n")
        t0 = time.perf_counter()
        subprocess.run([python, "-m", "scalesim.scale", "-c", "cfg.cfg", "-t", "topo.csv", "-l", "layout.csv",
                        "-i", "gemm", "-p", "out"], cwd=d, check=True, capture_output=True)
        wall = time.perf_counter() - t0
        report = next((d / "out").rglob("COMPUTE_REPORT.csv"))
        header, row = [line.split(",") for line in report.read_text().splitlines()[:2]]
        cycles = int(float(row[[h.strip() for h in header].index("Total Cycles")]))
    return wall, cycles


def headline(args) -> pd.DataFrame:
    cfg = engine()
    seconds, t = time_sim(cfg, 512, 768, 768, 0.5)
    dense_seconds, dense = time_sim(cfg, 512, 768, 768, 1.0)
    rows = [{"tool": "hwsim engine (cycle-exact, 50% of blocks)", "cycles": t.cycles,
             "wall ms": round(seconds * 1e3, 3), "target ms": 50, "meets": "yes" if seconds <= 0.05 else "no"},
            {"tool": "hwsim engine (cycle-exact, dense)", "cycles": dense.cycles,
             "wall ms": round(dense_seconds * 1e3, 3)}]
    compat = scalesim_cycles(512, 768, 768, 32, 32, "os")
    c_sec = best_time(lambda: scalesim_cycles(512, 768, 768, 32, 32, "os"), 100)
    rows.append({"tool": "hwsim --scalesim-compat (dense, os)", "cycles": compat.cycles,
                 "wall ms": round(c_sec * 1e3, 4)})
    if args.scalesim_python:
        wall, cycles = run_scalesim(args.scalesim_python, 512, 768, 768, 32, 32)
        rows.append({"tool": "SCALE-Sim v3 (dense, os)", "cycles": cycles, "wall ms": round(wall * 1e3, 0),
                     "x hwsim dense wall": round(wall / dense_seconds),
                     "cycles = compat mode": cycles == compat.cycles})
    return pd.DataFrame(rows)


def growth(args) -> pd.DataFrame:
    rows = []
    for size in (256, 512, 1024, 2048, 4096, 8192, 16384):
        cfg = engine()
        seconds, t = time_sim(cfg, size, size, size, 0.5, repeat=5)
        shape = t.shape
        rows.append({"M=K=N": size, "tiles": t.tiles, "blocks": shape.k_blocks * shape.n_blocks,
                     "cycles x PEs": t.cycles * t.pes, "sim ms": round(seconds * 1e3, 3)})
    table = pd.DataFrame(rows)
    if args.plot:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6, 4), layout="constrained")
        ax = fig.subplots()
        ax.loglog(table["tiles"] + table["blocks"], table["sim ms"], "o-", label="hwsim (measured)")
        ref = table["cycles x PEs"] / table["cycles x PEs"].iloc[0] * table["sim ms"].iloc[0]
        ax.loglog(table["tiles"] + table["blocks"], ref, "--", label="if it grew with cycles x PEs")
        ax.set_xlabel("tiles + blocks")
        ax.set_ylabel("simulation time [ms]")
        ax.set_title("GEMM simulation time, 32x32 array, 50% of 32x32 blocks")
        ax.legend()
        fig.savefig(args.plot, dpi=110)
    return table


def speedup(args) -> pd.DataFrame:
    rows = []
    for density in (1.0, 0.75, 0.5, 0.35, 0.25, 0.15, 0.1):
        row = {"density": density, "ideal 1/d": round(1 / density, 2)}
        for bk, bn in ((16, 16), (32, 32)):
            cfg = engine(bk=bk, bn=bn)
            shape = GemmShape.of(cfg, 512, 768, 768)
            ups = []
            for seed in range(5):
                mask = random_block_mask(shape.k_blocks, shape.n_blocks, density, seed)
                ups.append(gemm_timing(cfg, 512, 768, 768).cycles / gemm_timing(cfg, 512, 768, 768, mask).cycles)
            row[f"speedup {bk}x{bn}"] = round(float(np.mean(ups)), 2)
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scalesim-python", help="python of a venv with SCALE-Sim v3 installed")
    ap.add_argument("--plot", help="write the growth figure here (.png)")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    show = (lambda t: t.to_markdown(index=False)) if args.markdown else (lambda t: t.to_string(index=False))
    print("## 512x768x768 on 32x32\n" + show(headline(args)))
    print("\n## Simulation time vs problem size (32x32 array, 32x32 blocks, 50%)\n" + show(growth(args)))
    print("\n## Speedup over dense, 512x768x768 on 32x32 (mean of 5 random masks)\n" + show(speedup(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
