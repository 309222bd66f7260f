"""The whole engine as a design: `hwsim rtl area gemm` (flattened synthesis, every PE counted) and `hwsim rtl
export gemm`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from hwsim.arch import EngineConfig
from hwsim.cli import main
from hwsim.mac import MAC_KINDS, make_mac


@pytest.mark.parametrize("kind", MAC_KINDS)
def test_every_mac_is_one_module_so_flattening_leaves_its_area_alone(kind):
    # FLOW_VERSION was not bumped when the FPGA flow got -flatten: that holds only while no MAC has submodules
    from hwsim.rtl import mac_component, to_verilog

    verilog = to_verilog(mac_component(make_mac(kind)), f"mac_{kind}")
    assert len(re.findall(r"^module ", verilog, flags=re.M)) == 1


def test_the_engine_counts_every_pe(tmp_path, monkeypatch):
    from hwsim.cost import engine_area

    monkeypatch.setenv("HWSIM_CACHE_DIR", str(tmp_path))
    cfg = EngineConfig(rows=2, cols=3, block_k=2, block_n=3, mac=make_mac("sp2", w_bits=4, x_bits=8))
    a = engine_area(cfg)
    # flattened: every PE is mapped in place, and its LUTs and flip-flops are in the engine's count
    assert a.pes == 6 and a.report.luts >= a.pes * a.pe.luts > 0
    assert a.report.ffs >= a.pes * a.pe.ffs
    assert a.lutram > 0  # the memories, as LUTRAM
    assert a.cell_area_um2 > a.pe_array_um2 == pytest.approx(6 * a.pe_cell_area_um2)
    again = engine_area(cfg)  # from the cache: the same report
    assert again.report == a.report and again.cell_area_um2 == a.cell_area_um2
    with pytest.raises(ValueError, match="unknown engine depth 'z_depth'"):
        engine_area(cfg, depths={"z_depth": 4})


def test_area_and_export_of_the_engine_from_the_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HWSIM_CACHE_DIR", str(tmp_path / "cache"))
    argv = ["rtl", "area", "gemm", "--param", "rows=2", "--param", "cols=2", "--param", "mac=fixed",
            "--param", "w_bits=4", "--param", "x_bits=4", "--param", "y_depth=8"]
    assert main([*argv, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pes"] == 4 and report["depths"]["y_depth"] == 8 and report["mac"]["w_bits"] == 4
    assert report["report"]["luts"] >= 4 * report["pe"]["luts"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "gemm 2x2 PEs" in out and f"of which PEs: 4 x {report['pe']['luts']} LUTs" in out
    assert main(["rtl", "export", "gemm", "--param", "rows=2", "--param", "cols=2", "-o", str(tmp_path)]) == 0
    meta = json.loads((tmp_path / "gemm.json").read_text())
    assert meta["rows"] == 2 and meta["mac"]["kind"] == "fixed" and list(meta["load_sel"]) == [
        "xmem", "wmem", "idx", "ptr", "mode", "bias"]
    assert meta["ports"]["y_data"]["width"] == 2 * meta["mac"]["acc_bits"]
    verilog = (tmp_path / "gemm.v").read_text()
    assert "module gemm(" in verilog
    if shutil.which("iverilog"):  # the export compiles in someone else's flow
        subprocess.run(["iverilog", "-o", str(tmp_path / "a.out"), str(tmp_path / "gemm.v")], check=True)


@pytest.mark.parametrize(("argv", "message"), [
    (["rtl", "area", "gemm", "--param", "rowz=2"], "unknown parameter 'rowz' for the fixed MAC"),
    (["rtl", "area", "gemm", "--param", "mac=gpu"], "--param mac must be one of"),
    (["rtl", "area", "gemm", "--param", "cols=4", "--param", "block_n=3"], "block_n=3 cannot be mapped onto cols=4"),
    (["rtl", "export", "gemm", "--param", "x_depth=1", "-o", "x"], "x_depth"),
    (["rtl", "area", "gemm", "--param", "rows=0"], "rows"),
])
def test_bad_engine_parameters_exit_2_in_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
