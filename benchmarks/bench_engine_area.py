"""The whole block-sparse engine synthesized (flattened: every PE counted) against the cost model's PE-array area,
per array size and dataflow: the measurement `hwsim/cost/data/engine_overhead.yaml` is calibrated from.

Each design is synthesized twice, with the smallest memories the engine accepts (OS: x_depth = block_k, one word
of wmem, idx and ptr, ymem = rows; WS: one word each) and with every depth doubled. The memories are register
files here, while the cost model prices the buffers as SRAM, so their share is taken out by extrapolating to no
words: logic = 2 x smallest - doubled. What is left is the PEs, the inter-PE and skew registers, the weight
registers (WS), the issuer and the drain: what the cost model's PE-array term stands for. "ratio" is that logic's
gate-flow cell area over PEs x one PE's cell area; "raw ratio" keeps the smallest memories in.
Usage: python benchmarks/bench_engine_area.py [--sizes 2,4,8] [--dataflows os,ws] [--macs sp2,fixed] [--nm-group 4]
       [--markdown]
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd

from hwsim.arch import EngineConfig
from hwsim.cost import engine_area
from hwsim.mac import make_mac

MAC_PARAMS = {"sp2": {"w_bits": 4, "x_bits": 8}, "fixed": {"w_bits": 8, "x_bits": 8}}


def smallest_depths(cfg: EngineConfig) -> dict[str, int]:
    if cfg.dataflow == "ws":
        return {"x_depth": 1, "w_depth": 1, "idx_depth": 1, "max_n_tiles": 1, "y_depth": 1}
    return {"x_depth": cfg.block_k // cfg.nm_group, "w_depth": 1, "idx_depth": 1, "max_n_tiles": 1,
            "y_depth": cfg.rows}


def measure(n: int, dataflow: str, mac: str, use_cache: bool = True, nm_group: int = 1) -> dict:
    # block_k = rows (a multiple of the N:M group: arrays of at least nm_group rows)
    block_k = max(n, nm_group)
    cfg = EngineConfig(rows=n, cols=n, block_k=block_k, block_n=n, mac=make_mac(mac, **MAC_PARAMS[mac]),
                       dataflow=dataflow, nm_group=nm_group)
    small = smallest_depths(cfg)
    t0 = time.perf_counter()
    a = engine_area(cfg, depths=small, use_cache=use_cache)
    b = engine_area(cfg, depths={k: 2 * v for k, v in small.items()}, use_cache=use_cache)
    seconds = time.perf_counter() - t0
    logic = 2 * a.cell_area_um2 - b.cell_area_um2
    return {"dataflow": dataflow + (f" N:M/{nm_group}" if nm_group > 1 else ""), "MAC": mac, "array": f"{n}x{n}",
            "PEs": a.pes, "LUTs": a.report.luts,
            "PE LUTs (PEs x PE)": a.pes * a.pe.luts, "FFs": a.report.ffs, "cell area um2": round(a.cell_area_um2),
            "logic um2": round(logic), "model PE array um2": round(a.pe_array_um2),
            "raw ratio": round(a.cell_area_um2 / a.pe_array_um2, 3), "ratio": round(logic / a.pe_array_um2, 3),
            "synth s": round(seconds, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="2,4,8")
    ap.add_argument("--dataflows", default="os,ws")
    ap.add_argument("--macs", default="sp2")
    ap.add_argument("--nm-group", type=int, default=1, help="N:M PEs in groups of this many (output-stationary)")
    ap.add_argument("--no-cache", action="store_true", help="synthesize even when a cached result exists")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    macs = args.macs.split(",")
    unknown = sorted(set(macs) - set(MAC_PARAMS))
    if unknown:
        ap.error(f"--macs: unknown {unknown[0]!r}; choose from {', '.join(MAC_PARAMS)}")
    rows = [measure(int(n), df, mac, not args.no_cache, args.nm_group) for mac in macs
            for df in args.dataflows.split(",") for n in args.sizes.split(",")]
    table = pd.DataFrame(rows)
    print(table.to_markdown(index=False) if args.markdown else table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
