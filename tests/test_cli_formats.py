"""The `hwsim formats` and `hwsim demo` commands."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from hwsim.cli import main
from hwsim.formats import Posit


def test_show_prints_the_code_table(capsys):
    assert main(["formats", "show", "posit", "4", "1"]) == 0
    out = capsys.readouterr().out
    assert "# posit:4:1: 16 codes, 15 distinct values" in out
    assert "NaR" in out and "16.0" in out


def test_show_writes_csv_and_a_plot_of_several_formats(tmp_path, capsys):
    csv, png = tmp_path / "t.csv", tmp_path / "levels.png"
    assert main(["formats", "show", "fixed", "4", "3", "sp2:4", "posit", "4", "0", "posit:4:1",
                 "--csv", str(csv), "--plot", str(png), "-q"]) == 0
    table = pd.read_csv(csv)
    assert table["format"].unique().tolist() == ["fixed:4:3", "sp2:4:2:1", "posit:4:0", "posit:4:1"]
    posit = table[table["format"] == "posit:4:1"]
    assert posit["value"].tolist()[:8] == Posit(4, 1).values()[:8].tolist()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("argv", "message"), [
    (["formats", "show", "posit", "1", "0"], "n must be >= 2, not 1"),
    (["formats", "show", "posit", "8", "-1"], "es must be >= 0, not -1"),
    (["formats", "show", "sp2", "4", "1", "1"], "m1 + m2 + 1 must equal bits=4"),
    (["formats", "show", "fixed", "0", "0"], "bits must be >= 1, not 0"),
    (["formats", "show", "float:8"], "unknown format kind 'float'"),
    (["formats", "show", "posit:x"], "n must be an integer, not 'x'"),
    (["formats", "show", "posit:4", "--plot", "levels.bmp"], "must end in .png, .svg or .pdf"),
    (["formats", "frobnicate"], "invalid choice"),
])
def test_bad_input_exits_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hwsim: error:")
    assert message in err


def test_console_script_reports_errors_without_traceback():
    proc = subprocess.run([sys.executable, "-m", "hwsim.cli", "formats", "show", "posit", "1", "0"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert proc.stderr == "hwsim: error: n must be >= 2, not 1\n"


def test_formats_demo_writes_table_and_plot(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["formats", "demo", "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {"formats.csv", "formats.md", "levels.png"}
    assert "posit:8:2" in (out / "formats.md").read_text()
    assert f"report written to {out}" in capsys.readouterr().out


def test_formats_demo_refuses_an_unwritable_out(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["formats", "demo", "--out", str(blocker / "sub")]) == 2
    assert "--out" in capsys.readouterr().err
