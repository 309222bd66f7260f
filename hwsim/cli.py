"""The ``hwsim`` command.

User mistakes (bad parameters, unreadable or unwritable files) end with one line on stderr and exit code 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


class UsageError(Exception):
    """A mistake on the command line: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of argparse's usage block
        raise UsageError(f"{self.prog}: {message}")


def _group_specs(words: Sequence[str]) -> list[str]:
    """``posit 4 1 sp2 4`` or ``posit:4:1 sp2:4`` -> ``["posit:4:1", "sp2:4"]``: numbers join the spec before."""
    specs: list[str] = []
    for w in words:
        if specs and w.lstrip("-").isdigit():
            specs[-1] += f":{w}"
        else:
            specs.append(w)
    return specs


def _cmd_formats_show(args: argparse.Namespace) -> None:
    import pandas as pd

    from ._util import write_with
    from .formats import parse_format
    from .report import format_table, plot_levels
    from .report._formats import _image_format

    formats = [parse_format(s) for s in _group_specs(args.spec)]
    if args.plot:
        _image_format(args.plot)  # every output checked before the first is written
    for option, path in (("--csv", args.csv), ("--plot", args.plot)):
        if path is not None and Path(path).is_dir():
            raise ValueError(f"{option} {str(path)!r} is a directory")
    tables = [format_table(f) for f in formats]
    if not args.quiet:
        for fmt, table in zip(formats, tables, strict=True):
            print(f"# {fmt.name}: {len(table)} codes, {fmt.levels().size} distinct values")
            print(table.drop(columns="format").to_string(index=False))
    if args.csv:
        both = pd.concat(tables, ignore_index=True)
        write_with(args.csv, lambda tmp: both.to_csv(tmp, index=False))
        print(f"wrote {args.csv}")
    if args.plot:
        plot_levels(formats, args.plot)
        print(f"wrote {args.plot}")


def _cmd_formats_demo(args: argparse.Namespace) -> None:
    import pandas as pd

    from ._util import check_writable_dir, write_text, write_with
    from .formats import parse_format
    from .report import format_table, plot_levels

    out = check_writable_dir(args.out)
    formats = [parse_format(s) for s in ("fixed:4:3", "sp2:4", "posit:4:0", "posit:4:1", "posit:8:2")]
    tables = pd.concat([format_table(f) for f in formats], ignore_index=True)
    write_with(out / "formats.csv", lambda tmp: tables.to_csv(tmp, index=False))
    summary = pd.DataFrame([
        {"format": f.name, "bits": f.bits, "levels": f.levels().size,
         "min |x| > 0": float(abs(f.levels()[f.levels() != 0]).min()), "max |x|": float(abs(f.levels()).max())}
        for f in formats
    ])
    write_text(out / "formats.md", "# Number formats\n\n" + summary.to_markdown(index=False) + "\n")
    plot_levels(formats[:4], out / "levels.png")
    print(summary.to_string(index=False))
    print(f"report written to {out}/ (formats.csv, formats.md, levels.png)")


# The embedded default of `make demo`: DeiT-S with LPViT-style 32x32 block pruning at half density and SP2-4
# weights, on the default accelerator, against its dense self.
DEMO = {"model": "deit_small", "prune": "block:32x32:0.5", "quant": "sp2:4", "arch": None, "baseline": "dense",
        "exclude": None, "allow_unmapped": False, "act_bits": None, "finetune": None, "eval": False, "lut": None,
        "no_cache": False, "progress": False}


def _cmd_demo(args: argparse.Namespace) -> None:
    print(f"hwsim demo: simulate {DEMO['model']} --prune {DEMO['prune']} --quant {DEMO['quant']} "
          f"--baseline {DEMO['baseline']} (default accelerator)")
    _cmd_simulate(argparse.Namespace(out=args.out, **DEMO))


def _parse_params(items: Sequence[str] | None) -> dict[str, object]:
    """``["w_bits=4", "overflow=saturate"]`` -> ``{"w_bits": 4, "overflow": "saturate"}``."""
    params: dict[str, object] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--param must look like name=value, not {item!r}")
        try:
            params[key] = int(value)
        except ValueError:
            params[key] = value
    return params


def _rtl_unit(args: argparse.Namespace):
    from .mac import make_mac

    return make_mac(args.unit, **_parse_params(args.param))


ENGINE_DEFAULTS = {"rows": 4, "cols": 4, "mac": "fixed"}  # block_k defaults to rows, block_n to cols


def _rtl_engine(args: argparse.Namespace):
    """``--param`` of ``gemm``: the array (rows, cols, block_k, block_n, dataflow os|ws, nm_group), the PE's MAC
    (mac=KIND and its own parameters) and the memory depths -> (EngineConfig, depths)."""
    from .arch import EngineConfig
    from .cost import ENGINE_DEPTHS
    from .mac import MAC_KINDS, make_mac

    params = {**ENGINE_DEFAULTS, **_parse_params(args.param)}
    kind = params.pop("mac")
    if kind not in MAC_KINDS:
        raise UsageError(f"--param mac must be one of {', '.join(MAC_KINDS)}, not {kind!r}")
    array = {k: params.pop(k) for k in ("rows", "cols", "block_k", "block_n", "dataflow", "nm_group") if k in params}
    array.setdefault("block_k", array["rows"])
    array.setdefault("block_n", array["cols"])
    depths = {k: params.pop(k) for k in ENGINE_DEPTHS if k in params}
    try:
        mac = make_mac(kind, **params)
    except ValueError as e:
        raise UsageError(f"--param: {e} (the engine takes rows, cols, block_k, block_n, dataflow, nm_group, mac, "
                         f"{', '.join(ENGINE_DEPTHS)})") from None
    return EngineConfig(**array, mac=mac), depths


_DATAFLOW_NAMES = {"os": "output-stationary", "ws": "weight-stationary"}


def _nm_text(cfg) -> str:
    return f", N:M PEs in groups of {cfg.nm_group}" if cfg.nm_group > 1 else ""


def _cmd_rtl_area_engine(args: argparse.Namespace) -> None:
    import json

    from .cost import engine_area

    cfg, depths = _rtl_engine(args)
    a = engine_area(cfg, depths=depths, use_cache=not args.no_cache)
    if args.json:
        print(json.dumps(a.to_dict(), indent=1, sort_keys=True))
        return
    r, pe = a.report, a.pe
    mac = " ".join(f"{k}={v}" for k, v in a.mac.items())
    print(f"gemm {cfg.rows}x{cfg.cols} PEs ({_DATAFLOW_NAMES[cfg.dataflow]}), blocks {cfg.block_k}x{cfg.block_n}"
          f"{_nm_text(cfg)}, MAC {mac}  (yosys {r.yosys}, flattened)")
    print(f"  memories: {', '.join(f'{k}={v}' for k, v in a.depths.items())} words")
    print(f"  FPGA (xc7, no DSP): {r.luts} LUTs ({r.lut6} LUT6), {r.carry4} CARRY4, {r.ffs} FFs, {a.lutram} LUTRAM "
          "cells (the memories)")
    print(f"  of which PEs: {a.pes} x {pe.luts} LUTs = {a.pes * pe.luts} ({100 * a.pes * pe.luts / r.luts:.1f} %), "
          f"{a.pes} x {pe.ffs} FFs = {a.pes * pe.ffs}")
    print(f"  cells: {a.cell_area_um2:,.0f} um^2 (gate flow, memories as flip-flops); the cost model's PE array "
          f"{a.pes} x {a.pe_cell_area_um2:,.0f} = {a.pe_array_um2:,.0f} um^2, {a.model_um2:,.0f} um^2 with its "
          "calibrated engine overhead (memories excluded: priced as SRAM)")


def _cmd_rtl_area(args: argparse.Namespace) -> None:
    import json

    from .cost import mac_area

    if args.unit == "gemm":
        _cmd_rtl_area_engine(args)
        return
    unit = _rtl_unit(args)
    report = mac_area(unit, use_cache=not args.no_cache)
    if args.json:
        print(json.dumps(report.to_dict(), indent=1, sort_keys=True))
        return
    print(f"{unit.kind} {' '.join(f'{k}={v}' for k, v in unit.params().items())}  (yosys {report.yosys})")
    print(f"  FPGA (xc7, no DSP): {report.luts} LUTs ({report.lut6} LUT6), {report.carry4} CARRY4, {report.ffs} FFs")
    transistors = "unknown" if report.transistors is None else report.transistors
    print(f"  gates: {report.gates} 2-input gates/MUXes + {report.ffs} flip-flops, ~{transistors} transistors")


def _cmd_rtl_export(args: argparse.Namespace) -> None:
    import json

    from ._util import output_dir, write_text
    from .rtl import describe_ports, mac_component, to_verilog

    if args.unit == "gemm":
        _cmd_rtl_export_engine(args)
        return
    unit = _rtl_unit(args)
    top = args.name or f"mac_{unit.kind}"
    dut = mac_component(unit)
    verilog = to_verilog(dut, top)
    meta = {"top": top, "kind": unit.kind, "params": unit.params(), "latency": unit.latency,
            "acc_frac_bits": unit.acc_frac_bits, "product_bits": unit.product_bits,
            "clock": "clk (rising edge)", "reset": "rst (synchronous, active high)", "ports": describe_ports(dut)}
    with output_dir(args.output, "-o") as out:
        write_text(out / f"{top}.v", verilog)
        write_text(out / f"{top}.json", json.dumps(meta, indent=1) + "\n")
    print(f"wrote {out / (top + '.v')} and {top}.json")


def _cmd_rtl_export_engine(args: argparse.Namespace) -> None:
    import json

    from ._util import output_dir, write_text
    from .cost._engine_area import default_engine_depths, engine_component
    from .rtl import describe_ports, to_verilog

    cfg, depths = _rtl_engine(args)
    depths = {**default_engine_depths(cfg), **depths}
    top = args.name or "gemm"
    dut = engine_component(cfg, depths)
    verilog = to_verilog(dut, top)
    u = cfg.mac
    meta = {"top": top, "dataflow": cfg.dataflow, "nm_group": cfg.nm_group, "rows": cfg.rows, "cols": cfg.cols,
            "block_k": cfg.block_k, "block_n": cfg.block_n, "mac": {"kind": u.kind, **u.params()}, "depths": depths,
            "word_bits": dut.word_bits,
            "load_sel": {name: i for i, name in enumerate(dut.word_bits)},
            "schedule": "docs/engine.md; memory layout: hwsim.arch.engine_images", "clock": "clk (rising edge)",
            "reset": "rst (synchronous, active high)", "ports": describe_ports(dut)}
    with output_dir(args.output, "-o") as out:
        write_text(out / f"{top}.v", verilog)
        write_text(out / f"{top}.json", json.dumps(meta, indent=1) + "\n")
    print(f"wrote {out / (top + '.v')} and {top}.json ({cfg.rows}x{cfg.cols} PEs of {u.kind}, "
          f"{_DATAFLOW_NAMES[cfg.dataflow]})")


def _cmd_rtl_verify(args: argparse.Namespace) -> int:
    from .verify import verify_gemm, verify_lut, verify_mac

    if args.cycles < 1:
        raise UsageError(f"--cycles must be at least 1, not {args.cycles}")
    if args.top and not args.verilog:
        raise UsageError("--top names the top module of --verilog FILE; the generated design's is mac_<kind> "
                         "(gemm for the engine, lut_<model> for a LUT network)")
    if args.unit == "lut":
        params = _parse_params(args.param)
        unknown = sorted(set(params) - {"model", "mode"})
        if unknown or "model" not in params:
            raise UsageError(f"--param: a LUT network takes model=NAME|FILE.py and mode=full|observed"
                             f"{f', not {unknown[0]}' if unknown else ''}")
        model, mode = str(params["model"]), str(params.get("mode", "full"))
        build = args.build or (Path("build") / "verify-lut" if args.waves else None)
        r = verify_lut(model, mode=mode, sim=args.sim, samples=args.cycles, seed=args.seed, verilog=args.verilog,
                       top=args.top, build_dir=build, waves=args.waves)
        what = f"LUT network {model} ({mode})"
    elif args.unit == "gemm":
        cfg, depths = _rtl_engine(args)
        build = args.build or (Path("build") / "verify-gemm" if args.waves else None)
        # --cycles: the engine runs whole problems, one per 500 cycles asked for (at least 2)
        r = verify_gemm(cfg, depths=depths, sim=args.sim, problems=max(2, args.cycles // 500), seed=args.seed,
                        verilog=args.verilog, top=args.top, build_dir=build, waves=args.waves)
        mac = " ".join(f"{k}={v}" for k, v in cfg.mac.params().items())
        what = (f"gemm {cfg.rows}x{cfg.cols} {_DATAFLOW_NAMES[cfg.dataflow]} {cfg.mac.kind} ({mac}), "
                f"blocks {cfg.block_k}x{cfg.block_n}{_nm_text(cfg)}")
    else:
        unit = _rtl_unit(args)
        build = args.build or (Path("build") / f"verify-{unit.kind}" if args.waves else None)
        r = verify_mac(unit, sim=args.sim, cycles=args.cycles, seed=args.seed, verilog=args.verilog, top=args.top,
                       build_dir=build, waves=args.waves)
        what = f"{unit.kind} {' '.join(f'{k}={v}' for k, v in unit.params().items())}"
    print(f"{'PASS' if r.passed else 'FAIL'}: {what}, {r.design} on {r.sim}: {r.stimulus}")
    if r.report:
        print(f"  {r.report}")
    if r.waves:
        print(f"  waves: {r.waves}")
    if r.log:
        print(f"  log: {r.log}")
    return 0 if r.passed else 1


def _cmd_lut_export(args: argparse.Namespace) -> None:
    import json

    from ._util import check_writable_dir, output_dir, write_text
    from .lut import lut_design
    from .lut._network import _train_inputs, load_lut_model
    from .rtl import describe_ports, to_verilog

    module, name, mdata = load_lut_model(args.model)  # an unknown model fails before any folder is made
    train_x = _train_inputs(mdata, name) if args.mode == "observed" else None
    check_writable_dir(args.output, "-o", create=False)
    design = lut_design(module, args.mode, train_x, name=args.name or name)
    dut = design.component()
    meta = {"top": design.top, "model": args.model, "mode": design.mode, "latency": design.latency,
            "inputs": {"features": design.in_features, "bits": design.in_bits, "signed": design.in_signed},
            "outputs": {"features": design.out_features, "bits": design.out_bits,
                        "signed": bool(design.tables[-1].out_signed)},
            "packing": "feature i in bits [i*bits, (i+1)*bits), two's complement when signed",
            "layers": [{"name": t.name, "neurons": t.neurons, "fan_in": t.fan_in, "in_bits": t.in_bits,
                        "out_bits": t.out_bits, "cubes": sum(len(c) for c in cov)}
                       for t, cov in zip(design.tables, design.covers, strict=True)],
            "clock": "clk (rising edge)", "reset": "rst (synchronous, active high)", "ports": describe_ports(dut)}
    verilog = to_verilog(dut, design.top)
    with output_dir(args.output, "-o") as out:
        write_text(out / f"{design.top}.v", verilog)
        write_text(out / f"{design.top}.json", json.dumps(meta, indent=1) + "\n")
    print(f"wrote {out / (design.top + '.v')} and {design.top}.json ({design.latency}-stage pipeline, "
          f"{sum(m['cubes'] for m in meta['layers']):,} product terms)")


def _parse_pair(text: str, option: str) -> tuple[int, int]:
    """``"32x16"`` -> (32, 16), or a one-line error naming the option."""
    a, sep, b = text.lower().partition("x")
    try:
        if not sep:
            raise ValueError
        return int(a), int(b)
    except ValueError:
        raise UsageError(f"{option} must look like AxB, e.g. 32x32, not {text!r}") from None


def _cmd_gemm(args: argparse.Namespace) -> None:
    import json

    from .arch import EngineConfig, GemmShape
    from .mac import make_mac
    from .sim import gemm_timing, random_block_mask, scalesim_cycles

    rows, cols = _parse_pair(args.array, "--array")
    if not 0.0 < args.density <= 1.0:  # also NaN; 0 would simulate an engine that computes nothing
        raise UsageError(f"--density must lie in (0, 1], not {args.density!r}")
    if args.scalesim_compat:
        if args.density != 1.0:
            raise UsageError("--scalesim-compat models dense GEMMs: leave --density at 1")
        s = scalesim_cycles(args.m, args.k, args.n, rows, cols, args.dataflow)
        result = {"mode": "scalesim-compat", "dataflow": s.dataflow, "cycles": s.cycles, "dense_cycles": s.cycles,
                  "macs": s.macs, "utilization": s.utilization, "folds": s.folds, "cycles_per_fold": s.cycles_per_fold}
        if args.json:
            print(json.dumps(result))
        else:
            print(f"GEMM {args.m}x{args.k}x{args.n} on a {rows}x{cols} array, "
                  f"SCALE-Sim v3 {s.dataflow} dataflow (dense)")
            print(f"  compute cycles  {s.cycles}  ({s.folds} folds x {s.cycles_per_fold} cycles - 1)")
            print(f"  utilization     {100 * s.utilization:.2f} %")
        return
    if args.dataflow == "is":
        raise UsageError("the block-sparse engine is output- or weight-stationary (os, ws): --dataflow is needs "
                         "--scalesim-compat")
    # a weight-stationary fold is rows deep in K
    bk, bn = _parse_pair(args.block, "--block") if args.block else (rows if args.dataflow == "ws" else cols, cols)
    cfg = EngineConfig(rows=rows, cols=cols, block_k=bk, block_n=bn,
                       mac=make_mac(args.mac, **_parse_params(args.param)), dataflow=args.dataflow)
    shape = GemmShape.of(cfg, args.m, args.k, args.n)
    mask = random_block_mask(shape.k_blocks, shape.n_blocks, args.density, args.seed)
    t = gemm_timing(cfg, args.m, args.k, args.n, mask)
    dense = gemm_timing(cfg, args.m, args.k, args.n)
    kept = float(mask.mean()) if mask.size else 0.0
    result = {
        "mode": "block-sparse", "dataflow": cfg.dataflow, "m": args.m, "k": args.k, "n": args.n,
        "array": [rows, cols], "block": [bk, bn],
        "mac": cfg.mac.kind, "mac_params": cfg.mac.params(), "density": kept, "seed": args.seed,
        "cycles": t.cycles, "dense_cycles": dense.cycles, "ideal_cycles": t.ideal_cycles, "macs": t.macs,
        "utilization": t.utilization, "speedup": dense.cycles / t.cycles,
        "ideal_speedup": (1 / kept) if kept else None, "tiles": t.tiles,
        "stream_cycles": t.stream_cycles,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"GEMM {args.m}x{args.k}x{args.n} on a {rows}x{cols} {_DATAFLOW_NAMES[cfg.dataflow]} {cfg.mac.kind} "
          f"array, {bk}x{bn} blocks, {kept:.3f} of {mask.size} blocks kept (seed {args.seed})")
    ideal = f"{1 / kept:.2f}x" if kept else "inf"
    print(f"  cycles          {t.cycles}")
    print(f"  dense cycles    {dense.cycles}   speedup {dense.cycles / t.cycles:.2f}x (ideal 1/density {ideal})")
    print(f"  ideal cycles    {t.ideal_cycles:.0f}   (MACs / PEs)")
    print(f"  MACs            {t.macs}")
    units = "folds" if cfg.dataflow == "ws" else "tiles"
    print(f"  utilization     {100 * t.utilization:.1f} %   ({t.tiles} {units}, {t.stream_cycles} streaming cycles)")


def _cmd_capture(args: argparse.Namespace) -> None:
    from .frontend._load import check_request
    from .frontend._workload_cache import workload_for

    if args.output.suffix != ".npz":
        raise UsageError(f"-o must name a .npz file, not {str(args.output)!r}")
    _check_specs(args)
    from ._util import phase, timed_phases

    request = check_request(prune=args.prune, quant=args.quant, exclude=args.exclude, act_bits=args.act_bits,
                            finetune=args.finetune, arch=args.arch)
    if args.arch is not None and request.arch is None:
        raise UsageError("--arch applies to capture with an auto: prune spec (the accelerator it allocates on)")
    with timed_phases(show=_show_progress(args)):
        workload, _, _ = workload_for(args.model, request, strict=not args.allow_unmapped, cache=not args.no_cache)
        name = str(workload.meta.get("model", args.model))
        _print_capture(args, workload, name)
        with phase("write workload"):
            workload.save(args.output)
    print(f"wrote {args.output}")


def _show_progress(args: argparse.Namespace) -> bool:
    """Phases on stderr: on a terminal, or on a pipe with --progress."""
    return bool(getattr(args, "progress", False)) or sys.stderr.isatty()


def _print_capture(args: argparse.Namespace, workload, name: str) -> None:
    table = workload.to_dataframe()
    gemms = table[table.kind == "gemm"]
    shown = gemms[["name", "op", "M", "K", "N", "count", "density", "block", "format", "macs"]]
    if len(shown) > args.max_rows:  # the first and last layers, and how many are elided
        half = max(args.max_rows // 2, 1)
        lines = shown.to_string(index=False).splitlines()
        print("\n".join([*lines[: half + 1], f"  ... {len(shown) - 2 * half} more layers ...", *lines[-half:]]))
    else:
        print(shown.to_string(index=False))
    vector = table[table.kind == "vector"]
    print(f"{name}: {len(gemms)} GEMMs, {workload.total_macs / 1e9:.3f} GMAC dense, "
          f"{workload.kept_macs / 1e9:.3f} GMAC kept; {len(vector)} vector ops, "
          f"{int(vector.elements.sum())} elements; {int((table.kind == 'unmapped').sum())} unmapped")


def _check_specs(args: argparse.Namespace) -> None:
    """Refuse, in the command's own option names, what the API would refuse in its parameter names: an empty
    --prune / --quant (a shell variable that was not set, not "no pruning"), options that do not apply to a saved
    workload or to --lut, and options that need --quant or --prune."""
    for option in ("prune", "quant"):
        value = getattr(args, option, None)
        if value is not None and not value.strip():
            raise UsageError(f"--{option} is empty: give a spec (see --help) or leave the option out")

    def given(*names: str) -> str:
        return ", ".join(f"--{n.replace('_', '-')}" for n in names if getattr(args, n, None) not in (None, False))

    model_only = ("prune", "quant", "exclude", "act_bits", "finetune", "no_cache")
    if str(args.model).endswith(".npz"):
        if opts := given(*model_only):
            raise UsageError(f"{opts}: only for models; a saved workload is already captured and compressed")
        if getattr(args, "eval", False):
            raise UsageError("--eval needs the model: a saved workload has no weights to run on data")
    if getattr(args, "lut", None) and (opts := given(*model_only, "allow_unmapped")):
        raise UsageError(f"{opts}: not for --lut; a LUT network is already fan-in-constrained and quantized, runs "
                         "as logic and is not captured")
    if args.quant is None and (opts := given("act_bits", "finetune")):
        raise UsageError(f"{opts}: for quantized models; give --quant")
    if args.prune is None and args.quant is None and args.exclude:
        raise UsageError("--exclude applies to pruning and quantization; give --prune or --quant")


def _cmd_simulate(args: argparse.Namespace) -> None:
    from ._simulate import simulate
    from ._util import check_writable_dir, phase, timed_phases

    _check_specs(args)
    # refuse before spending minutes on a report that cannot be written, but create nothing until it exists
    out = check_writable_dir(args.out, create=False)
    show = _show_progress(args)
    with timed_phases(show=show):
        report = simulate(args.model, args.arch, prune=args.prune, quant=args.quant, baseline=args.baseline,
                          exclude=args.exclude, allow_unmapped=args.allow_unmapped, act_bits=args.act_bits,
                          finetune=args.finetune, evaluate=args.eval, lut=args.lut, progress=show,
                          cache=not args.no_cache)
        with phase("write report"):
            report.save(out)
    table = report.compression_summary()
    if table:
        print("per-layer compression (compression.csv has every layer):")
        print(table)
    print(report.summary())
    csv = "compression.csv, " if report.compression is not None else ""
    print(f"report written to {out}/ (report.json, layers.csv, {csv}layers.md, config.yaml, latency/energy/area.png)")


def _cmd_study_prune(args: argparse.Namespace) -> None:
    import shlex

    from ._util import check_writable_dir
    from .study import prune_study

    out = check_writable_dir(args.out, create=False)
    command = shlex.join(["hwsim", "study", "prune", args.model, "--budgets", args.budgets, "--metric", args.metric,
                          *(["--arch", args.arch] if args.arch else []),
                          *(["--finetune", str(args.finetune)] if args.finetune is not None else []),
                          *[w for p in args.exclude or () for w in ("--exclude", p)], "--out", str(args.out)])
    study = prune_study(args.model, args.budgets, metric=args.metric, arch=args.arch, finetune=args.finetune,
                        exclude=args.exclude, progress=sys.stderr.isatty(), command=command)
    study.save(out)
    print(study.markdown())
    print(f"study written to {out}/ (study.csv, study.md, accuracy_vs_{args.metric}.png)")


def _cmd_study_quant(args: argparse.Namespace) -> None:
    import shlex

    from ._util import check_writable_dir
    from .study import DEFAULT_SCHEMES, quant_study

    out = check_writable_dir(args.out, create=False)
    schemes = args.schemes if args.schemes is not None else ",".join(DEFAULT_SCHEMES)
    command = shlex.join(["hwsim", "study", "quant", args.model, "--schemes", schemes,
                          *(["--arch", args.arch] if args.arch else []),
                          *(["--finetune", str(args.finetune)] if args.finetune is not None else []),
                          *(["--act-bits", str(args.act_bits)] if args.act_bits != 8 else []),
                          *[w for p in args.exclude or () for w in ("--exclude", p)], "--out", str(args.out)])
    study = quant_study(args.model, schemes, arch=args.arch, act_bits=args.act_bits, finetune=args.finetune,
                        exclude=args.exclude, progress=sys.stderr.isatty(), command=command)
    study.save(out)
    t = study.table
    shown = t[["scheme", "accuracy", "hardware_accuracy", "latency_s", "energy_j", "mac_energy_j", "pe_array_mm2",
               "pareto_energy", "pareto_mac_energy", "pareto_area"]].copy()
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"{study.model}: float accuracy {100 * study.meta['float_accuracy']:.2f} %, {len(t)} schemes in "
          f"{study.meta['seconds']:.1f} s")
    print(f"study written to {out}/ (study.csv, study.md, accuracy_vs_energy.png, accuracy_vs_mac_energy.png, "
          "accuracy_vs_area.png)")


def _cmd_sweep(args: argparse.Namespace) -> None:
    from ._util import check_writable_dir

    if args.report is not None:
        if opts := [o for o, v in (("SWEEP", args.sweep), ("--out", args.out), ("--scheduler", args.scheduler),
                                   ("--workers", args.workers), ("--batch", args.batch),
                                   ("--progress", args.progress or None)) if v is not None]:
            raise UsageError(f"{', '.join(opts)}: not with --report, which redraws the figures of the results in "
                             "its folder")
        from .sweep import write_report

        if not Path(args.report).is_dir():
            raise UsageError(f"--report {str(args.report)!r} is not a folder of sweep results")
        folder = write_report(args.report)
        print(f"report redrawn in {folder}/ (summary.md, pareto_*.png, axes.png)")
        return
    if args.sweep is None or args.out is None:
        raise UsageError("give a sweep file and --out DIR (or --report DIR to redraw a finished sweep's figures)")
    if args.scheduler is not None and args.workers is not None:
        raise UsageError("--workers starts a local cluster; a --scheduler at an address has its own workers")
    for option, value in (("--workers", args.workers), ("--batch", args.batch)):
        if value is not None and value < 1:
            raise UsageError(f"{option} must be at least 1, not {value}")
    check_writable_dir(args.out, create=False)
    from .sweep import load_sweep, run_sweep
    from .sweep._run import DEFAULT_BATCH

    sweep = load_sweep(args.sweep)
    print(f"sweep {sweep.name}: {len(sweep):,} points ({len(sweep.models)} models, axes "
          f"{', '.join(sweep.axes) or 'none'}) into {args.out}/")
    try:
        run = run_sweep(sweep, args.out, scheduler=args.scheduler, workers=args.workers,
                        batch=args.batch or DEFAULT_BATCH, progress=_show_progress(args))
    except KeyboardInterrupt:
        print(f"hwsim: the points finished so far are kept in {args.out}/; run the same command to resume",
              file=sys.stderr)
        raise
    print(run.summary())
    print(f"results in {args.out}/ (pandas.read_parquet({str(args.out)!r})); report in {args.out}/_report/ "
          "(summary.md, pareto_*.png, axes.png)")


PROGRESS_HELP = "show each phase (build, prune, quantize, capture, ...) on stderr even when it is not a terminal"
NO_CACHE_HELP = ("capture the model again instead of reading the workload cached by an earlier run (the cache key "
                 "covers the model's code and weights, the specs and the hwsim, torch and numpy versions)")
MODEL_HELP = ("a registry name (e.g. deit_small) or a .py file defining `model` and `example_args` (a module or a "
              "function returning one, a tuple of inputs or a function returning it) and optionally "
              "`example_kwargs` (a dict of keyword inputs)")
PRUNE_HELP = ("block:BKxBN:D[:pad], nm:N:M, unstructured:D or channel:D (D = fraction kept), or "
              "auto:METRIC=F[:BKxBN][:dp|:lpvit][:taylor|:output][:pad]: block pruning with per-layer densities "
              "chosen so that the simulated METRIC (latency, energy or macs) is at most F of the dense model's "
              "(docs/pruning.md)")
QUANT_HELP = "fixed:B, sp2:B, msq:B:SP2_FRACTION, posit:N[:ES] or posit+fixed:N:ES:FIXED_BITS[:POSIT_FRACTION]"
ACT_BITS_HELP = ("quantize the input activations of the quantized layers to B-bit fixed point too (calibrated "
                 "on the model's training inputs, or its example input when it has no data)")
FINETUNE_HELP = "quantization-aware fine-tuning (straight-through estimator) for N epochs on the training split"
EXCLUDE_HELP = ("leave the weights whose parameter name matches this fnmatch pattern dense and unquantized, "
                "e.g. --exclude head.weight --exclude 'blocks.0.*' (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hwsim",
        description="Cycle-level accelerator simulator and cost model for pruned and quantized neural networks.",
        epilog="examples:\n"
               "  hwsim simulate deit_base --prune block:32x32:0.25 --quant sp2:4 --baseline dense --out out/b\n"
               "  (-v / --verbose anywhere: torch's own logs and the traceback of an error)\n"
               "  hwsim gemm --m 512 --k 768 --n 768 --array 32x32 --block 32x32 --density 0.5 --mac sp2\n"
               "  hwsim capture deit_small --prune block:32x32:0.5 --quant msq:4:0.5 -o ds.npz\n"
               "  hwsim simulate digits_mlp --quant posit+fixed:4:1:4 --out out/pf   (the MAC follows the scheme)\n"
               "  hwsim rtl area posit_fixp --param n=4 --param es=1\n"
               "  hwsim sweep configs/sweeps/deit_s_arrays.yaml --out out/sweep --workers 2\n"
               "  hwsim formats show posit 4 1 sp2 4 --plot levels.png",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    formats = sub.add_parser("formats", help="number formats: code tables and level plots")
    fsub = formats.add_subparsers(dest="action", required=True, parser_class=_Parser)
    show = fsub.add_parser(
        "show",
        help="print the code/value table of one or more formats",
        description="SPEC is KIND[:params] or KIND params...: fixed 8 7, ufixed 8, sp2 4 [m1 m2], posit 8 2.",
    )
    show.add_argument("spec", nargs="+", metavar="SPEC", help="e.g. posit 4 1, or posit:4:1 sp2:4 fixed:4:3")
    show.add_argument("--csv", type=Path, help="write the table(s) as CSV")
    show.add_argument("--plot", type=Path, help="draw the levels of every format side by side (.png/.svg/.pdf)")
    show.add_argument("-q", "--quiet", action="store_true", help="do not print the tables")
    show.set_defaults(func=_cmd_formats_show)

    rtl = sub.add_parser("rtl", help="generated hardware: synthesized area, Verilog export")
    rsub = rtl.add_subparsers(dest="action", required=True, parser_class=_Parser)
    from .mac import MAC_KINDS

    unit_help = (f"hardware unit: a MAC ({', '.join(MAC_KINDS)}) or gemm, the whole block-sparse engine "
                 "(--param rows=4 cols=4 block_k block_n mac=KIND, the MAC's parameters, x_depth w_depth "
                 "idx_depth max_n_tiles y_depth)")
    param_help = "a unit parameter, repeatable, e.g. --param w_bits=4 --param overflow=saturate"
    area = rsub.add_parser("area", help="synthesize a unit with the pinned Yosys and print its size")
    area.add_argument("unit", metavar="UNIT", help=unit_help)
    area.add_argument("--param", action="append", metavar="K=V", help=param_help)
    area.add_argument("--json", action="store_true", help="print the full report as JSON")
    area.add_argument("--no-cache", action="store_true", help="synthesize even when a cached result exists")
    area.set_defaults(func=_cmd_rtl_area)
    export = rsub.add_parser("export", help="write a unit's Verilog and a JSON description of its ports")
    export.add_argument("unit", metavar="UNIT", help=unit_help)
    export.add_argument("--param", action="append", metavar="K=V", help=param_help)
    export.add_argument("-o", "--output", type=Path, required=True, help="folder for <top>.v and <top>.json")
    export.add_argument("--name", help="top module name (default mac_<kind>, or gemm)")
    export.set_defaults(func=_cmd_rtl_export)
    verify = rsub.add_parser("verify", help="run the project's cocotb bench for a MAC kind, the engine or a LUT "
                             "network against its generated RTL, or against your own Verilog with the same ports")
    verify.add_argument("unit", metavar="UNIT", help=unit_help + "; verify also takes lut, a LUT network "
                        "(--param model=NAME|FILE.py --param mode=full|observed)")
    verify.add_argument("--param", action="append", metavar="K=V", help=param_help)
    verify.add_argument("--sim", choices=("icarus", "verilator"), default="icarus", help="HDL simulator (default "
                        "icarus)")
    verify.add_argument("--cycles", type=int, default=2000, metavar="N", help="random stimulus cycles (default "
                        "2000; MACs of 12 input bits or fewer also get every code pair first; gemm: one random "
                        "problem per 500, at least 2; lut: samples, one per cycle)")
    verify.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the random stimulus")
    verify.add_argument("--verilog", type=Path, metavar="FILE", help="your own Verilog of the unit (same ports as "
                        "hwsim rtl export writes) instead of the generated one")
    verify.add_argument("--top", metavar="NAME", help="top module of --verilog (default mac_<kind>)")
    verify.add_argument("--build", type=Path, metavar="DIR", help="keep the build, logs and waves in DIR")
    verify.add_argument("--waves", action="store_true", help="record the trace (FST/VCD) into --build (default "
                        "build/verify-<kind>)")
    verify.set_defaults(func=_cmd_rtl_verify)

    gemm = sub.add_parser("gemm", help="simulate one block-sparse GEMM on the engine (cycle-exact)")
    gemm.add_argument("--m", type=int, required=True)
    gemm.add_argument("--k", type=int, required=True)
    gemm.add_argument("--n", type=int, required=True)
    gemm.add_argument("--array", default="32x32", metavar="RxC", help="PE array rows x columns (default 32x32)")
    gemm.add_argument("--block", metavar="BKxBN", help="pruning block, K x N (default CxC)")
    gemm.add_argument("--density", type=float, default=1.0, help="fraction of blocks kept (default 1)")
    gemm.add_argument("--mac", default="fixed", choices=MAC_KINDS, help="MAC kind of the PEs (default fixed)")
    gemm.add_argument("--param", action="append", metavar="K=V", help="a MAC parameter, repeatable")
    gemm.add_argument("--dataflow", default="os", choices=("os", "ws", "is"),
                      help="os or ws for the engine (ws: --block defaults to ROWSxCOLS); is only with "
                      "--scalesim-compat")
    gemm.add_argument("--scalesim-compat", action="store_true",
                      help="dense compute cycles exactly as SCALE-Sim v3 reports them")
    gemm.add_argument("--seed", type=int, default=0, help="seed of the random block mask")
    gemm.add_argument("--json", action="store_true", help="print one JSON object")
    gemm.set_defaults(func=_cmd_gemm)

    cap = sub.add_parser("capture", help="capture a model (pruned/quantized) into a hardware workload file")
    cap.add_argument("model", metavar="MODEL", help=MODEL_HELP)
    cap.add_argument("--prune", metavar="SPEC", help=PRUNE_HELP)
    cap.add_argument("--quant", metavar="SPEC", help=QUANT_HELP)
    cap.add_argument("--exclude", action="append", metavar="PATTERN", help=EXCLUDE_HELP)
    cap.add_argument("--act-bits", type=int, metavar="B", help=ACT_BITS_HELP)
    cap.add_argument("--finetune", type=int, metavar="N", help=FINETUNE_HELP)
    cap.add_argument("--arch", metavar="FILE", help="accelerator config YAML an auto: prune spec allocates on "
                     "(default: configs/default.yaml with the MAC the --quant scheme needs)")
    cap.add_argument("-o", "--output", type=Path, required=True, help="workload file to write (.npz)")
    cap.add_argument("--allow-unmapped", action="store_true", help="keep ops with no hardware mapping as "
                     "'unmapped' entries instead of failing")
    cap.add_argument("--max-rows", type=int, default=60, help="rows of the layer table to print")
    cap.add_argument("--no-cache", action="store_true", help=NO_CACHE_HELP)
    cap.add_argument("--progress", action="store_true", help=PROGRESS_HELP)
    cap.set_defaults(func=_cmd_capture)

    sim = sub.add_parser("simulate", help="the main job: latency, energy and area of a model on an accelerator")
    sim.add_argument("model", metavar="MODEL", help=MODEL_HELP.replace("a registry", "a saved workload (.npz), a "
                                                                        "registry"))
    sim.add_argument("--prune", metavar="SPEC", help=PRUNE_HELP + " (models only)")
    sim.add_argument("--quant", metavar="SPEC", help=QUANT_HELP + " (models only); without --arch the default "
                     "accelerator gets the MAC this scheme needs")
    sim.add_argument("--exclude", action="append", metavar="PATTERN", help=EXCLUDE_HELP)
    sim.add_argument("--allow-unmapped", action="store_true", help="simulate a model with ops that have no "
                     "hardware mapping: they are listed in the report and left out of its totals")
    sim.add_argument("--arch", metavar="FILE", help="accelerator config YAML (default: configs/default.yaml with "
                     "the MAC the --quant scheme needs); its MAC must run every layer's format")
    sim.add_argument("--baseline", choices=("dense", "mac"), help="dense: also simulate the unpruned model (speedup, "
                     "energy ratio); mac (with --lut): the same network on the MAC engine beside its LUT logic")
    sim.add_argument("--lut", choices=("full", "observed"), help="run a LUT network (digits_lut, cancer_lut, jsc_s, "
                     "...) as pipelined LUT logic: full specifies every input pattern (LogicNets), observed only "
                     "the training split's (NullaNet); latency, LUTs, area and energy from synthesis of its RTL")
    sim.add_argument("--act-bits", type=int, metavar="B", help=ACT_BITS_HELP)
    sim.add_argument("--finetune", type=int, metavar="N", help=FINETUNE_HELP)
    sim.add_argument("--eval", action="store_true", help="also measure top-1 accuracy on the model's held-out data "
                     "(registry models with data, or a model file defining eval_data or evaluate(model))")
    sim.add_argument("--out", type=Path, required=True, help="report folder")
    sim.add_argument("--no-cache", action="store_true", help=NO_CACHE_HELP)
    sim.add_argument("--progress", action="store_true", help=PROGRESS_HELP)
    sim.set_defaults(func=_cmd_simulate)

    lut = sub.add_parser("lut", help="LUT networks as logic (NullaNet / LogicNets)")
    lsub = lut.add_subparsers(dest="action", required=True, parser_class=_Parser)
    lexp = lsub.add_parser("export", help="write a LUT network's pipelined RTL as Verilog, with a JSON port map")
    lexp.add_argument("model", metavar="MODEL", help="a LUT network: digits_lut, cancer_lut, jsc_s, jsc_m, ... or a "
                      ".py file defining model (a JSCNet)")
    lexp.add_argument("--mode", choices=("full", "observed"), default="full", help="full: every input pattern "
                      "specified (default); observed: only the training split's, the rest don't-cares")
    lexp.add_argument("-o", "--output", type=Path, required=True, help="folder for <top>.v and <top>.json")
    lexp.add_argument("--name", help="design name (top module lut_<name>; default the model's)")
    lexp.set_defaults(func=_cmd_lut_export)

    study = sub.add_parser("study", help="studies: accuracy against latency, energy and area")
    ssub = study.add_subparsers(dest="action", required=True, parser_class=_Parser)
    squant = ssub.add_parser("quant", help="compare quantization schemes, each on an accelerator whose MAC runs it")
    squant.add_argument("model", metavar="MODEL", help="a registry model with data (digits_mlp, vit_digits, ...) "
                        "or a .py file defining model, example_args and eval_data (or evaluate(model))")
    squant.add_argument("--schemes", metavar="S1,S2,...", help="comma-separated quant specs (default: fixed:4, "
                        "fixed:8, sp2:4, msq:4:0.5, posit:4:0, posit:4:1, posit+fixed:4:1:4)")
    squant.add_argument("--arch", metavar="FILE", help="accelerator config YAML: array, buffers and clock (the MAC "
                        "is replaced by each scheme's)")
    squant.add_argument("--finetune", type=int, metavar="N", help=FINETUNE_HELP + " (post-training accuracy too)")
    squant.add_argument("--act-bits", type=int, default=8, metavar="B", help="activation bits (default 8)")
    squant.add_argument("--exclude", action="append", metavar="PATTERN", help=EXCLUDE_HELP)
    squant.add_argument("--out", type=Path, required=True, help="folder for study.csv, study.md and the figures")
    squant.set_defaults(func=_cmd_study_quant)
    sprune = ssub.add_parser("prune", help="accuracy vs simulated latency/energy/MACs for uniform, DP and LPViT "
                             "block-sparsity allocations")
    sprune.add_argument("model", metavar="MODEL", help="a registry model with data (vit_digits, digits_cnn, ...) or "
                        "a .py file defining model, example_args and eval_data/train_data")
    sprune.add_argument("--budgets", metavar="F1,F2,...", default="0.8,0.6,0.4,0.3",
                        help="fractions of the dense model's simulated metric (default 0.8,0.6,0.4,0.3)")
    sprune.add_argument("--metric", choices=("latency", "energy", "macs"), default="latency",
                        help="what the budget limits (default latency)")
    sprune.add_argument("--arch", metavar="FILE", help="accelerator config YAML (default configs/default.yaml)")
    sprune.add_argument("--finetune", type=int, metavar="N", help="also fine-tune each pruned model N epochs on "
                        "its training split with the masks held fixed")
    sprune.add_argument("--exclude", action="append", metavar="PATTERN", help=EXCLUDE_HELP)
    sprune.add_argument("--out", type=Path, required=True, help="folder for study.csv, study.md and the figure")
    sprune.set_defaults(func=_cmd_study_prune)

    sweep = sub.add_parser("sweep", help="run a design-space sweep on a local or remote Dask cluster into a "
                           "resumable Parquet dataset", description="SWEEP.yaml names the models, the base "
                           "accelerator and the axes: grid values and random draws over any config key, prune "
                           "and quant specs (docs/sweeps.md). Points already in --out are skipped, so an "
                           "interrupted sweep resumes where it stopped.")
    sweep.add_argument("sweep", metavar="SWEEP.yaml", nargs="?", help="the sweep file")
    sweep.add_argument("--out", type=Path, metavar="DIR", help="results folder: part-*.parquet, and _report/ with "
                       "the figures")
    sweep.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler, e.g. tcp://host:8786 "
                       "(default: a local cluster)")
    sweep.add_argument("--workers", type=int, metavar="N", help="worker processes of the local cluster (default: "
                       "one per core)")
    sweep.add_argument("--batch", type=int, metavar="N", help="rows per committed batch file (default 256; a batch "
                       "is also committed every 2 s)")
    sweep.add_argument("--report", type=Path, metavar="DIR", help="only redraw DIR/_report from its results")
    sweep.add_argument("--progress", action="store_true", help="show the progress bar even when stderr is not a "
                       "terminal")
    sweep.set_defaults(func=_cmd_sweep)

    fdemo = fsub.add_parser("demo", help="write the code tables and a level plot of the 4-bit formats")
    fdemo.add_argument("--out", type=Path, default=Path("out/formats"), help="folder (default out/formats)")
    fdemo.set_defaults(func=_cmd_formats_demo)

    demo = sub.add_parser("demo", help="the main job on an embedded default (DeiT-S, 32x32 blocks at 50%%, SP2-4)")
    demo.add_argument("--out", type=Path, default=Path("out/demo"), help="report folder (default out/demo)")
    demo.set_defaults(func=_cmd_demo)
    return parser


_WARNED: set[str] = set()


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if str(message) not in _WARNED:  # said once, however often a spec is parsed
        _WARNED.add(str(message))
        print(f"hwsim: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    import warnings

    with warnings.catch_warnings():  # restores the warning display for an embedding caller (tests, notebooks)
        warnings.showwarning = _one_line_warning  # a renamed spelling is one line, not a source location
        return _main(argv)


VERBOSE_FLAGS = ("-v", "--verbose")


def _main(argv: Sequence[str] | None) -> int:
    import logging

    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = any(a in VERBOSE_FLAGS for a in argv)  # anywhere on the line: hwsim -v simulate ..., or at the end
    argv = [a for a in argv if a not in VERBOSE_FLAGS]
    hwsim_logger = logging.getLogger("hwsim")
    level = hwsim_logger.level
    if verbose:  # torch's own logs during capture, and the traceback of an error
        hwsim_logger.setLevel(logging.DEBUG)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        code = args.func(args)
    except (UsageError, ValueError, TypeError) as e:
        _trace(verbose)
        print(f"hwsim: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:
        _trace(verbose)
        name = f" {e.filename!r}" if e.filename else ""
        print(f"hwsim: error:{name} {e.strerror or e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # Ctrl-C: one line, and the writers have removed what they had started
        _trace(verbose)
        print("hwsim: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        hwsim_logger.setLevel(level)
    return code if isinstance(code, int) else 0


def _trace(verbose: bool) -> None:
    if verbose:
        import traceback

        traceback.print_exc()


def run() -> None:
    """The console entry point: `main`, then exit without tearing the interpreter down object by object (after a
    DeiT-B run, freeing the model and its arrays that way took 1.6 s; the OS reclaims the memory at once). Every
    file was closed and moved into place before `main` returned."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed or broken pipe: nothing more can be said
        code = code or 1
    os._exit(code)


if __name__ == "__main__":
    run()
