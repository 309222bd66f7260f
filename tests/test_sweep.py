"""Design-space sweeps (`hwsim.sweep`): expansion, validation, and runs on a real 2-worker LocalCluster that must
match serial `hwsim.simulate` value for value, survive kill -9 of the client and of a worker, and resume with
every point exactly once."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from hwsim.sweep import load_sweep, read_results, run_sweep, sweep_from_dict

pytestmark = pytest.mark.slow

# digits_mlp (64 -> 64 -> 10, trained weights): its warm workload-cache hit takes ~10 ms, so the serial reference
# of hundreds of points is quick. 2 x 2 x 3 x 3 grid points x 6 random draws = 216 points, 4 captures.
SWEEP = {
    "name": "parity",
    "models": ["digits_mlp"],
    "options": {"baseline": "dense"},
    "grid": {"prune": [None, "block:16x16:0.5:pad"], "quant": ["sp2:4", "fixed:8"], "array.rows": [4, 8, 16],
             "array.cols": [4, 8, 16]},
    "random": {"samples": 6, "seed": 3, "axes": {
        "clock_mhz": {"uniform": [200, 1000]},
        "memory.dram_gbps": {"log_uniform": [1.0, 100.0]},
        # the smallest buffers cannot hold one weight tile: those points fail, and say so in their row
        "memory.weight_sram_kb": {"choice": [0.25, 4, 64]},
    }},
}


def write_sweep(folder: Path, data: dict, name: str = "sweep.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=50)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


# ---- expansion and keys (no cluster) ------------------------------------------------------------------------------


def test_points_are_the_grid_crossed_with_the_random_draws(tmp_path):
    s = sweep_from_dict(SWEEP, "s.yaml", tmp_path)
    assert len(s) == 2 * 2 * 3 * 3 * 6
    points = list(s.points())
    assert [p.index for p in points] == list(range(len(s)))
    combos = {(p.prune, p.quant, p.values["array.rows"], p.values["array.cols"]) for p in points}
    assert len(combos) == 36
    # every grid point gets the same six draws; the draws lie in their ranges
    by_grid: dict = {}
    for p in points:
        key = (p.prune, p.quant, p.values["array.rows"], p.values["array.cols"])
        by_grid.setdefault(key, []).append((p.values["clock_mhz"], p.values["memory.dram_gbps"]))
    assert len({tuple(v) for v in by_grid.values()}) == 1
    clocks = np.array([p.values["clock_mhz"] for p in points])
    dram = np.array([p.values["memory.dram_gbps"] for p in points])
    assert (clocks >= 200).all() and (clocks <= 1000).all() and (dram >= 1).all() and (dram <= 100).all()
    assert {p.values["memory.weight_sram_kb"] for p in points} <= {0.25, 4, 64}
    p = s.point(7)
    assert p.config["array"]["rows"] == p.values["array.rows"] and p.config["clock_mhz"] == p.values["clock_mhz"]
    assert s.point(7) == p  # computed from the index alone
    with pytest.raises(IndexError):
        s.point(len(s))


def test_keys_are_distinct_stable_and_follow_the_content(tmp_path):
    s = sweep_from_dict(SWEEP, "s.yaml", tmp_path)
    keys = [s.key(p) for p in s.points()]
    assert len(set(keys)) == len(keys)
    again = sweep_from_dict(SWEEP, "other_name.yaml", tmp_path)
    assert [again.key(p) for p in again.points()] == keys  # the file's name is not part of a point
    changed = sweep_from_dict({**SWEEP, "options": {"baseline": None}}, "s.yaml", tmp_path)
    assert not set(changed.key(p) for p in changed.points()) & set(keys)


def test_int_uniform_includes_both_ends_and_mac_axes_name_the_mac(tmp_path):
    s = sweep_from_dict({"models": ["digits_mlp"], "random": {"samples": 400, "axes": {
        "vector.lanes": {"int_uniform": [1, 3]},
        "array.mac": {"choice": [{"kind": "fixed", "params": {"w_bits": 8, "x_bits": 8}}]}}}}, "s.yaml", tmp_path)
    lanes = {p.values["vector.lanes"] for p in s.points()}
    assert lanes == {1, 2, 3}
    assert s.mac_given
    assert not sweep_from_dict(SWEEP, "s.yaml", tmp_path).mac_given


@pytest.mark.parametrize(("change", "message"), [
    ({"grid": {"array.rowz": [4]}}, "unknown axis 'array.rowz'; did you mean 'rows'"),
    ({"grid": {"arrray.rows": [4]}}, "'arrray' is not a config section; did you mean 'array'"),
    ({"grid": {"array.rows": []}}, "grid.array.rows is empty"),
    ({"grid": {"prune": ["block:32x32:1.5"]}}, "grid.prune: 'block:32x32:1.5'"),
    ({"grid": {"quant": ["sp3:4"]}}, "grid.quant: 'sp3:4'"),
    ({"grid": {"array.rows": [4, 0]}}, "grid.array.rows: 0"),
    ({"grid": {"array.rows": [4, 4]}}, "a value is given twice"),
    ({"random": {"samples": 3, "axes": {"clock_mhz": {"normal": [1, 2]}}}}, "unknown distribution 'normal'"),
    ({"random": {"samples": 3, "axes": {"clock_mhz": {"uniform": [500, 100]}}}}, "low 500 is above high 100"),
    ({"random": {"samples": 3, "axes": {"clock_mhz": {"uniform": [100, 1e9]}}}}, "clock_mhz must be at most"),
    ({"random": {"samples": 0, "axes": {"clock_mhz": {"uniform": [1, 2]}}}}, "random.samples must be"),
    ({"random": {"samples": 2, "axes": {}}}, "random.axes must map at least one axis"),
    ({"grdi": {}}, "unknown key 'grdi'; did you mean 'grid'"),
    ({"models": ["no_such_model"]}, "models:"),
    ({"models": []}, "models is empty"),
    ({"options": {"baselin": "dense"}}, "unknown option 'baselin'; did you mean 'baseline'"),
    ({"options": {"finetune": 2}, "grid": {"prune": ["nm:2:4"]}}, "finetune fine-tunes a quantized model"),
    ({"arch": {"array": {"rows": -1}}}, "arch:"),
    ({"grid": {"array.mac": [{"kind": "sp2"}]}, "random": {"samples": 2, "axes": {
        "array.mac.params.acc_bits": {"choice": [20, 24]}}}},
     "axes 'array.mac' and 'array.mac.params.acc_bits' overlap"),
    ({"grid": {"array.mac.params.acc_bits": [20, 24]}}, "an array.mac.params axis needs the MAC's kind"),
    ({"random": {"samples": 2, "axes": {"act_bits": {"uniform": [4, 8]}}}}, "draw it with int_uniform or choice"),
    ({"random": {"samples": 2, "axes": {"vector.lanes": {"uniform": [4, 64]}}}}, "vector.lanes: 4.5"),
])
def test_bad_sweep_files_fail_before_any_work_in_one_line(tmp_path, capsys, change, message):
    from hwsim.cli import main

    path = write_sweep(tmp_path, {**SWEEP, **change})
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hwsim: error: "), lines
    assert message in lines[0] and str(path) in lines[0]
    assert not out.exists()  # nothing was started


def test_a_bad_sweep_file_is_one_line_from_the_command(tmp_path):
    path = write_sweep(tmp_path, {**SWEEP, "grid": {"array.rowz": [4]}})
    r = subprocess.run([sys.executable, "-m", "hwsim.cli", "sweep", str(path), "--out", str(tmp_path / "out")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "unknown axis 'array.rowz'" in r.stderr, r.stderr


def test_a_saved_workload_takes_no_capture_axes(tmp_path):
    from hwsim.sweep._spec import SweepError

    (tmp_path / "w.npz").write_bytes(b"not read before the check")
    with pytest.raises(SweepError, match=r"quant, options.eval: only for models; the saved workload w.npz"):
        sweep_from_dict({"models": ["w.npz"], "options": {"eval": True}, "grid": {"quant": ["sp2:4"]}}, "s.yaml",
                        tmp_path)
    assert len(sweep_from_dict({"models": ["w.npz"], "grid": {"array.rows": [4, 8]}}, "s.yaml", tmp_path)) == 2


def test_cli_refuses_options_that_do_not_go_together(tmp_path):
    from hwsim.cli import main

    path = write_sweep(tmp_path, SWEEP)
    for argv in (["sweep", str(path)], ["sweep", "--out", str(tmp_path / "o")],
                 ["sweep", str(path), "--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:1", "--workers",
                  "2"],
                 ["sweep", str(path), "--out", str(tmp_path / "o"), "--workers", "0"],
                 ["sweep", "--report", str(tmp_path), "--workers", "2"],
                 ["sweep", "--report", str(tmp_path / "missing")]):
        assert main(argv) == 2, argv
    assert main(["sweep", "--report", str(tmp_path)]) == 2  # a folder without results
    assert not (tmp_path / "o").exists()


def test_an_unreachable_scheduler_is_one_line(tmp_path, capsys):
    from hwsim.cli import main

    path = write_sweep(tmp_path, SWEEP)
    assert main(["sweep", str(path), "--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("hwsim: error: --scheduler 'tcp://127.0.0.1:9': cannot connect")


# ---- runs on a 2-worker LocalCluster -------------------------------------------------------------------------------


def test_a_2_worker_sweep_matches_serial_simulate_value_for_value(tmp_path, client):
    import hwsim
    from hwsim.arch import config_from_dict
    from hwsim.frontend._load import check_request
    from hwsim.frontend._workload_cache import workload_for
    from hwsim.sim import mac_for_workload

    sweep = sweep_from_dict(SWEEP, "parity.yaml", tmp_path)
    run = run_sweep(sweep, tmp_path / "out", client=client, batch=40)
    assert run.ran == len(sweep) == 216 and run.lost == 0 and run.groups == 4
    table = pd.read_parquet(tmp_path / "out")  # the dataset reads as it is, beside _report/ and _sweep.yaml
    assert len(table) == 216 and table["index"].is_unique and table.key.is_unique
    failed = table[table.status == "failed"]
    assert 0 < len(failed) < len(table) - 100  # the 0.25 KB weight buffers, and only those
    assert set(failed["memory.weight_sram_kb"]) == {0.25}
    checked = {"ok": 0, "failed": 0}
    for row in table.to_dict(orient="records"):
        point = sweep.point(row["index"])
        assert row["key"] == sweep.key(point)
        for axis, value in point.values.items():
            got = row[axis]
            assert (got is None or (isinstance(got, float) and np.isnan(got))) if value is None else got == value
        prune, quant = point.prune, point.quant
        wl, _, _ = workload_for("digits_mlp", check_request(prune=prune, quant=quant))
        # the row's accelerator is the base with the point's axes and, the sweep naming no MAC, the workload's
        cfg = mac_for_workload(wl, config_from_dict(point.config))[0]
        if row["status"] == "failed":
            with pytest.raises(ValueError) as e:
                hwsim.simulate("digits_mlp", cfg, prune=prune, quant=quant, baseline="dense")
            assert row["error"] == f"ValueError: {e.value}"
            checked["failed"] += 1
            continue
        assert load_config_text(row["config"], tmp_path) == cfg
        serial = hwsim.simulate("digits_mlp", cfg, prune=prune, quant=quant, baseline="dense")
        t = serial.totals
        for name in ("cycles", "stall_cycles", "latency_s", "throughput_inf_per_s", "energy_j", "power_w",
                     "area_mm2", "macs", "dense_macs", "utilization", "dram_bytes", "mac_energy_random_j",
                     "mac_activity_layers"):
            assert row[name] == t[name], (row["index"], name)
        for comp, value in t["energy_by_component_j"].items():
            assert row[f"energy_{comp}_j"] == value
        for comp, value in serial.area.items():
            assert row[f"area_{comp}_mm2"] == value
        assert row["speedup"] == serial.baseline["speedup"]
        assert row["energy_ratio"] == serial.baseline["energy_ratio"]
        assert row["dense_cycles"] == serial.baseline["cycles"]
        checked["ok"] += 1
    assert checked["ok"] + checked["failed"] == 216
    # the figures and the summary were drawn from the rows
    rep = tmp_path / "out" / "_report"
    assert {"summary.md", "pareto_latency_energy.png", "axes.png"} <= {p.name for p in rep.iterdir()}
    summary = (rep / "summary.md").read_text()
    assert f"216 of 216 points in the results: {checked['ok']} simulated, {checked['failed']} failed" in summary
    assert "weight_sram" in summary  # the failures grouped by their error
    # a rerun has nothing left to do
    again = run_sweep(sweep, tmp_path / "out", client=client)
    assert again.ran == 0 and again.skipped == 216
    assert len(read_results(tmp_path / "out")) == 216


def load_config_text(text: str, folder: Path):
    from hwsim.arch import load_config

    path = folder / "row_config.yaml"
    path.write_text(text)
    return load_config(path)


def test_report_is_redrawn_from_the_parquet_alone(tmp_path, client):
    from hwsim.cli import main

    sweep = sweep_from_dict({**SWEEP, "random": {**SWEEP["random"], "samples": 1}}, "small.yaml", tmp_path)
    run_sweep(sweep, tmp_path / "out", client=client, report=False)
    assert not (tmp_path / "out" / "_report").exists()
    assert main(["sweep", "--report", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "_report" / "pareto_latency_energy.png").stat().st_size > 10_000


def test_a_changed_sweep_resumes_into_its_folder_and_other_axes_are_refused(tmp_path, client):
    small = {**SWEEP, "grid": {**SWEEP["grid"], "array.rows": [4]}, "random": {**SWEEP["random"], "samples": 1}}
    first = run_sweep(sweep_from_dict(small, "a.yaml", tmp_path), tmp_path / "out", client=client, report=False)
    wider = {**small, "grid": {**small["grid"], "array.rows": [4, 8]}}
    second = run_sweep(sweep_from_dict(wider, "a.yaml", tmp_path), tmp_path / "out", client=client, report=False)
    assert second.skipped == first.ran and second.ran == first.ran
    assert len(read_results(tmp_path / "out").key.unique()) == 2 * first.ran
    other = {**small, "grid": {**small["grid"], "vector.lanes": [8]}}
    with pytest.raises(ValueError, match="holds the results of a sweep with other axes or options"):
        run_sweep(sweep_from_dict(other, "a.yaml", tmp_path), tmp_path / "out", client=client)
    same_columns = {**small, "options": {**small["options"], "mac_activity": "random"}}
    with pytest.raises(ValueError, match="holds the results of this sweep with other models, options"):
        run_sweep(sweep_from_dict(same_columns, "a.yaml", tmp_path), tmp_path / "out", client=client)
    assert len(read_results(tmp_path / "out")) == 2 * first.ran  # nothing was added


def test_random_draws_that_repeat_a_point_run_once(tmp_path, client):
    data = {"models": ["digits_mlp"], "random": {"samples": 12, "axes": {"array.rows": {"choice": [4, 8]}}}}
    run = run_sweep(sweep_from_dict(data, "r.yaml", tmp_path), tmp_path / "out", client=client)
    assert run.ran == 2 and run.repeats == 10 and "10 repeat another point's content" in run.summary()
    assert sorted(read_results(tmp_path / "out")["array.rows"]) == [4, 8]


def test_a_worker_killed_mid_task_does_not_lose_or_repeat_a_point(tmp_path):
    from distributed import Client, LocalCluster

    sweep = sweep_from_dict({**SWEEP, "random": {**SWEEP["random"], "samples": 12}}, "kill.yaml", tmp_path)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=50)
    client = Client(cluster)
    try:
        result = {}
        thread = threading.Thread(target=lambda: result.update(run=run_sweep(sweep, tmp_path / "out", client=client,
                                                                             batch=8, report=False)))
        thread.start()
        victim = None
        deadline = time.monotonic() + 120
        while victim is None and time.monotonic() < deadline and thread.is_alive():
            busy = {w: tasks for w, tasks in client.processing().items()
                    if any(str(t).startswith("simulate_points") for t in tasks)}
            if busy and list((tmp_path / "out").glob("part-*.parquet")):
                victim = next(iter(busy))
            else:
                time.sleep(0.02)
        assert victim is not None, "the sweep ended before a worker could be killed mid-task"
        pid = client.run(os.getpid, workers=[victim])[victim]
        os.kill(pid, signal.SIGKILL)
        thread.join(timeout=300)
        assert not thread.is_alive()
    finally:
        client.close()
        cluster.close()
    run = result["run"]
    assert run.lost == 0 and run.ran == len(sweep)
    table = read_results(tmp_path / "out")
    assert sorted(table["index"]) == list(range(len(sweep))) and table.key.is_unique


def test_kill_9_of_the_client_then_resume_gives_each_point_once(tmp_path):
    sweep_data = {**SWEEP, "random": {**SWEEP["random"], "samples": 20}}  # 720 points
    path = write_sweep(tmp_path, sweep_data)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "hwsim.cli", "sweep", str(path), "--out", str(out), "--workers", "2", "--batch",
           "10"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while len(list(out.glob("part-*.parquet"))) < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        assert proc.poll() is None, "the sweep ended before it could be killed: " + proc.stderr.read().decode()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # its worker processes, if any outlived it
        except ProcessLookupError:
            pass
        proc.stderr.close()
    partial = read_results(out)
    sweep = load_sweep(path)
    assert 0 < len(partial) < len(sweep) and partial.key.is_unique
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert f"{len(partial)} already done" in r.stdout
    table = read_results(out)
    assert sorted(table["index"]) == list(range(len(sweep))) and table.key.is_unique
    assert not list(out.glob(".part-*"))  # no half-written batch is left



def test_eval_gives_each_point_the_accuracy_serial_simulate_measures(tmp_path, client):
    import hwsim

    data = {"models": ["digits_mlp"], "options": {"eval": True, "baseline": "dense"},
            "grid": {"prune": [None, "block:16x16:0.5:pad"], "quant": ["sp2:4"], "array.rows": [8, 16]}}
    sweep = sweep_from_dict(data, "eval.yaml", tmp_path)
    run = run_sweep(sweep, tmp_path / "out", client=client)
    assert run.ran == 4 and run.failed == 0
    table = read_results(tmp_path / "out")
    assert (tmp_path / "out" / "_report" / "pareto_accuracy_energy.png").is_file()
    for row in table.to_dict(orient="records"):
        cfg = load_config_text(row["config"], tmp_path)
        point = sweep.point(row["index"])  # (pandas reads a missing prune as NaN)
        serial = hwsim.simulate("digits_mlp", cfg, prune=point.prune, quant=point.quant, evaluate=True,
                                baseline="dense")
        assert row["accuracy"] == serial.accuracy["accuracy"]
        assert row["float_accuracy"] == serial.accuracy["float_accuracy"]
        assert row["baseline_accuracy"] == serial.baseline["accuracy"]
        assert row["energy_j"] == serial.totals["energy_j"]
    # one accuracy per group, whatever the accelerator
    assert table.groupby("prune", dropna=False).accuracy.nunique().max() == 1


def test_a_scheduler_by_address_runs_the_sweep(tmp_path, client, capsys):
    from hwsim.cli import main

    small = {**SWEEP, "random": {**SWEEP["random"], "samples": 1}}
    path = write_sweep(tmp_path, small)
    address = client.scheduler.address
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--scheduler", address]) == 0
    out = capsys.readouterr().out
    assert "36 points run" in out and "on 2 workers" in out
    assert len(read_results(tmp_path / "out")) == 36


def test_ctrl_c_keeps_the_committed_batches_and_a_rerun_finishes(tmp_path, client):
    import _thread

    sweep = sweep_from_dict({**SWEEP, "random": {**SWEEP["random"], "samples": 12}}, "int.yaml", tmp_path)
    out = tmp_path / "out"

    def interrupt_after_a_batch():
        deadline = time.monotonic() + 120
        while not list(out.glob("part-*.parquet")) and time.monotonic() < deadline:
            time.sleep(0.01)
        _thread.interrupt_main()

    watcher = threading.Thread(target=interrupt_after_a_batch)
    watcher.start()
    with pytest.raises(KeyboardInterrupt):
        run_sweep(sweep, out, client=client, batch=8, report=False)
    watcher.join()
    partial = read_results(out)
    assert 0 < len(partial) < len(sweep) and partial.key.is_unique
    assert not list(out.glob(".part-*"))
    run = run_sweep(sweep, out, client=client, report=False)
    assert run.skipped == len(partial) and run.ran == len(sweep) - len(partial)
    table = read_results(out)
    assert sorted(table["index"]) == list(range(len(sweep))) and table.key.is_unique


def test_errors_that_are_not_the_points_own_are_retried_not_recorded(tmp_path):
    from hwsim.sweep._tasks import Captured, simulate_points

    sweep = sweep_from_dict({"models": ["digits_mlp"], "grid": {"array.rows": [4, 8]}}, "e.yaml", tmp_path)
    rows = simulate_points(sweep, Captured(object(), 0.0), [0, 1])  # not a workload: a bug, not the point's
    assert [r["status"] for r in rows] == ["retry", "retry"] and "AttributeError" in rows[0]["error"]
    rows = simulate_points(sweep, Captured(None, 0.1, "capture: ValueError: block 32x32 does not divide"), [0])
    assert rows[0]["status"] == "failed" and rows[0]["error"].startswith("capture: ValueError")
    rows = simulate_points(sweep, Captured(None, 0.1, "capture: MemoryError", retry=True), [1])
    assert rows[0]["status"] == "retry"


def test_the_report_draws_axes_with_missing_values(tmp_path):
    from hwsim.sweep import sweep_figures
    from hwsim.sweep._report import sweep_markdown

    n = 12
    table = pd.DataFrame({
        "index": range(n), "status": ["ok"] * (n - 1) + ["failed"], "error": [None] * (n - 1) + ["ValueError: x"],
        "model": ["a.py"] * n, "prune": pd.array([None, "block:16x16:0.5"] * (n // 2), dtype="str"),
        "quant": pd.array([None] * n, dtype="str"), "array.rows": [4, 8, 16] * (n // 3),
        "latency_s": np.linspace(1e-3, 2e-3, n), "energy_j": np.linspace(2e-6, 1e-6, n), "area_mm2": [1.0] * n})
    table.attrs["hwsim.sweep"] = {"name": "t", "axes": ["prune", "quant", "array.rows"], "points": n}
    figs = sweep_figures(table)
    assert set(figs) == {"pareto_latency_energy.png", "axes.png"}
    text = sweep_markdown(table)
    assert "11 simulated, 1 failed" in text and "| none" in text and "nan" not in text


def test_a_base_config_file_is_read_relative_to_the_sweep(tmp_path):
    from hwsim.arch import config_from_dict, load_config
    from hwsim.sweep._spec import SweepError

    (tmp_path / "base.yaml").write_text("name: base\narray: {rows: 8, mac: {kind: fixed, params: {w_bits: 8}}}\n")
    s = sweep_from_dict({"models": ["digits_mlp"], "arch": "base.yaml", "grid": {"array.cols": [4, 8]}}, "s.yaml",
                        tmp_path)
    base = load_config(tmp_path / "base.yaml")
    assert s.mac_given and config_from_dict(s.point(1).config) == dataclasses.replace(
        base, array=dataclasses.replace(base.array, cols=8))
    assert s.point(1).config["array"] == {"rows": 8, "cols": 8, "mac": {"kind": "fixed", "params": {"w_bits": 8}}}
    (tmp_path / "bad.yaml").write_text("array: {rowz: 8}\n")
    with pytest.raises(SweepError, match=r"s.yaml: arch: .*bad.yaml: unknown key 'array.rowz'"):
        sweep_from_dict({"models": ["digits_mlp"], "arch": "bad.yaml"}, "s.yaml", tmp_path)
    with pytest.raises(SweepError, match=r"s.yaml: arch: config file .*missing.yaml' cannot be read"):
        sweep_from_dict({"models": ["digits_mlp"], "arch": "missing.yaml"}, "s.yaml", tmp_path)


def test_ctrl_c_at_a_terminal_stops_the_command_cleanly(tmp_path):
    # a terminal sends SIGINT to the whole process group: the client and its worker processes
    path = write_sweep(tmp_path, {**SWEEP, "random": {**SWEEP["random"], "samples": 20}})
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "hwsim.cli", "sweep", str(path), "--out", str(out), "--workers", "2", "--batch",
           "10"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while len(list(out.glob("part-*.parquet"))) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        assert proc.poll() is None, "the sweep ended before it could be interrupted"
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert proc.returncode == 130
    assert err.strip().splitlines() == [f"hwsim: the points finished so far are kept in {out}/; run the same command "
                                        "to resume", "hwsim: interrupted"]
    partial = read_results(out)
    assert 0 < len(partial) < 720 and partial.key.is_unique
