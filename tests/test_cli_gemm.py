"""`hwsim gemm`."""

from __future__ import annotations

import json

import pytest

from hwsim.arch import EngineConfig
from hwsim.cli import main
from hwsim.mac import make_mac
from hwsim.sim import dense_cycles, scalesim_cycles


def test_json_has_cycles_dense_cycles_macs_and_utilization(capsys):
    argv = ["gemm", "--m", "64", "--k", "96", "--n", "80", "--array", "8x8", "--block", "16x8", "--density",
            "0.5", "--mac", "sp2", "--param", "w_bits=4", "--seed", "3", "--json"]
    assert main(argv) == 0
    r = json.loads(capsys.readouterr().out)
    cfg = EngineConfig(rows=8, cols=8, block_k=16, block_n=8, mac=make_mac("sp2", w_bits=4))
    assert r["dense_cycles"] == dense_cycles(cfg, 64, 96, 80)
    assert r["cycles"] < r["dense_cycles"]
    assert r["density"] == 0.5 and r["macs"] == 64 * 96 * 80 // 2
    assert r["utilization"] == pytest.approx(r["macs"] / 64 / r["cycles"])
    assert r["speedup"] == pytest.approx(r["dense_cycles"] / r["cycles"])


def test_weight_stationary_runs_the_ws_engine(capsys):
    argv = ["gemm", "--m", "50", "--k", "96", "--n", "80", "--array", "8x8", "--dataflow", "ws", "--density", "0.5",
            "--json"]
    assert main(argv) == 0
    r = json.loads(capsys.readouterr().out)
    cfg = EngineConfig(rows=8, cols=8, block_k=8, block_n=8, mac=make_mac("fixed"), dataflow="ws")
    assert r["dataflow"] == "ws" and r["block"] == [8, 8]
    assert r["dense_cycles"] == dense_cycles(cfg, 50, 96, 80)
    assert r["cycles"] < r["dense_cycles"] and r["macs"] == 50 * 96 * 80 // 2
    assert main([*argv[:-1]]) == 0
    assert "weight-stationary" in capsys.readouterr().out


def test_the_same_seed_gives_the_same_mask(capsys):
    # 4x2 blocks on 4 columns: cycles depend on where the kept blocks fall, so the seed shows
    argv = ["gemm", "--m", "32", "--k", "64", "--n", "64", "--array", "4x4", "--block", "4x2", "--density", "0.3",
            "--json"]
    main([*argv, "--seed", "1"])
    main([*argv, "--seed", "1"])
    main([*argv, "--seed", "2"])
    a, b, c = (json.loads(line)["cycles"] for line in capsys.readouterr().out.splitlines())
    assert a == b != c


def test_human_output(capsys):
    assert main(["gemm", "--m", "512", "--k", "768", "--n", "768", "--density", "0.5", "--mac", "sp2"]) == 0
    out = capsys.readouterr().out
    assert "dense cycles" in out and "speedup" in out and "utilization" in out and "ideal cycles" in out


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_scalesim_compat(dataflow, capsys):
    assert main(["gemm", "--m", "100", "--k", "70", "--n", "50", "--array", "32x32", "--scalesim-compat",
                 "--dataflow", dataflow, "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["cycles"] == scalesim_cycles(100, 70, 50, 32, 32, dataflow).cycles


@pytest.mark.parametrize(("argv", "message"), [
    (["--m", "0", "--k", "4", "--n", "4"], "m must be >= 1, not 0"),
    (["--m", "4", "--k", "4", "--n", "-2"], "n must be >= 1, not -2"),
    (["--m", "4", "--k", "4", "--n", "4", "--density", "1.5"], "--density must lie in (0, 1], not 1.5"),
    (["--m", "4", "--k", "4", "--n", "4", "--array", "4x4", "--block", "3x3"], "block_n=3 cannot be mapped"),
    (["--m", "4", "--k", "4", "--n", "4", "--array", "big"], "--array must look like AxB"),
    (["--m", "4", "--k", "4", "--n", "4", "--dataflow", "is"], "output- or weight-stationary"),
    (["--m", "4", "--k", "4", "--n", "4", "--dataflow", "ws", "--array", "4x4", "--block", "2x4"],
     "block_k must equal rows, not 2"),
    (["--m", "4", "--k", "4", "--n", "4", "--scalesim-compat", "--density", "0.5"], "dense GEMMs"),
    (["--m", "4", "--k", "4", "--n", "4", "--mac", "sp2", "--param", "w_bits=99"], "bits must be <= 11"),
])
def test_bad_input_exits_2_in_one_line(argv, message, capsys):
    assert main(["gemm", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
