"""Synthesized area of every MAC kind at 4 and 8 weight bits (pinned Yosys; see hwsim.cost).

Prints a table (LUT6-mapped xc7 without DSPs, and a 2-input gate mapping with a transistor estimate).
Usage: python benchmarks/bench_mac_area.py [--csv FILE] [--markdown]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import pandas as pd

from hwsim.cost import mac_area
from hwsim.mac import make_mac

sys.path.insert(0, os.path.dirname(__file__))
from _util import MAC_DESIGNS, mac_label


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args(argv)
    rows = []
    for kind, params in MAC_DESIGNS:
        unit = make_mac(kind, **params)
        t0 = time.perf_counter()
        r = mac_area(unit)
        rows.append({"MAC": mac_label(unit), "w bits": unit.w_bits, "acc bits": unit.acc_bits, "LUTs": r.luts,
                     "CARRY4": r.carry4, "FFs": r.ffs, "gates": r.gates, "transistors": r.transistors,
                     "s": round(time.perf_counter() - t0, 1)})
    table = pd.DataFrame(rows)
    print(table.drop(columns="s").to_markdown(index=False) if args.markdown else table.to_string(index=False))
    print(f"yosys {r.yosys}; s = synthesis seconds (0 when cached)")
    if args.csv:
        table.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
