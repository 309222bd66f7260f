"""Synthesized area of every MAC kind at 4 and 8 weight bits (pinned Yosys; see hwsim.cost).

Prints a table (LUT6-mapped xc7 without DSPs, and a 2-input gate mapping with a transistor estimate).
Usage: python benchmarks/bench_mac_area.py [--csv FILE] [--markdown]
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd

from hwsim.cost import mac_area
from hwsim.mac import make_mac

DESIGNS = [
    ("fixed", dict(w_bits=4, x_bits=8)),
    ("sp2", dict(w_bits=4, x_bits=8)),
    ("msq", dict(w_bits=4, x_bits=8)),
    ("posit_fixp", dict(n=4, es=1, x_bits=8)),
    ("posit_quire", dict(n=4, es=1)),
    ("fixed", dict(w_bits=8, x_bits=8)),
    ("sp2", dict(w_bits=8, x_bits=8)),
    ("msq", dict(w_bits=8, x_bits=8)),
    ("posit_fixp", dict(n=8, es=0, x_bits=8)),
    ("posit_fixp", dict(n=8, es=2, x_bits=8)),
    ("posit_quire", dict(n=8, es=0)),
    ("posit_quire", dict(n=8, es=2)),
]


def _label(unit) -> str:
    w = unit.w_format.name
    return f"{unit.kind} ({w} x {unit.x_format.name})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args(argv)
    rows = []
    for kind, params in DESIGNS:
        unit = make_mac(kind, **params)
        t0 = time.perf_counter()
        r = mac_area(unit)
        rows.append({"MAC": _label(unit), "w bits": unit.w_bits, "acc bits": unit.acc_bits, "LUTs": r.luts,
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
