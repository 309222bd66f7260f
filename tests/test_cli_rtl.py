"""`hwsim rtl area` and `hwsim rtl export`."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from hwsim.cli import main
from hwsim.mac import MAC_KINDS, make_mac


def test_area_prints_luts_and_gates(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HWSIM_CACHE_DIR", str(tmp_path))
    assert main(["rtl", "area", "fixed", "--param", "w_bits=4", "--param", "x_bits=4"]) == 0
    out = capsys.readouterr().out
    assert "fixed acc_bits=16 overflow=wrap w_bits=4 x_bits=4" in out
    assert "LUTs" in out and "transistors" in out
    assert main(["rtl", "area", "fixed", "--param", "w_bits=4", "--param", "x_bits=4", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ffs"] == 2 + 8 + 16 and report["params"]["w_bits"] == 4


@pytest.mark.parametrize("kind", MAC_KINDS)
def test_export_writes_verilog_and_a_port_description(kind, tmp_path, capsys):
    assert main(["rtl", "export", kind, "-o", str(tmp_path)]) == 0
    meta = json.loads((tmp_path / f"mac_{kind}.json").read_text())
    unit = make_mac(kind)
    assert meta["params"] == unit.params() and meta["latency"] == unit.latency
    assert meta["ports"]["acc"] == {"direction": "output", "width": unit.acc_bits, "signed": True}
    verilog = (tmp_path / f"mac_{kind}.v").read_text()
    assert f"module mac_{kind}(" in verilog
    if shutil.which("iverilog"):  # the export compiles in someone else's flow
        subprocess.run(["iverilog", "-o", str(tmp_path / "a.out"), str(tmp_path / f"mac_{kind}.v")], check=True)


@pytest.mark.parametrize(("argv", "message"), [
    (["rtl", "area", "fixed", "--param", "acc_bits=3"], "acc_bits must be >= 16"),
    (["rtl", "area", "posit_fixp", "--param", "n=8", "--param", "es=9"], "es=9 is too large"),
    (["rtl", "area", "gpu"], "unknown MAC kind 'gpu'"),
    (["rtl", "export", "fixed", "--param", "w_bits", "-o", "x"], "--param must look like name=value"),
    (["rtl", "export", "fixed", "--param", "depth=3", "-o", "x"], "unknown parameter 'depth'"),
    (["rtl", "export", "fixed"], "the following arguments are required: -o/--output"),
])
def test_bad_input_exits_2_in_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
