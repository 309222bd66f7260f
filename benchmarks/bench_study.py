"""The quantization-scheme study on the registry models with data, beside the papers' claims, and its run time.

    python benchmarks/bench_study.py [--models digits_mlp,vit_digits] [--finetune 3] [--act-bits 8] [--markdown]

For each model: `hwsim.study.quant_study` with the default schemes, post-training and with ``--finetune``
epochs of quantization-aware fine-tuning; the MSQ claim (the SP2/fixed row mix at least as accurate as either
format alone at equal bits) and the Posit4/FixP4 claim (accuracy gain over FixP4 and its energy overhead) are
checked on the measured rows. Then the wall time of ``hwsim study quant digits_mlp`` (defaults, a new process,
caches warm after one untimed run) against the 60 s target.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from hwsim.study import quant_study

TARGET_S = 60.0


def _table(study, finetune: bool) -> pd.DataFrame:
    t = study.table
    out = pd.DataFrame({
        "scheme": t.scheme,
        **({"post-training %": (100 * t.ptq_accuracy).round(2)} if finetune else {}),
        ("fine-tuned %" if finetune else "accuracy %"): (100 * t.accuracy).round(2),
        "hardware path %": (100 * t.hardware_accuracy).round(2),
        "energy nJ": (t.energy_j * 1e9).round(2),
        "MAC nJ (own codes)": (t.mac_energy_j * 1e9).round(3),
        "MAC nJ (random codes)": (t.mac_energy_random_j * 1e9).round(3),
        "own / random": (t.mac_energy_j / t.mac_energy_random_j).round(3),
        "PE array mm2": t.pe_array_mm2.round(4),
        "Pareto E / MAC E / area": [f"{'x' if a else '-'} / {'x' if b else '-'} / {'x' if c else '-'}"
                                    for a, b, c in zip(t.pareto_energy, t.pareto_mac_energy, t.pareto_area,
                                                       strict=True)],
    })
    return out


def _claims(study) -> list[str]:
    t = study.table.set_index("scheme")
    acc = t.accuracy
    lines = []
    msq, fx, sp = acc.get("msq:4:0.5"), acc.get("fixed:4"), acc.get("sp2:4")
    if msq is not None and fx is not None and sp is not None:
        verdict = "agrees" if msq >= max(fx, sp) else "does not agree"
        lines.append(f"MSQ claim (mix >= either alone at 4 bits): msq:4:0.5 {100 * msq:.2f} %, fixed:4 "
                     f"{100 * fx:.2f} %, sp2:4 {100 * sp:.2f} %: {verdict}")
    pf = "posit+fixed:4:1:4:0.5"
    if pf in t.index and "fixed:4" in t.index:
        gain = 100 * (t.accuracy[pf] - t.accuracy["fixed:4"])
        e = 100 * (t.energy_j[pf] / t.energy_j["fixed:4"] - 1)
        m = 100 * (t.mac_energy_j[pf] / t.mac_energy_j["fixed:4"] - 1)
        a = 100 * (t.pe_array_mm2[pf] / t.pe_array_mm2["fixed:4"] - 1)
        verdict = "agrees on the sign of the gain" if gain > 0 else "does not agree (no gain)"
        lines.append(f"Posit4/FixP4 claim (about +1.5 % over FixP4 for 0.19 % more energy): accuracy {gain:+.2f} "
                     f"points, energy {e:+.2f} %, MAC energy {m:+.1f} %, PE-array area {a:+.1f} %: {verdict}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="digits_mlp,vit_digits")
    parser.add_argument("--finetune", type=int, default=3)
    parser.add_argument("--act-bits", type=int, default=8, help="activation bits of every scheme (default 8)")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--no-timing", action="store_true", help="skip the CLI wall-time measurement")
    args = parser.parse_args()
    show = (lambda df: df.to_markdown(index=False)) if args.markdown else (lambda df: df.to_string(index=False))
    for model in args.models.split(","):
        for finetune in (None, args.finetune):
            start = time.perf_counter()
            study = quant_study(model, finetune=finetune, act_bits=args.act_bits)
            took = time.perf_counter() - start
            mode = f"fine-tuned {finetune} epochs" if finetune else "post-training"
            print(f"\n{model}, {mode}, activations {args.act_bits}-bit: float "
                  f"{100 * study.meta['float_accuracy']:.2f} % on {study.meta['data']}; {took:.1f} s")
            print(show(_table(study, finetune is not None)))
            for line in _claims(study):
                print(f"- {line}")
    if args.no_timing:
        return
    with_cli = [sys.executable, "-m", "hwsim.cli", "study", "quant", "digits_mlp", "--out"]
    out = Path("out/bench_study")
    subprocess.run([*with_cli, str(out)], check=True, capture_output=True)  # untimed: fills the caches
    start = time.perf_counter()
    subprocess.run([*with_cli, str(out)], check=True, capture_output=True)
    wall = time.perf_counter() - start
    timing = pd.DataFrame([{"command": "hwsim study quant digits_mlp (7 default schemes, warm)",
                            "wall s": round(wall, 1), "target s": TARGET_S, "meets": wall <= TARGET_S}])
    print()
    print(show(timing))


if __name__ == "__main__":
    main()
