"""LUT networks as hardware against the same networks on the MAC engine: `hwsim.simulate(model, lut=mode,
baseline="mac")`.

    python benchmarks/bench_lut_sim.py [--models cancer_lut:observed,digits_lut:observed,cancer_lut:full]
                                       [--markdown]

Per model and mode: the accuracy of the minimized logic and of the quantized torch network on the held-out
split; LUTs, LUT6, flip-flops and CARRY4 from Yosys synth_xilinx of the generated RTL (not Vivado) beside
LogicNets' LUTCost; logic levels, the fmax estimate (0.7 ns per level, see hwsim/lut/_network.py) and the
pipeline latency; gate-level energy per inference and 45 nm cell area; the MAC engine's latency, energy and area
for the same network (default accelerator, 8-bit fixed-point MAC); and the wall time of the run with empty LUT
caches (minimization, Verilog, both synthesis flows, gate simulation; a fresh cache folder, so the gate energy
calibration is included) and with them warm.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import pandas as pd
import torch

from hwsim import simulate
from hwsim.models import dataset, trained_model


def _row(name: str, mode: str) -> dict:
    model, split = trained_model(name), dataset(name)
    kwargs = dict(lut=mode, evaluate=True, baseline="mac", data=(split.x_test, split.y_test),
                  train_data=(split.x_train, split.y_train))
    saved = os.environ.get("HWSIM_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="bench-lut-") as cache:
        os.environ["HWSIM_CACHE_DIR"] = cache
        try:
            start = time.perf_counter()
            simulate(model, **kwargs)
            cold = time.perf_counter() - start
            start = time.perf_counter()
            r = simulate(model, **kwargs)
            warm = time.perf_counter() - start
        finally:
            if saved is None:
                os.environ.pop("HWSIM_CACHE_DIR", None)
            else:
                os.environ["HWSIM_CACHE_DIR"] = saved
    t, b, a = r.totals, r.baseline, r.accuracy
    return {
        "model": name, "mode": mode, "logic acc %": round(100 * a["accuracy"], 2),
        "torch acc %": round(100 * a["float_accuracy"], 2), "LUTs": t["luts"], "LUT6": t["lut6"], "FFs": t["ffs"],
        "CARRY4": t["carry4"], "LUTCost": round(t["lutcost"]), "levels": t["lut_depth"],
        "fmax MHz": round(t["fmax_mhz"]), "latency ns": round(t["latency_s"] * 1e9, 2),
        "energy pJ": round(t["energy_j"] * 1e12, 3), "area mm2": round(t["area_mm2"], 5),
        "MAC latency ns": round(b["latency_s"] * 1e9, 1), "MAC energy nJ": round(b["energy_j"] * 1e9, 2),
        "MAC area mm2": round(b["area_mm2"], 2), "MAC/LUT latency": round(b["speedup"], 1),
        "MAC/LUT energy": f"{b['energy_ratio']:.3g}", "cold s": round(cold, 1), "warm s": round(warm, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="cancer_lut:observed,digits_lut:observed,cancer_lut:full",
                        help="comma-separated model:mode pairs")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for item in args.models.split(","):
        name, _, mode = item.partition(":")
        rows.append(_row(name, mode or "observed"))
        print(f"  {item}: done ({rows[-1]['cold s']} s cold)", flush=True)
    table = pd.DataFrame(rows)
    print(table.to_markdown(index=False) if args.markdown else table.to_string(index=False))


if __name__ == "__main__":
    main()
