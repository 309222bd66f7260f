"""The two data files every energy and area number comes from, read once, and their fingerprint.

data/cells_45nm.yaml: the Nangate 45 nm cell table (areas, pin capacitances, internal energies, leakage, wire
load, SRAM bitcell); data/horowitz_45nm.yaml: Horowitz's ISSCC 2014 energies (the calibration anchor, the
validation operations, SRAM and DRAM). Each number's provenance is marked in the files (docs/cost-model.md).
"""

from __future__ import annotations

import copy
import hashlib
from functools import cache
from pathlib import Path

import yaml

DATA_DIR = Path(__file__).parent / "data"


@cache
def _data_text(name: str) -> str:
    return (DATA_DIR / name).read_text()


@cache
def _parsed(name: str) -> dict:
    return yaml.safe_load(_data_text(name))


def cell_table() -> dict:
    """The 45 nm cell table (data/cells_45nm.yaml), parsed (a fresh copy: parsed once, never shared)."""
    return copy.deepcopy(_parsed("cells_45nm.yaml"))


def horowitz_table() -> dict:
    """The Horowitz ISSCC 2014 anchors (data/horowitz_45nm.yaml), parsed (a fresh copy)."""
    return copy.deepcopy(_parsed("horowitz_45nm.yaml"))


def data_fingerprint() -> str:
    """Hash of both data files: part of every energy cache key, so editing a table invalidates old results."""
    text = _data_text("cells_45nm.yaml") + "\0" + _data_text("horowitz_45nm.yaml")
    return hashlib.sha256(text.encode()).hexdigest()[:16]
