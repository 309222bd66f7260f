"""Tier 3: LUT networks' generated Verilog under cocotb against the quantized torch model, bit for bit.

Full mode specifies every pattern, so the RTL must give the torch model's output codes on every held-out test
sample; observed mode only specifies what the training split shows, so there the check runs on every training
sample (test samples may differ: the NullaNet generalization, reported as accuracy, not checked here). Each
run also checks the pipeline: results appear exactly `latency` cycles after their sample, with y_valid.
"""

from __future__ import annotations

import json

import pytest
from simulators import require_simulator, run_bench

from hwsim.lut import design_inputs, lut_design
from hwsim.models import dataset, trained_model
from hwsim.rtl import write_verilog

pytestmark = pytest.mark.rtl

CASES = [  # (model, mode, split, simulator)
    ("cancer_lut", "full", "test", "icarus"),
    ("cancer_lut", "observed", "train", "icarus"),
    ("cancer_lut", "observed", "train", "verilator"),
    ("digits_lut", "observed", "train", "icarus"),
]


def _case(name: str, mode: str, split: str, limit: int | None = None):
    design = lut_design(name, mode)
    data = dataset(name)
    x = data.x_test if split == "test" else data.x_train
    codes_in, codes_out = design_inputs(trained_model(name), x[:limit])
    return design, design.pack(codes_in), design.pack_outputs(codes_out)


def _run(design, inputs, expected, sim, tmp_path):
    require_simulator(sim)
    source = write_verilog(design.component(), design.top, tmp_path / "src")
    case = tmp_path / "case.json"
    case.write_text(json.dumps({"latency": design.latency, "inputs": inputs, "expected": expected}))
    env = {"HWSIM_LUT": str(case), "HWSIM_REPORT": str(tmp_path / "mismatch.txt")}
    run_bench(sim, source, design.top, "hwsim.verify.tb_lut", env, tmp_path)


@pytest.mark.parametrize("name,mode,split,sim", CASES, ids=["-".join(c) for c in CASES])
def test_lut_rtl_matches_torch(name, mode, split, sim, tmp_path):
    design, inputs, expected = _case(name, mode, split)
    assert len(inputs) == len(dataset(name).x_test if split == "test" else dataset(name).x_train)
    _run(design, inputs, expected, sim, tmp_path)


def test_lut_bench_reports_a_wrong_result(tmp_path):
    """The check can fail: one expected output changed is reported with its cycle, sample and values."""
    design, inputs, expected = _case("cancer_lut", "observed", "train", limit=12)
    expected[5] ^= 1
    with pytest.raises(pytest.fail.Exception, match=r"cycle 8: sample 5, x = 0x[0-9a-f]+: y expected"):
        _run(design, inputs, expected, "icarus", tmp_path)
