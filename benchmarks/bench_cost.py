"""RTL-derived energy: the calibration/validation table against Horowitz (45 nm) and the MAC energy/area table.

Synthesizes each design once with the pinned Yosys (then reads the cache in ~/.cache/hwsim or $HWSIM_CACHE_DIR),
simulates it at gate level on random operands and prices the toggles with the 45 nm cell table.
Usage: python benchmarks/bench_cost.py [--markdown] [--csv FILE]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import pandas as pd

from hwsim.cost import gate_energy_model, mac_energy, validation_table
from hwsim.mac import make_mac

sys.path.insert(0, os.path.dirname(__file__))
from _util import MAC_DESIGNS, mac_label


def validation_frame() -> pd.DataFrame:
    """The validation table, rounded for printing."""
    t = validation_table(gate_energy_model())
    return t.round({"hwsim_pj": 4, "ratio": 3, "registered_pj": 4, "registered_ratio": 3, "toggles_per_op": 1})


def mac_frame() -> pd.DataFrame:
    """One row per MAC design: energy per MAC (random and all-zero operands), its split, area and leakage."""
    rows = []
    for kind, params in MAC_DESIGNS:
        unit = make_mac(kind, **params)
        t0 = time.perf_counter()
        r = mac_energy(unit)
        z = mac_energy(unit, activity="zero")
        b = r.breakdown_pj_per_mac
        rows.append({
            "MAC": mac_label(unit),
            "acc bits": unit.acc_bits,
            "gates": r.gates,
            "FFs": r.flip_flops,
            "area um2": round(r.area_um2, 1),
            "pJ/MAC": round(r.dynamic_pj_per_mac, 4),
            "logic pJ": round(b["logic"], 4),
            "regs+clock pJ": round(b["flip_flops"] + b["clock"], 4),
            "zero-operand pJ": round(z.dynamic_pj_per_mac, 4),
            "leakage uW": round(r.leakage_mw * 1e3, 2),
            "toggles/MAC": round(r.toggles_per_mac, 1),
            "s": round(time.perf_counter() - t0, 1),
        })
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markdown", action="store_true", help="print Markdown tables")
    ap.add_argument("--csv", help="also write the MAC table to this CSV file")
    args = ap.parse_args(argv)

    def show(df: pd.DataFrame) -> str:
        return df.to_markdown(index=False) if args.markdown else df.to_string(index=False)

    model = gate_energy_model()
    print(f"Calibration: operator energy of the registered 8x8 multiplier = Horowitz int8 multiply "
          f"{model.anchor_pj} pJ; scale = {model.scale:.4f} x the 45 nm library estimate (1.1 V)\n")
    print(show(validation_frame()))
    print()
    macs = mac_frame()
    print(show(macs.drop(columns="s")))
    print(f"\nyosys {model.yosys}; pJ/MAC: valid every cycle, uniform random codes, clear every 64 MACs, clock "
          f"included; zero-operand: same with all-zero codes; s = seconds for this row (0 when cached)")
    if args.csv:
        macs.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
