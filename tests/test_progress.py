"""Named phases: always timed into the job's timings (report.meta["timings_s"]), shown on stderr only when asked,
one line per outer phase with a nested phase named on its outer one's line (no cursor movement on a pipe)."""

from __future__ import annotations

import io
import time

import pytest

from hwsim._util import phase, timed_phases


def test_phases_are_timed_and_repeated_names_add_up():
    with timed_phases() as timings:
        with phase("a"):
            time.sleep(0.02)
        with phase("a"):
            time.sleep(0.02)
        with phase("b"):
            with phase("inner"):
                time.sleep(0.01)
    assert set(timings) == {"a", "b", "inner"}
    assert timings["a"] >= 0.04 and timings["b"] >= timings["inner"] >= 0.01


def test_outside_a_job_a_phase_only_runs_its_body():
    with phase("alone", total=3) as step:
        step()
    with timed_phases() as outer, timed_phases() as joined:  # a nested job joins the outer one
        with phase("x"):
            pass
    assert joined is outer and "x" in outer


def _shown(monkeypatch) -> io.StringIO:
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    return err


def test_shown_phases_write_no_cursor_movements(monkeypatch):
    err = _shown(monkeypatch)
    with timed_phases(show=True):
        with phase("simulate"):
            with phase("synthesize 2 netlists"):
                pass
        with phase("quantize", total=2) as step:
            step()
            step()
    text = err.getvalue()
    assert "\x1b[A" not in text and "simulate" in text and "quantize" in text
    assert "simulate > synthesize 2 netlists" in text  # the nested phase on its outer phase's line
    with timed_phases(show=False):
        with phase("quiet"):
            pass
    assert "quiet" not in err.getvalue()


def test_simulate_reports_its_phase_times():
    import hwsim
    from hwsim.workload import GemmOp, Workload

    w = Workload([GemmOp(name="l", target="linear", role="linear", m=4, k=8, n=8)])
    r = hwsim.simulate(w)
    assert {"simulate"} <= set(r.meta["timings_s"]) and all(v >= 0 for v in r.meta["timings_s"].values())


@pytest.mark.parametrize("flag", [[], ["--progress"]])
def test_cli_progress_only_on_request_on_a_pipe(tmp_path, flag):
    import subprocess
    import sys

    w = tmp_path / "w.npz"
    from hwsim.workload import GemmOp, Workload

    Workload([GemmOp(name="l", target="linear", role="linear", m=4, k=8, n=8)]).save(w)
    run = subprocess.run([sys.executable, "-m", "hwsim.cli", "simulate", str(w), "--out", str(tmp_path / "r"),
                          *flag], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    if flag:
        assert "simulate" in run.stderr and "write report" in run.stderr and "\x1b[A" not in run.stderr
    else:
        assert run.stderr == ""
