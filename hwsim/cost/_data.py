"""The two data files every energy and area number comes from, read once per process, and their fingerprint.

data/cells_45nm.yaml: the Nangate 45 nm cell table (areas, pin capacitances, internal energies, leakage, wire
load, SRAM bitcell); data/horowitz_45nm.yaml: Horowitz's ISSCC 2014 energies (the calibration anchor, the
validation operations, SRAM and DRAM). Each number's provenance is marked in the files (docs/cost-model.md).
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType

import yaml

DATA_DIR = Path(__file__).parent / "data"
CELLS, HOROWITZ = "cells_45nm.yaml", "horowitz_45nm.yaml"


@cache
def _data_text(name: str) -> str:
    return (DATA_DIR / name).read_text()


@cache
def _parsed(name: str) -> dict:
    return yaml.safe_load(_data_text(name))  # never handed out: callers get a copy or a read-only view


def _read_only(value):
    if isinstance(value, dict):
        return MappingProxyType({k: _read_only(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_read_only(v) for v in value)
    return value


@cache
def data_view(name: str) -> Mapping:
    """One data file (`CELLS` or `HOROWITZ`), parsed once and shared read-only (mappings and tuples): the cost
    model's own lookups, which run on every `hwsim.cost.cost_tables` call, take no copy."""
    return _read_only(_parsed(name))


def cell_table() -> dict:
    """The 45 nm cell table (data/cells_45nm.yaml), parsed (a fresh copy: parsed once, never shared)."""
    return copy.deepcopy(_parsed(CELLS))


def horowitz_table() -> dict:
    """The Horowitz ISSCC 2014 anchors (data/horowitz_45nm.yaml), parsed (a fresh copy)."""
    return copy.deepcopy(_parsed(HOROWITZ))


@cache
def data_fingerprint() -> str:
    """Hash of both data files: part of every energy cache key, so editing a table invalidates old results."""
    text = _data_text(CELLS) + "\0" + _data_text(HOROWITZ)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
