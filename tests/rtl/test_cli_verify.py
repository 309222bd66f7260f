"""`hwsim rtl verify`: the project's cocotb MAC bench from the command line, on generated RTL or the user's own
Verilog, with the first mismatch named."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from simulators import require_simulator

from hwsim.cli import main
from hwsim.verify import verify_mac

pytestmark = pytest.mark.rtl


FIXED4 = ["--param", "w_bits=4", "--param", "x_bits=4"]


def test_generated_rtl_passes_and_waves_are_kept(tmp_path, capsys):
    require_simulator("icarus")
    assert main(["rtl", "verify", "fixed", *FIXED4, "--cycles", "200", "--seed", "3", "--waves", "--build",
                 str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("PASS: fixed acc_bits=16 overflow=wrap w_bits=4 x_bits=4, generated mac_fixed on icarus")
    assert "every weight x activation code, then 200 random cycles (seed 3)" in out
    waves = Path(re.search(r"waves: (\S+)", out).group(1))
    assert waves.suffix in (".fst", ".vcd") and waves.is_file() and waves.stat().st_size > 0
    assert tmp_path in waves.parents


def test_a_modified_design_fails_at_its_first_wrong_cycle(tmp_path, capsys):
    require_simulator("icarus")
    assert main(["rtl", "export", "fixed", *FIXED4, "-o", str(tmp_path)]) == 0
    verilog = (tmp_path / "mac_fixed.v").read_text()
    broken = verilog.replace("c1 ? 16'h0000 : acc", "acc")  # the clear is ignored
    assert broken != verilog
    (tmp_path / "broken.v").write_text(broken)
    capsys.readouterr()
    assert main(["rtl", "verify", "fixed", *FIXED4, "--verilog", str(tmp_path / "broken.v")]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAIL: fixed") and "broken.v (top mac_fixed)" in out
    # cycle, port, expected, got and the inputs of that cycle and the one before
    assert re.search(r"cycle \d+: acc expected -?\d+, got -?\d+; inputs at cycle \d+: MacInputs\(.*clear=1", out)


def test_a_design_without_the_ports_says_which(tmp_path):
    require_simulator("icarus")
    (tmp_path / "mine.v").write_text("module mine(input clk, input rst, input valid, input clear, input [3:0] w, "
                                     "output [15:0] acc);\nassign acc = 0;\nendmodule\n")
    from hwsim.mac import make_mac

    r = verify_mac(make_mac("fixed", w_bits=4, x_bits=4), verilog=tmp_path / "mine.v", top="mine", cycles=20)
    assert not r.passed and r.report.startswith("the design has no port x;")
    (tmp_path / "bad.v").write_text("module mine(input clk); garbage\n")
    r = verify_mac(make_mac("fixed", w_bits=4, x_bits=4), verilog=tmp_path / "bad.v", top="mine", cycles=20)
    assert not r.passed and "could not build bad.v" in r.report and "syntax error" in r.report


def test_verilator_runs_the_same_bench(capsys):
    require_simulator("verilator")
    assert main(["rtl", "verify", "sp2", "--sim", "verilator", "--cycles", "300"]) == 0
    assert "on verilator" in capsys.readouterr().out


def test_the_engine_passes_and_a_broken_pe_is_caught(tmp_path, capsys):
    require_simulator("icarus")
    engine = ["--param", "rows=2", "--param", "cols=2", "--param", "mac=fixed", "--param", "w_bits=4",
              "--param", "x_bits=4"]
    assert main(["rtl", "verify", "gemm", *engine, "--cycles", "1500", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("PASS: gemm 2x2 output-stationary fixed") and "3 random problems (seed 5" in out
    assert main(["rtl", "export", "gemm", *engine, "-o", str(tmp_path)]) == 0
    verilog = (tmp_path / "gemm.v").read_text()
    pe = verilog.index("module \\gemm.pe_1_1")
    clear = verilog.index("c1 ? 16'h0000 : acc", pe)  # PE (1, 1) alone ignores the clear between tiles
    (tmp_path / "broken.v").write_text(verilog[:clear] + "acc" + verilog[clear + len("c1 ? 16'h0000 : acc"):])
    capsys.readouterr()
    assert main(["rtl", "verify", "gemm", *engine, "--verilog", str(tmp_path / "broken.v"), "--seed", "5"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAIL: gemm 2x2 output-stationary fixed") and "broken.v (top gemm)" in out
    assert re.search(r"GEMM case \{.*\}: \d+ Y element\(s\) differ.*Y\[\d+, \d+\] expected -?\d+, got -?\d+", out)


def test_an_nm_engine_passes_and_exports_its_group(tmp_path, capsys):
    require_simulator("icarus")
    engine = ["--param", "rows=2", "--param", "cols=2", "--param", "block_k=8", "--param", "nm_group=4",
              "--param", "mac=sp2", "--param", "w_bits=4"]
    assert main(["rtl", "verify", "gemm", *engine, "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("PASS: gemm 2x2 output-stationary sp2") and "N:M PEs in groups of 4" in out
    assert main(["rtl", "export", "gemm", *engine, "-o", str(tmp_path)]) == 0
    meta = json.loads((tmp_path / "gemm.json").read_text())
    assert meta["nm_group"] == 4 and meta["word_bits"]["wmem"] == 2 * (4 + 2)
    assert meta["ports"]["group_tokens"] == {"direction": "input", "width": 3, "signed": False}


def test_a_lut_network_passes_and_a_flipped_output_bit_is_caught(tmp_path, capsys):
    require_simulator("icarus")
    lut = ["--param", "model=cancer_lut", "--param", "mode=full"]
    assert main(["rtl", "verify", "lut", *lut, "--cycles", "300", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("PASS: LUT network cancer_lut (full), generated lut_cancer_lut on icarus: 143 held-out "
                          "inputs and 157 random inputs (seed 1), full mode, latency 3")
    assert main(["rtl", "verify", "lut", "--param", "model=cancer_lut", "--param", "mode=observed", "--cycles", "50",
                 "--sim", "icarus"]) == 0
    assert "50 training inputs (seed 0), observed mode" in capsys.readouterr().out
    assert main(["lut", "export", "cancer_lut", "-o", str(tmp_path)]) == 0
    verilog = (tmp_path / "lut_cancer_lut.v").read_text()
    top = verilog.index("module lut_cancer_lut(")
    out_assign = re.compile(r"assign y = ([^;]+);").search(verilog, top)
    broken = verilog[:out_assign.start()] + f"assign y = ({out_assign.group(1)}) ^ 1;" + verilog[out_assign.end():]
    (tmp_path / "broken.v").write_text(broken)
    capsys.readouterr()
    assert main(["rtl", "verify", "lut", *lut, "--verilog", str(tmp_path / "broken.v"), "--cycles", "20"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAIL: LUT network cancer_lut (full), broken.v (top lut_cancer_lut)")
    assert re.search(r"cycle 3: sample 0, x = 0x[0-9a-f]+: y expected 0x[0-9a-f]+, got 0x[0-9a-f]+", out)


def test_the_weight_stationary_engine_passes_and_a_pe_that_drops_its_product_is_caught(tmp_path, capsys):
    require_simulator("icarus")
    engine = ["--param", "rows=2", "--param", "cols=2", "--param", "dataflow=ws", "--param", "mac=fixed",
              "--param", "w_bits=4", "--param", "x_bits=4"]
    assert main(["rtl", "verify", "gemm", *engine, "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("PASS: gemm 2x2 weight-stationary fixed") and "4 random problems (seed 3" in out
    assert main(["rtl", "export", "gemm", *engine, "-o", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "gemm.json").read_text())["dataflow"] == "ws"
    verilog = (tmp_path / "gemm.v").read_text()
    pe = verilog.index("module \\gemm.pe_1_1")
    add = re.compile(r"assign (\\\$\d+ ) = \$signed\(base\) \+ \$signed\(\\\$\d+ \);").search(verilog, pe)
    # PE (1, 1) passes the partial sum from above through without its own product
    broken = verilog[:add.start()] + f"assign {add.group(1)} = base;" + verilog[add.end():]
    (tmp_path / "broken.v").write_text(broken)
    capsys.readouterr()
    assert main(["rtl", "verify", "gemm", *engine, "--verilog", str(tmp_path / "broken.v"), "--seed", "3"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAIL: gemm 2x2 weight-stationary fixed") and "broken.v (top gemm)" in out
    assert re.search(r"\d+ Y element\(s\) differ.*Y\[\d+, 1\] expected -?\d+, got -?\d+", out)


@pytest.mark.parametrize(("argv", "message"), [
    (["rtl", "verify", "gemm", "--param", "x_depth=1"], "x_depth must be"),
    (["rtl", "verify", "gemm", "--param", "mac=gpu"], "--param mac must be one of"),
    (["rtl", "verify", "gemm", "--param", "dataflow=is"], "dataflow must be one of os, ws, not 'is'"),
    (["rtl", "verify", "gemm", "--param", "dataflow=ws", "--param", "block_k=3"], "block_k must equal rows"),
    (["rtl", "verify", "gemm", "--param", "dataflow=ws", "--param", "nm_group=2"],
     "are output-stationary: dataflow must be os"),
    (["rtl", "verify", "lut", "--param", "mode=full"], "a LUT network takes model=NAME|FILE.py"),
    (["rtl", "verify", "lut", "--param", "model=cancer_lut", "--param", "bits=3"], "mode=full|observed, not bits"),
    (["rtl", "verify", "lut", "--param", "model=cancer_lut", "--param", "mode=half"], "mode must be one of full"),
    (["rtl", "verify", "lut", "--param", "model=digits_mlp"], "DigitsMLP is not a LUT network"),
    (["rtl", "verify", "gemm", "--param", "nm_group=3"], "nm_group=3 must divide block_k=4"),
    (["rtl", "verify", "fixed", "--top", "x"], "--top names the top module of --verilog"),
    (["rtl", "verify", "fixed", "--verilog", "no_such.v"], "verilog file 'no_such.v' does not exist"),
    (["rtl", "verify", "fixed", "--cycles", "0"], "--cycles must be at least 1"),
    (["rtl", "verify", "gpu"], "unknown MAC kind 'gpu'"),
    (["rtl", "verify", "fixed", "--sim", "xsim"], "invalid choice: 'xsim'"),
])
def test_bad_input_exits_2_in_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
