"""Verilog export of Amaranth components."""

from __future__ import annotations

import os
from pathlib import Path

from amaranth.back import verilog


def to_verilog(component, name: str) -> str:
    """Verilog text of ``component`` with top module ``name`` (ports as declared, plus clk and rst)."""
    return verilog.convert(component, name=name, emit_src=False)


def write_verilog(component, name: str, directory: str | os.PathLike) -> Path:
    """Write ``<directory>/<name>.v`` and return its path."""
    path = Path(directory) / f"{name}.v"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_verilog(component, name))
    return path
