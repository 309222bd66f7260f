"""Run a project cocotb bench on generated RTL, or on a user's own Verilog with the same ports."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ._simulators import SIMULATORS, build_args, simulator_env

__all__ = ["VerifyResult", "run_cocotb", "verify_gemm", "verify_lut", "verify_mac"]


@dataclass(frozen=True)
class VerifyResult:
    """``passed``; ``report``: the first mismatch (cycle, port, expected, got, inputs), or why the run failed;
    ``stimulus``: what was driven; ``waves``: the trace file when kept; ``log``: the simulator's log."""

    design: str
    sim: str
    passed: bool
    report: str | None
    stimulus: str
    waves: Path | None
    log: Path | None


@contextlib.contextmanager
def _workdir(build_dir) -> Iterator[Path]:
    if build_dir is not None:
        path = Path(build_dir)
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="hwsim-verify-") as tmp:
        yield Path(tmp)


@contextlib.contextmanager
def _environ(extra: dict[str, str]) -> Iterator[None]:
    """The simulator's variables for the runner's subprocesses, restored afterwards."""
    old = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _tail(log: Path, lines: int = 4) -> str:
    """The last lines of a simulator log that say something, joined: the temporary folder holding the log is gone
    when the report is read."""
    if not log.exists():
        return "no log was written"
    text = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    return " | ".join(text[-lines:]) or "the log is empty"


def run_cocotb(sim: str, source: Path, top: str, bench: str, env: dict[str, str], work: Path, waves: bool):
    """(passed, report or None, the log) of the cocotb module ``bench`` on ``source``, built and run in ``work``
    (a failing bench writes its first mismatch to ``env["HWSIM_REPORT"]``)."""
    from cocotb_tools.runner import get_runner

    runner = get_runner(sim)
    build_dir = work / f"build_{sim}"
    log = work / f"{sim}.log"
    report = Path(env["HWSIM_REPORT"])
    report.unlink(missing_ok=True)
    with _environ(simulator_env(sim)):
        try:
            runner.build(sources=[source], hdl_toplevel=top, build_dir=build_dir, timescale=("1ns", "1ps"),
                         always=True, build_args=build_args(sim), waves=waves, log_file=work / f"{sim}-build.log")
        except (SystemExit, RuntimeError, subprocess.CalledProcessError):
            return False, f"{sim} could not build {source.name} (top {top}): {_tail(work / f'{sim}-build.log')}", log
        # assertion rewriting for the bench only: by default cocotb rewrites every module imported
        env = {"COCOTB_REWRITE_ASSERTION_FILES": f"{bench.rpartition('.')[2]}.py", **env}
        results = work / "results.xml"
        results.unlink(missing_ok=True)
        try:
            results = Path(runner.test(hdl_toplevel=top, test_module=bench, build_dir=build_dir, test_dir=work,
                                       extra_env=env, timescale=("1ns", "1ps"), waves=waves, log_file=log,
                                       results_xml=str(results)))
        except SystemExit:  # the runner exits when a cocotb test fails
            pass
    if report.exists():
        return False, report.read_text(), log
    text = results.read_text() if results.exists() else ""
    if "<failure" in text or "<error" in text or not text:
        return False, f"the {sim} run failed before any check: {_tail(log)}", log
    return True, None, log


def _check_run(sim: str, count, what: str, waves: bool, build_dir) -> None:
    if sim not in SIMULATORS:
        raise ValueError(f"sim must be one of {', '.join(SIMULATORS)}, not {sim!r}")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"{what} must be a whole number >= 1, not {count!r}")
    if waves and build_dir is None:
        raise ValueError("waves: give build_dir, the folder that keeps the trace")
    simulator_env(sim)  # what is missing, before anything is built


def _source(verilog, top: str, generate, work: Path) -> tuple[Path, str]:
    """(the Verilog file to simulate, how the report names it): the user's, or the generated design."""
    if verilog is None:
        from ..rtl import write_verilog

        return write_verilog(generate(), top, work / "src"), f"generated {top}"
    source = Path(verilog).resolve()
    if not source.is_file():
        raise ValueError(f"verilog file {str(verilog)!r} does not exist")
    return source, f"{source.name} (top {top})"


def _result(design, sim, stimulus, work, waves, build_dir, run) -> VerifyResult:
    passed, report, log = run
    trace = next((p for ext in ("fst", "vcd") for p in sorted(work.rglob(f"*.{ext}"))), None) if waves else None
    return VerifyResult(design, sim, passed, report, stimulus, trace, log if build_dir is not None else None)


def verify_gemm(cfg, *, depths: dict | None = None, sim: str = "icarus", problems: int = 6, seed: int = 0,
                verilog=None, top: str | None = None, build_dir=None, waves: bool = False) -> VerifyResult:
    """Run ``problems`` random GEMMs (densities 0 to 1, all-zero W, a single block, corner codes, bias on and off;
    ``seed``) back to back on the engine of ``cfg`` (an `hwsim.arch.EngineConfig`) with memories ``depths``
    (default `hwsim.cost.default_engine_depths`, what ``hwsim rtl export gemm`` writes). Each problem's Y must
    equal `hwsim.sim.gemm_outputs` bit for bit and its start-to-done cycles `gemm_timing` exactly. ``verilog``,
    ``top``, ``build_dir`` and ``waves`` as in `verify_mac` (default top ``gemm``)."""
    from ..cost._engine_area import default_engine_depths, engine_component
    from .gemm_cases import engine_run

    _check_run(sim, problems, "problems", waves, build_dir)
    depths = {**default_engine_depths(cfg), **(depths or {})}
    engine_component(cfg, depths, check_only=True)  # bad depths fail here, in one line
    top = top or "gemm"
    run = engine_run(cfg, depths, problems, seed)
    stimulus = (f"{problems} random problems (seed {seed}, up to {max(r['m'] for r in run)}x"
                f"{max(r['k'] for r in run)}x{max(r['n'] for r in run)}), memories "
                + ", ".join(f"{k}={v}" for k, v in depths.items()))
    with _workdir(build_dir) as work:
        source, design = _source(verilog, top, lambda: engine_component(cfg, depths), work)
        env = {"HWSIM_GEMM": json.dumps(run), "HWSIM_REPORT": str(work / "mismatch.txt")}
        return _result(design, sim, stimulus, work, waves, build_dir,
                       run_cocotb(sim, source, top, "hwsim.verify.tb_gemm", env, work, waves))


def verify_mac(unit, *, sim: str = "icarus", cycles: int = 2000, seed: int = 0, verilog=None, top: str | None = None,
               build_dir=None, waves: bool = False) -> VerifyResult:
    """Drive the RTL of MAC ``unit`` (a `hwsim.mac.MacUnit`) with ``cycles`` of random golden-model stimulus
    (valid gaps, clears, overflow bursts, NaR; ``seed``), every cycle checked against `hwsim.mac`'s pipeline
    model; small units also get every weight code x every activation code. ``verilog``: a user's own Verilog file
    with the generated design's ports (top module ``top``, default ``mac_<kind>``) instead of the generated one.
    ``build_dir`` keeps the build (default: a temporary folder); ``waves`` records the trace into it."""
    _check_run(sim, cycles, "cycles", waves, build_dir)
    top = top or f"mac_{unit.kind}"
    exhaustive = (1 << (unit.w_bits + unit.x_bits)) <= 1 << 12
    streams = [["exhaustive"]] * exhaustive + [["random", cycles, seed]]
    stimulus = ("every weight x activation code, then " if exhaustive else "") + f"{cycles} random cycles (seed {seed})"
    with _workdir(build_dir) as work:
        from ..rtl import mac_component

        source, design = _source(verilog, top, lambda: mac_component(unit), work)
        env = {"HWSIM_MAC": json.dumps({"kind": unit.kind, **unit.params()}), "HWSIM_STREAMS": json.dumps(streams),
               "HWSIM_REPORT": str(work / "mismatch.txt")}
        return _result(design, sim, stimulus, work, waves, build_dir,
                       run_cocotb(sim, source, top, "hwsim.verify.tb_mac", env, work, waves))


def verify_lut(model, *, mode: str = "full", sim: str = "icarus", samples: int = 2000, seed: int = 0, verilog=None,
               top: str | None = None, build_dir=None, waves: bool = False) -> VerifyResult:
    """Stream ``samples`` inputs, one per cycle, through LUT network ``model`` (a registry name or model file, as
    `hwsim.lut.lut_design`) built in ``mode``, and check every output bit for bit against the quantized torch
    model, ``latency`` cycles after its sample, with y_valid. Full mode specifies every input pattern, so the
    samples are the model's held-out inputs (its training inputs without them) topped up with random ones;
    observed mode only the patterns its training inputs show, so the samples are those. ``seed`` picks them.
    ``verilog``, ``top`` (default lut_<name>), ``build_dir`` and ``waves`` as in `verify_mac`."""
    import numpy as np
    import torch

    from ..lut import design_inputs, lut_design
    from ..lut._network import _train_inputs, load_lut_model

    _check_run(sim, samples, "samples", waves, build_dir)
    module, name, mdata = load_lut_model(model)
    observed = mode == "observed"
    train = _train_inputs(mdata, name) if observed else None
    design = lut_design(module, mode, train, name=name)
    rng = np.random.default_rng(seed)
    if observed:
        pool, source = train, "training inputs"
    else:
        splits = [] if mdata is None else [s for s in (mdata.test, mdata.train) if s]
        pool = torch.cat([b[0][0] for b in splits[0]]) if splits else torch.zeros(0, design.in_features)
        source = "held-out inputs" if mdata is not None and mdata.test else "training inputs" if splits else ""
    take = rng.permutation(len(pool))[:samples]
    x = pool[torch.as_tensor(take, dtype=torch.long)]
    extra = samples - len(x)
    if extra > 0 and not observed:  # full mode: random inputs too, spread over and past the quantizer's range
        scale = float(pool.std()) if len(pool) > 1 else 1.0
        noise = torch.as_tensor(rng.standard_normal((extra, design.in_features)) * 2 * scale, dtype=pool.dtype)
        x = torch.cat([x, noise])
        source = f"{len(take)} {source} and {extra} random inputs" if len(take) else f"{extra} random inputs"
    else:
        source = f"{len(x)} {source}"
    codes_in, codes_out = design_inputs(module, x)
    top = top or design.top
    stimulus = f"{source} (seed {seed}), {design.mode} mode, latency {design.latency}"
    with _workdir(build_dir) as work:
        source_file, described = _source(verilog, top, design.component, work)
        case = work / "lut_case.json"
        case.write_text(json.dumps({"latency": design.latency, "inputs": design.pack(codes_in),
                                    "expected": design.pack_outputs(codes_out)}))
        env = {"HWSIM_LUT": str(case), "HWSIM_REPORT": str(work / "mismatch.txt")}
        return _result(described, sim, stimulus, work, waves, build_dir,
                       run_cocotb(sim, source_file, top, "hwsim.verify.tb_lut", env, work, waves))
