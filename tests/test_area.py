"""Synthesized area with the pinned Yosys, and its cache."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from hwsim.cost import AreaReport, mac_area, yosys_version
from hwsim.mac import make_mac


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HWSIM_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.parametrize(("kind", "params"), [("fixed", dict(w_bits=4, x_bits=8)), ("sp2", dict(w_bits=4, x_bits=8))])
def test_flip_flops_are_exactly_the_pipeline_registers(kind, params, cache):
    unit = make_mac(kind, **params)
    report = mac_area(unit)
    # valid and clear delayed one stage, the product register, the accumulator
    assert report.ffs == 2 + unit.product_bits + unit.acc_bits
    assert report.gate_cells["$_DFF_P_"] == report.ffs
    assert report.luts > 0 and report.gates > 0 and report.transistors > report.gates
    assert report.yosys == yosys_version()


def test_sp2_shift_add_is_smaller_than_the_multiplier_it_replaces(cache):
    fixed = mac_area(make_mac("fixed", w_bits=8, x_bits=8, acc_bits=32))
    sp2 = mac_area(make_mac("sp2", w_bits=8, x_bits=8, acc_bits=32))
    assert sp2.gates < fixed.gates


def test_results_are_cached_by_unit_and_parameters(cache):
    unit = make_mac("fixed", w_bits=3, x_bits=4)
    first = mac_area(unit)
    (entry,) = (cache / "area").glob("fixed-*.json")
    # what comes back is the cache entry: a doctored one shows the design was not synthesized again
    entry.write_text(json.dumps({**json.loads(entry.read_text()), "luts": first.luts + 1000}))
    assert mac_area(unit) == replace(first, luts=first.luts + 1000)
    mac_area(make_mac("fixed", w_bits=3, x_bits=5))  # other parameters: another entry
    assert len(list((cache / "area").glob("fixed-*.json"))) == 2


def test_a_damaged_cache_entry_is_rebuilt(cache):
    unit = make_mac("fixed", w_bits=2, x_bits=3)
    mac_area(unit)
    (entry,) = (cache / "area").glob("*.json")
    entry.write_text("{not json")
    assert isinstance(mac_area(unit), AreaReport)
    assert entry.read_text().startswith("{\n")
