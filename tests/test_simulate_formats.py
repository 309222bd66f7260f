"""The compressed model drives the simulated hardware: the quant spec picks the MAC, widths follow the formats,
a MAC that cannot run a layer is refused, and the report says per layer what was applied."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from torch import nn

import hwsim
from hwsim.arch import load_config
from hwsim.cli import main
from hwsim.cost import mac_area
from hwsim.frontend import quantize

pytestmark = pytest.mark.usefixtures("torch_one_thread")

EXPECTED_MAC = {
    "fixed:8": ("fixed", {"w_bits": 8, "x_bits": 8}),
    "sp2:4": ("sp2", {"w_bits": 4, "x_bits": 8}),
    "msq:4:0.5": ("msq", {"w_bits": 4, "x_bits": 8}),
    "posit:4:1": ("posit_fixp", {"n": 4, "es": 1, "x_bits": 8}),
    "posit+fixed:4:1:4": ("posit_or_fixed", {"n": 4, "es": 1, "fixed_bits": 4, "x_bits": 8}),
}


@pytest.fixture(scope="module")
def reports():
    return {q: hwsim.simulate("digits_mlp", quant=q) for q in EXPECTED_MAC}


@pytest.mark.parametrize("quant", list(EXPECTED_MAC))
def test_each_scheme_without_arch_gets_its_mac_and_widths(reports, quant):
    r = reports[quant]
    kind, params = EXPECTED_MAC[quant]
    cfg = yaml.safe_load(r.config_yaml)["array"]["mac"]
    assert cfg["kind"] == kind and {k: cfg["params"][k] for k in params} == params
    assert r.meta["mac"].startswith(f"MAC {kind}")
    table = r.compression
    assert (table["mac"] == kind).all() and (table["format"] == str(hwsim.formats.parse_quant(quant))).all()
    assert (table["w_bits"] == max(f.bits for f in hwsim.formats.parse_quant(quant).formats() if f)).all()


def test_formats_change_energy_and_area_in_the_direction_of_the_mac_areas(reports):
    fixed, sp2, posit = reports["fixed:8"], reports["sp2:4"], reports["posit:4:1"]
    assert fixed.totals["cycles"] == sp2.totals["cycles"]  # one MAC per PE per cycle whatever the format
    assert sp2.totals["energy_j"] < fixed.totals["energy_j"]  # half the weight bits, a cheaper MAC
    assert posit.totals["energy_j"] < fixed.totals["energy_j"]
    # the PE array's area orders as the synthesized LUT counts of the three MACs (an independent measure)
    luts = {q: mac_area(hwsim.arch.config_from_dict(yaml.safe_load(reports[q].config_yaml)).array.mac.unit).luts
            for q in ("fixed:8", "sp2:4", "posit:4:1")}
    area = {q: reports[q].area["pe_array"] for q in luts}
    assert sorted(luts, key=luts.get) == sorted(area, key=area.get)
    assert len({round(v, 9) for v in area.values()}) == 3


def test_weight_traffic_follows_the_layer_bits(reports):
    def dram(r):
        return float(r.layers[r.layers.kind == "gemm"].dram_bytes.sum())

    # the digits MLP's weights dominate its GEMM traffic: 4-bit codes move about half the bytes of 8-bit ones
    assert 0.4 < dram(reports["sp2:4"]) / dram(reports["fixed:8"]) < 0.6


def test_a_mac_that_cannot_run_the_format_is_refused(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"layer net\.0: fixed:8:7 weights \(fixed:8\) cannot run on the sp2"):
        hwsim.simulate("digits_mlp", "configs/default.yaml", quant="fixed:8")
    code = main(["simulate", "digits_mlp", "--quant", "posit:4:1", "--arch", "configs/int8_32x32.yaml",
                 "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "layer net.0: posit:4:1 weights (posit:4:1) cannot run on the fixed" in err[0]
    assert not (tmp_path / "r" / "report.json").exists()


def test_unquantized_model_runs_at_the_mac_widths_and_says_so():
    r = hwsim.simulate("digits_mlp", "configs/int8_32x32.yaml")
    assert any("not quantized" in n and "fixed MAC's own widths" in n for n in r.notes)
    assert (r.compression.w_bits == 8).all() and r.compression.format.str.startswith("unquantized").all()


def test_activation_quantized_model_simulates_with_requant_ops():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)).eval()
    x = torch.rand(16, 64)
    quantize(model, "sp2:4", calib=x, act_bits=8)
    r = hwsim.simulate(model, example_args=(x[:1],))
    assert (r.layers.op == "requant").sum() == 2
    assert not any("narrower" in n for n in r.notes)  # the chosen 9-bit port is no wider than needed
    # the unsigned ufixed:8:8 inputs (x >= 0 and after the ReLU) need a 9-bit two's-complement port
    assert yaml.safe_load(r.config_yaml)["array"]["mac"]["params"]["x_bits"] == 9
    assert set(r.compression.act_format) == {"ufixed:8:8"} and (r.compression.x_bits == 8).all()


def test_nm_pruning_notes_that_it_saves_no_cycles(tmp_path, capsys):
    assert main(["simulate", "digits_mlp", "--prune", "nm:2:4", "--quant", "sp2:4", "--baseline", "dense",
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "save MACs and energy but no cycles" in out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["speedup"] == 1.0 and any("no cycles" in n for n in report["notes"])
    rows = report["compression"]
    assert all(r["prune"] == "nm" and r["requested_density"] == 0.5 and r["engine_density"] == 1.0 for r in rows)
    assert (tmp_path / "compression.csv").exists()


def test_nm_pruning_on_nm_pes_saves_cycles_and_says_nothing_of_it(tmp_path, capsys):
    arch = tmp_path / "nm.yaml"
    arch.write_text("array: {nm_group: 4}\n")
    assert main(["simulate", "digits_mlp", "--prune", "nm:2:4", "--quant", "sp2:4", "--arch", str(arch),
                 "--baseline", "dense", "--out", str(tmp_path / "out")]) == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["speedup"] > 1.2 and not any("no cycles" in n for n in report["notes"])
    assert all(r["engine_density"] == 0.5 for r in report["compression"])
    capsys.readouterr()


def test_exclude_and_allow_unmapped_from_the_cli(tmp_path, capsys):
    assert main(["simulate", "digits_mlp", "--prune", "block:16x16:0.5:pad", "--quant", "fixed:8",
                 "--exclude", "net.4.weight", "--out", str(tmp_path / "a")]) == 0
    rows = {r["layer"]: r for r in json.loads((tmp_path / "a" / "report.json").read_text())["compression"]}
    assert rows["net.4"]["prune"] == "" and rows["net.4"]["format"].startswith("unquantized")
    assert rows["net.0"]["prune"] == "block" and rows["net.0"]["format"] == "fixed:8"
    assert main(["simulate", "digits_mlp", "--quant", "fixed:8", "--exclude", "nett.*",
                 "--out", str(tmp_path / "b")]) == 2
    assert "exclude pattern 'nett.*' matches no GEMM weight" in capsys.readouterr().err

    model_file = tmp_path / "sorts.py"
    model_file.write_text(
        "import torch\n"
        "class M(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__(); self.fc = torch.nn.Linear(8, 8)\n"
        "    def forward(self, x, scale=1.0):\n"
        "        return torch.sort(self.fc(x) * scale).values\n"
        "model = M()\n"
        "example_args = (torch.randn(2, 8),)\n"
        "example_kwargs = {'scale': 2.0}\n")
    assert main(["simulate", str(model_file), "--out", str(tmp_path / "c")]) == 2
    assert "no hardware mapping" in capsys.readouterr().err
    assert main(["simulate", str(model_file), "--allow-unmapped", "--out", str(tmp_path / "c")]) == 0
    report = json.loads((tmp_path / "c" / "report.json").read_text())
    assert any("unmapped ops (aten.sort" in n for n in report["notes"])


def test_the_chosen_mac_is_saved_in_config_yaml(tmp_path):
    assert main(["simulate", "digits_mlp", "--quant", "msq:4:0.5", "--out", str(tmp_path)]) == 0
    cfg = load_config(tmp_path / "config.yaml")
    assert cfg.array.mac.kind == "msq" and cfg.array.mac.params["w_bits"] == 4


def test_narrower_codes_on_a_wider_mac_are_noted():
    r = hwsim.simulate("digits_mlp", "configs/int8_32x32.yaml", quant="fixed:4")
    assert (r.compression.w_bits == 4).all()
    assert any("narrower than the fixed MAC's ports" in n and "upper bound" in n for n in r.notes)
    exact = hwsim.simulate("digits_mlp", "configs/int8_32x32.yaml", quant="fixed:8")
    assert not any("narrower" in n for n in exact.notes)


def test_mac_energy_itself_follows_the_mac(reports):
    mac = {q: reports[q].totals["energy_by_component_j"]["mac"] for q in ("fixed:8", "sp2:4", "posit:4:1")}
    assert mac["sp2:4"] < mac["posit:4:1"] < mac["fixed:8"]  # as the per-MAC gate-level energies order


def test_a_scheme_no_mac_can_run_fails_before_capture(capsys):
    assert main(["simulate", "digits_mlp", "--quant", "posit:17:1", "--out", "/nonexistent/never"]) == 2
    assert "needs a posit_fixp MAC" in capsys.readouterr().err


def test_the_old_spelling_warns_in_one_line(tmp_path, capsys):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as a shell user runs it (the suite turns warnings into errors)
        assert main(["simulate", "digits_mlp", "--quant", "posit-fixp:4:1:4", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("hwsim: warning: quantization scheme 'posit-fixp' is now spelled")
