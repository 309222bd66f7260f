"""The whole block-sparse engine synthesized (flattened: every PE counted) against the cost model's PE-array area,
per array size.

Each size is synthesized with the smallest memories the engine accepts (x_depth = block_k, one word of wmem,
idx and ptr, ymem = rows). That leaves PEs, skew registers, the issuer and the drain, which is what the cost
model's PE-array term (PEs x one PE's cell area) stands for; the buffers are priced separately as SRAM. "ratio" is
the engine's gate-flow cell area over that term: what a calibrated overhead factor would be.
Usage: python benchmarks/bench_engine_area.py [--sizes 2,4,8] [--mac sp2] [--markdown]
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="2,4,8")
    ap.add_argument("--mac", default="sp2", choices=sorted(MAC_PARAMS))
    ap.add_argument("--no-cache", action="store_true", help="synthesize even when a cached result exists")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        cfg = EngineConfig(rows=n, cols=n, block_k=n, block_n=n, mac=make_mac(args.mac, **MAC_PARAMS[args.mac]))
        smallest = {"x_depth": n, "w_depth": 1, "idx_depth": 1, "max_n_tiles": 1, "y_depth": n}
        t0 = time.perf_counter()
        a = engine_area(cfg, depths=smallest, use_cache=not args.no_cache)
        seconds = time.perf_counter() - t0
        r = a.report
        rows.append({"array": f"{n}x{n}", "PEs": a.pes, "LUTs": r.luts, "PE LUTs (PEs x PE)": a.pes * a.pe.luts,
                     "PE share of LUTs %": round(100 * a.pes * a.pe.luts / r.luts, 1), "FFs": r.ffs,
                     "LUTRAM": a.lutram, "cell area um2": round(a.cell_area_um2),
                     "model PE array um2": round(a.pe_array_um2),
                     "ratio": round(a.cell_area_um2 / a.pe_array_um2, 3), "synth s": round(seconds, 1)})
    table = pd.DataFrame(rows)
    print(table.to_markdown(index=False) if args.markdown else table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
