"""Accelerator configs: YAML files, validation with file and key in every message, the resolved dump."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hwsim.arch import AcceleratorConfig, config_from_dict, dump_config, load_config

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


def test_the_shipped_configs_load_and_round_trip():
    assert {p.stem for p in CONFIGS} >= {"default", "edge_sp2_16x16", "int8_32x32", "posit4_fixp8"}
    for path in CONFIGS:
        cfg = load_config(path)
        assert cfg.name == path.stem
        assert config_from_dict(yaml.safe_load(dump_config(cfg))) == cfg


def test_the_default_file_is_the_code_default():
    assert load_config(CONFIGS[[p.stem for p in CONFIGS].index("default")]) == AcceleratorConfig()


def test_macs_come_from_the_config():
    cfg = config_from_dict({"array": {"rows": 8, "cols": 4, "block_k": 8,
                                      "mac": {"kind": "posit_fixp", "params": {"n": 4, "es": 1}}}})
    unit = cfg.array.mac.unit
    assert (unit.kind, unit.n, unit.es) == ("posit_fixp", 4, 1)
    assert cfg.array.engine().rows == 8


@pytest.mark.parametrize(("text", "message"), [
    ("array:\n  rowz: 4\n", "cfg.yaml: unknown key 'array.rowz'; did you mean 'rows'?"),
    ("clock: 5\n", "cfg.yaml: unknown key 'clock'"),
    ("array:\n  rows: 0\n", "cfg.yaml: array: rows must be >= 1, not 0"),
    ("memory:\n  dram_gbps: -3\n", "cfg.yaml: memory: dram_gbps must be a finite number > 0, not -3"),
    ("array:\n  mac: {kind: tensor}\n", "cfg.yaml: array.mac: kind must be one of"),
    ("array:\n  mac: {kind: fixed, params: {acc_bits: 4}}\n", "acc_bits must be >= 16"),
    ("vector:\n  cycles_per_element: {gelu: 0}\n", "cycles_per_element.gelu must be a finite number > 0"),
    ("[1, 2]\n", "cfg.yaml: the file must be a mapping of keys"),
    ("array: [\n", "cfg.yaml: not valid YAML"),
])
def test_bad_files_name_the_file_and_the_key(tmp_path, text, message):
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    with pytest.raises(ValueError) as err:
        load_config(path)
    assert message in str(err.value).replace(str(tmp_path) + "/", "")


def test_a_missing_file():
    with pytest.raises(ValueError, match="cannot be read"):
        load_config("/nonexistent/cfg.yaml")


@pytest.mark.parametrize(("data", "message"), [
    ({"technology_nm": 7}, "technology_nm must be 45"),
    ({"clock_mhz": float("inf")}, "clock_mhz must be a finite number > 0"),
    ({"memory": {"dram_latency_ns": float("nan")}}, "dram_latency_ns must be a finite number > 0"),
    ({"vector": {"cycles_per_element": {"softmx": 100}}}, "'softmx' is not a vector op; did you mean 'softmax'?"),
])
def test_values_the_model_cannot_honour_are_refused(data, message):
    with pytest.raises(ValueError, match=message.replace("?", r"\?").replace("(", r"\(")):
        config_from_dict(data, "x.yaml")


# ------------------------------------------------------------------- config files a user got wrong


@pytest.mark.parametrize("content,match", [
    (b"", "the file is empty"),
    (b"# only a comment\n", "the file is empty"),
    (b"name: a\nname: b\n", "key 'name' appears twice"),
    (b"array:\n  rows: 32\n  rows: 16\n", "key 'rows' appears twice"),
    (b"name: \xff\xfe\n", r"not UTF-8 text \(byte 0xff"),
    (b"memory:\n  weight_sram_kb: 1.0e+300\n", "memory: weight_sram_kb must be at most 1,048,576"),
    (b"clock_mhz: 1.0e+12\n", "clock_mhz must be at most 10,000"),
    (b"memory:\n  dram_gbps: 1.0e+9\n", "dram_gbps must be at most"),
    (b"clock_mhz: 1e12\n", "write 1.0e"),
])
def test_bad_config_files_name_the_file_and_key(tmp_path, content, match):
    from hwsim.arch import load_config

    path = tmp_path / "acc.yaml"
    path.write_bytes(content)
    with pytest.raises((ValueError, TypeError), match=match) as e:
        load_config(path)
    assert "acc.yaml" in str(e.value)
