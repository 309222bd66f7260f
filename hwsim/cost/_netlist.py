"""Gate-level netlists: the cell library of the Yosys gate flow and the `GateNetlist` read from ``write_json``.

The gate flow (`hwsim.cost._yosys.GATES_SCRIPT`) leaves 2-input gates, MUXes, inverters and one D flip-flop
type. `GateNetlist` numbers the nets densely (0 and 1 are the constants), records each cell's type, input and
output nets, the ports and the registers' initial values, and derives the structure the simulator and the
energy model read: drivers, sinks and logic levels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

# Bump when the netlist format or its loading changes, so cached netlists from older code are not reused.
NETLIST_VERSION = 1

DFF = "$_DFF_P_"
COMBINATIONAL = ("$_AND_", "$_NAND_", "$_OR_", "$_NOR_", "$_XOR_", "$_XNOR_", "$_MUX_", "$_NOT_")
CELL_TYPES = (*COMBINATIONAL, DFF)
# Input pins of each cell type, in the order `GateNetlist.cell_inputs` stores them.
CELL_PINS: dict[str, tuple[str, ...]] = {
    **{t: ("A", "B") for t in ("$_AND_", "$_NAND_", "$_OR_", "$_NOR_", "$_XOR_", "$_XNOR_")},
    "$_MUX_": ("A", "B", "S"),  # Y = S ? B : A
    "$_NOT_": ("A",),
    DFF: ("D",),  # the clock pin C is implicit: one clock, every cycle
}
_OUTPUT_PIN = {**{t: "Y" for t in COMBINATIONAL}, DFF: "Q"}

# Nets 0 and 1 are the constants; Yosys' own net numbers start at 2, but we renumber densely anyway.
CONST0, CONST1 = 0, 1


@dataclass(frozen=True)
class PortBits:
    """One top-level port: direction and its nets, LSB first."""

    direction: str  # "input" | "output"
    nets: tuple[int, ...]

    @property
    def width(self) -> int:
        return len(self.nets)


@dataclass(frozen=True, eq=False)
class GateNetlist:
    """A flat gate-level netlist: cells of `CELL_TYPES`, nets numbered 0..n_nets-1 (0 and 1 are constants)."""

    top: str
    n_nets: int
    ports: dict[str, PortBits]
    cell_type: tuple[str, ...]
    cell_inputs: tuple[tuple[int, ...], ...]  # pins in `CELL_PINS` order
    cell_output: tuple[int, ...]
    dff_init: dict[int, int] = field(default_factory=dict)  # Q net -> initial value (absent: 0)

    # ---- construction -------------------------------------------------------------------------------------
    @classmethod
    def from_yosys_json(cls, data: Mapping, top: str | None = None) -> GateNetlist:
        """Load the output of Yosys ``write_json`` (after the gate flow)."""
        modules = data["modules"]
        if top is None:
            tops = [n for n, m in modules.items() if int(m.get("attributes", {}).get("top", 0) or 0)]
            top = tops[0] if len(tops) == 1 else next(iter(modules))
        mod = modules[top]
        index: dict[object, int] = {"0": CONST0, "1": CONST1, "x": CONST0, "z": CONST0}  # x/z: tie low

        def net(bit) -> int:
            if bit not in index:
                index[bit] = len(index) - 2  # after the four constant spellings, which share two nets
            return index[bit]

        ports = {name: PortBits(p["direction"], tuple(net(b) for b in p["bits"])) for name, p in mod["ports"].items()}
        types, inputs, outputs = [], [], []
        for name, cell in mod["cells"].items():
            t = cell["type"]
            if t == "$scopeinfo":  # what `flatten` leaves of a submodule's name: no logic
                continue
            if t not in CELL_PINS:
                raise ValueError(f"cell {name!r} has type {t}, outside the gate library {CELL_TYPES}")
            conn = cell["connections"]
            types.append(t)
            inputs.append(tuple(net(conn[p][0]) for p in CELL_PINS[t]))
            outputs.append(net(conn[_OUTPUT_PIN[t]][0]))
        # Register initial values: Yosys keeps them as an "init" attribute (MSB first) on the Q wires.
        q_nets = {o for t, o in zip(types, outputs, strict=True) if t == DFF}
        init: dict[int, int] = {}
        for info in mod.get("netnames", {}).values():
            value = info.get("attributes", {}).get("init")
            if not isinstance(value, str):
                continue
            for bit, ch in zip(info["bits"], reversed(value), strict=False):
                n = index.get(bit)
                if n in q_nets and ch == "1":
                    init[n] = 1
        return cls(top, len(index) - 2, ports, tuple(types), tuple(inputs), tuple(outputs), init)

    def to_json(self) -> dict:
        """A compact, JSON-ready form (`from_json` reads it back)."""
        return {
            "top": self.top,
            "n_nets": self.n_nets,
            "ports": {n: [p.direction, list(p.nets)] for n, p in self.ports.items()},
            "cells": [[t, list(i), o] for t, i, o in zip(self.cell_type, self.cell_inputs, self.cell_output,
                                                        strict=True)],
            "init": {str(k): v for k, v in self.dff_init.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping) -> GateNetlist:
        return cls(
            top=data["top"],
            n_nets=int(data["n_nets"]),
            ports={n: PortBits(d, tuple(bits)) for n, (d, bits) in data["ports"].items()},
            cell_type=tuple(c[0] for c in data["cells"]),
            cell_inputs=tuple(tuple(c[1]) for c in data["cells"]),
            cell_output=tuple(int(c[2]) for c in data["cells"]),
            dff_init={int(k): int(v) for k, v in data.get("init", {}).items()},
        )

    # ---- structure ----------------------------------------------------------------------------------------
    @property
    def n_cells(self) -> int:
        return len(self.cell_type)

    def cell_counts(self) -> dict[str, int]:
        """Number of cells of each type (types that do not occur are left out)."""
        counts: dict[str, int] = {}
        for t in self.cell_type:
            counts[t] = counts.get(t, 0) + 1
        return dict(sorted(counts.items()))

    @cached_property
    def dff_cells(self) -> np.ndarray:
        return np.array([i for i, t in enumerate(self.cell_type) if t == DFF], dtype=np.int64)

    @cached_property
    def driver(self) -> np.ndarray:
        """Cell index driving each net, -1 for constants, input ports and undriven nets."""
        d = np.full(self.n_nets, -1, dtype=np.int64)
        d[np.asarray(self.cell_output, dtype=np.int64)] = np.arange(self.n_cells)
        return d

    @cached_property
    def sinks(self) -> list[list[tuple[str, str]]]:
        """For each net, the (cell type, input pin) pairs it drives; output-port bits appear as ("port", name)."""
        out: list[list[tuple[str, str]]] = [[] for _ in range(self.n_nets)]
        for t, ins in zip(self.cell_type, self.cell_inputs, strict=True):
            for pin, n in zip(CELL_PINS[t], ins, strict=True):
                out[n].append((t, pin))
        for name, p in self.ports.items():
            if p.direction == "output":
                for n in p.nets:
                    out[n].append(("port", name))
        return out

    @cached_property
    def levels(self) -> np.ndarray:
        """Logic level of every cell: 0 for flip-flops and for gates fed only by ports, registers and constants,
        else one more than the deepest gate feeding it (Kahn's algorithm). A loop through gates is an error."""
        comb = [i for i, t in enumerate(self.cell_type) if t != DFF]
        driver = self.driver
        is_comb = np.zeros(self.n_cells, dtype=bool)
        is_comb[comb] = True
        users: dict[int, list[int]] = {}
        pending = np.zeros(self.n_cells, dtype=np.int64)
        for c in comb:
            for n in self.cell_inputs[c]:
                d = driver[n]
                if d >= 0 and is_comb[d]:
                    pending[c] += 1
                    users.setdefault(d, []).append(c)
        level = np.zeros(self.n_cells, dtype=np.int64)
        ready = [c for c in comb if pending[c] == 0]
        done = 0
        while ready:
            c = ready.pop()
            done += 1
            for u in users.get(c, ()):
                level[u] = max(level[u], level[c] + 1)
                pending[u] -= 1
                if pending[u] == 0:
                    ready.append(u)
        if done != len(comb):
            raise ValueError(f"{self.top}: combinational loop through {len(comb) - done} cells")
        level.setflags(write=False)
        return level

    @property
    def depth(self) -> int:
        """Logic depth: the number of gate levels between registers and ports."""
        return int(self.levels.max(initial=-1)) + 1
