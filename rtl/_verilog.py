"""Verilog export of Amaranth components."""

from __future__ import annotations

import os
from pathlib import Path

from amaranth.back import verilog
from amaranth.hdl import Shape
from amaranth.lib.wiring import Flow


def to_verilog(component, name: str) -> str:
    """Verilog text of ``component`` with top module ``name`` (ports as declared, plus clk and rst)."""
    return verilog.convert(component, name=name, emit_src=False)


def write_verilog(component, name: str, directory: str | os.PathLike) -> Path:
    """Write ``<directory>/<name>.v`` and return its path."""
    path = Path(directory) / f"{name}.v"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_verilog(component, name))
    return path


def describe_ports(component) -> dict[str, dict]:
    """Direction, width and signedness of every port of a `wiring.Component` (clk and rst are implicit)."""
    ports = {}
    for name, member in component.signature.members.items():
        shape = Shape.cast(member.shape)
        ports[name] = {"direction": "input" if member.flow == Flow.In else "output", "width": shape.width,
                       "signed": shape.signed}
    return ports
