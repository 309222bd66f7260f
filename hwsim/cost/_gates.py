"""Gate-level netlists from the pinned Yosys, and a vectorised zero-delay simulator that counts toggles.

The gate flow of `hwsim.cost._synth` (``synth -flatten; dfflegalize -cell $_DFF_P_ 01; abc -g AND,NAND,OR,NOR,
XOR,XNOR,MUX; opt_clean``) leaves a netlist of 2-input gates, MUXes, inverters and one D flip-flop type. We
``write_json`` it, load it into a `GateNetlist`, and simulate it cycle by cycle:

- many independent stimulus streams ("lanes") at once, packed 64 to a ``uint64`` word, so one numpy operation
  evaluates a whole group of gates for every lane;
- combinational cells evaluated in topological order, levelised: every gate of one level and one type is one
  gather-op-scatter;
- zero delay: each net settles once per cycle, so a toggle is a change of its settled value from one cycle to
  the next (glitches are not seen; see docs/cost-model.md).

For MAC units, `check_mac_netlist` replays random streams through the netlist and compares ``acc`` (``nar``,
``out``) with `hwsim.mac.expected_outputs` bit for bit: that checks both this simulator and the synthesized
netlist against the golden model.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from ._synth import _GATES_SCRIPT, FLOW_VERSION, _run_yosys, cache_path, read_cached, write_cached, yosys_version

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
_ALL_ONES = np.uint64(0xFFFF_FFFF_FFFF_FFFF)


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
    def _program(self) -> _Program:
        return _Program.compile(self)


# ---------------------------------------------------------------------------------------------------------------
# Simulation
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Group:
    """All cells of one type at one logic level: evaluated by one numpy expression for every lane."""

    kind: str
    a: np.ndarray
    b: np.ndarray | None
    s: np.ndarray | None
    out: np.ndarray


@dataclass(frozen=True)
class _Program:
    groups: tuple[_Group, ...]
    dff_d: np.ndarray
    dff_q: np.ndarray
    depth: int

    @classmethod
    def compile(cls, nl: GateNetlist) -> _Program:
        """Levelise the combinational cells (Kahn's algorithm); a loop through gates is an error."""
        comb = [i for i, t in enumerate(nl.cell_type) if t != DFF]
        driver = nl.driver
        is_comb = np.zeros(nl.n_cells, dtype=bool)
        is_comb[comb] = True
        users: dict[int, list[int]] = {}
        pending = np.zeros(nl.n_cells, dtype=np.int64)
        for c in comb:
            for n in nl.cell_inputs[c]:
                d = driver[n]
                if d >= 0 and is_comb[d]:
                    pending[c] += 1
                    users.setdefault(d, []).append(c)
        level = np.zeros(nl.n_cells, dtype=np.int64)
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
            raise ValueError(f"{nl.top}: combinational loop through {len(comb) - done} cells")
        groups = []
        by_key: dict[tuple[int, str], list[int]] = {}
        for c in comb:
            by_key.setdefault((int(level[c]), nl.cell_type[c]), []).append(c)
        for (_, t), cells in sorted(by_key.items()):
            ins = np.array([nl.cell_inputs[c] for c in cells], dtype=np.int64)
            out = np.array([nl.cell_output[c] for c in cells], dtype=np.int64)
            groups.append(_Group(t, ins[:, 0], ins[:, 1] if ins.shape[1] > 1 else None,
                                 ins[:, 2] if ins.shape[1] > 2 else None, out))
        dffs = nl.dff_cells
        return cls(
            groups=tuple(groups),
            dff_d=np.array([nl.cell_inputs[c][0] for c in dffs], dtype=np.int64),
            dff_q=np.array([nl.cell_output[c] for c in dffs], dtype=np.int64),
            depth=int(level.max(initial=-1)) + 1,
        )

    def settle(self, v: np.ndarray) -> None:
        """Evaluate every combinational cell in place (``v``: nets x words, uint64)."""
        for g in self.groups:
            a = v[g.a]
            k = g.kind
            if k == "$_NOT_":
                v[g.out] = ~a
            elif k == "$_MUX_":
                v[g.out] = a ^ ((a ^ v[g.b]) & v[g.s])  # S ? B : A
            else:
                b = v[g.b]
                if k == "$_AND_":
                    v[g.out] = a & b
                elif k == "$_NAND_":
                    v[g.out] = ~(a & b)
                elif k == "$_OR_":
                    v[g.out] = a | b
                elif k == "$_NOR_":
                    v[g.out] = ~(a | b)
                elif k == "$_XOR_":
                    v[g.out] = a ^ b
                else:  # $_XNOR_
                    v[g.out] = ~(a ^ b)


@dataclass(frozen=True, eq=False)
class GateSim:
    """Result of `simulate_gates`: output-port values per cycle and lane, and toggle counts per net.

    ``outputs[port][t, lane]`` is the port's value right after the clock edge of cycle ``t`` (unsigned; int64, or
    Python ints in an object array when the port is wider than 63 bits). Register outputs are exact; a port
    driven by logic alone shows the value it had before that edge. ``net_toggles[n]`` counts changes of net ``n``'s
    settled value, summed over lanes and over cycles ``count_from..cycles-1`` (``counted_cycles`` of them).
    """

    netlist: GateNetlist
    cycles: int
    lanes: int
    counted_cycles: int
    outputs: dict[str, np.ndarray]
    net_toggles: np.ndarray

    @property
    def cell_toggles(self) -> np.ndarray:
        """Output toggles of every cell (same order as the netlist's cells)."""
        return self.net_toggles[np.asarray(self.netlist.cell_output, dtype=np.int64)]

    def toggles_by_type(self) -> dict[str, int]:
        """Output toggles summed per cell type."""
        out: dict[str, int] = {}
        for t, n in zip(self.netlist.cell_type, self.cell_toggles.tolist(), strict=True):
            out[t] = out.get(t, 0) + int(n)
        return dict(sorted(out.items()))

    def input_toggles(self) -> int:
        """Toggles on input-port nets (their driver is outside the design)."""
        nets = sorted({n for p in self.netlist.ports.values() if p.direction == "input" for n in p.nets} - {0, 1})
        return int(self.net_toggles[nets].sum()) if nets else 0


def _pack_lanes(bits: np.ndarray, words: int) -> np.ndarray:
    """bool (..., lanes) -> uint64 (..., words), lane j in bit j % 64 of word j // 64."""
    lanes = bits.shape[-1]
    if lanes < 64 * words:
        pad = np.zeros((*bits.shape[:-1], 64 * words - lanes), dtype=bool)
        bits = np.concatenate([bits, pad], axis=-1)
    packed = np.packbits(bits, axis=-1, bitorder="little")
    return np.ascontiguousarray(packed).view("<u8").astype(np.uint64, copy=False)


def _unpack_lanes(words: np.ndarray, lanes: int) -> np.ndarray:
    """uint64 (..., words) -> bool (..., lanes): the inverse of `_pack_lanes`."""
    raw = np.ascontiguousarray(words.astype("<u8", copy=False)).view(np.uint8)
    return np.unpackbits(raw, axis=-1, bitorder="little")[..., :lanes].astype(bool)


def _bits_to_ints(bits: np.ndarray) -> np.ndarray:
    """bool (..., width, lanes) -> unsigned ints (..., lanes): int64, or Python ints when width > 63."""
    width = bits.shape[-2]
    if width <= 63:
        weights = np.left_shift(np.int64(1), np.arange(width, dtype=np.int64))
        return np.einsum("...wl,w->...l", bits.astype(np.int64), weights)
    out = np.zeros(bits.shape[:-2] + bits.shape[-1:], dtype=object)
    for lo in range(0, width, 62):  # exact: 62-bit limbs as int64, then shifted as Python ints
        limb = _bits_to_ints(bits[..., lo : lo + 62, :]).astype(object)
        out = out + (limb << lo) if lo else limb
    return out


def simulate_gates(netlist: GateNetlist, stimulus: Mapping[str, object], *, lanes: int | None = None,
             count_from: int = 0, outputs: Sequence[str] | None = None) -> GateSim:
    """Run ``netlist`` for every cycle of ``stimulus`` on many independent lanes at once.

    ``stimulus`` maps input-port names to integer values of shape (cycles,) (the same on every lane) or
    (cycles, lanes). Values are taken modulo 2**width (so negative numbers are their two's complement); ports
    left out (``clk``, ``rst``, ...) are held at 0 -- the clock is implicit, and registers start from their
    initial values, which for Amaranth designs are the reset values. Before cycle 0 the netlist settles with
    every input at 0; that state is the reference for the first cycle's toggles.
    Returns the outputs after every clock edge and the toggle counts of every net from ``count_from`` on.
    """
    prog = netlist._program
    inputs = {n: p for n, p in netlist.ports.items() if p.direction == "input"}
    unknown = sorted(set(stimulus) - set(inputs))
    if unknown:
        raise ValueError(f"{netlist.top} has no input port {unknown[0]!r}; inputs: {', '.join(inputs)}")
    arrays = {n: np.asarray(v) for n, v in stimulus.items()}
    if not arrays:
        raise ValueError("stimulus is empty: give at least one input port's values")
    cycles = {a.shape[0] for a in arrays.values()}
    if len(cycles) != 1:
        raise ValueError(f"stimulus ports disagree on the number of cycles: {sorted(cycles)}")
    (n_cycles,) = cycles
    widths = {a.shape[1] for a in arrays.values() if a.ndim == 2}
    if lanes is None:
        lanes = widths.pop() if len(widths) == 1 else 64
    if widths - {lanes}:
        raise ValueError(f"stimulus has {sorted(widths)} lanes, expected {lanes}")
    if lanes < 1 or not 0 <= count_from <= n_cycles:
        raise ValueError(f"need lanes >= 1 and 0 <= count_from <= cycles, got {lanes}, {count_from}")
    words = -(-lanes // 64)

    # Pre-pack every port's bits for every cycle: (cycles, width, words).
    packed: list[tuple[np.ndarray, np.ndarray]] = []
    for name, a in arrays.items():
        port = inputs[name]
        if port.width > 63:
            raise ValueError(f"input port {name!r} is {port.width} bits wide; at most 63 are supported")
        vals = np.asarray(a, dtype=np.int64) & np.int64((1 << port.width) - 1)
        if vals.ndim == 1:
            vals = np.broadcast_to(vals[:, None], (n_cycles, lanes))
        shifts = np.arange(port.width, dtype=np.int64)[None, :, None]
        bits = ((vals[:, None, :] >> shifts) & 1).astype(bool)
        nets = np.asarray(port.nets, dtype=np.int64)
        keep = nets > CONST1  # an input bit tied to a constant (should not happen) is left alone
        packed.append((nets[keep], _pack_lanes(bits, words)[:, keep, :]))

    want = [n for n, p in netlist.ports.items() if p.direction == "output"] if outputs is None else list(outputs)
    out_nets = {n: np.asarray(netlist.ports[n].nets, dtype=np.int64) for n in want}
    recorded = {n: np.empty((n_cycles, len(nets), words), dtype=np.uint64) for n, nets in out_nets.items()}

    # Lanes past `lanes` in the last word are padding: masked out of the toggle counts.
    mask = np.full(words, _ALL_ONES, dtype=np.uint64)
    if lanes % 64:
        mask[-1] = np.uint64((1 << (lanes % 64)) - 1)

    v = np.zeros((netlist.n_nets, words), dtype=np.uint64)
    v[CONST1] = _ALL_ONES
    for q, init in netlist.dff_init.items():
        if init:
            v[q] = _ALL_ONES
    prog.settle(v)
    prev = v.copy()
    toggles = np.zeros(netlist.n_nets, dtype=np.int64)
    for t in range(n_cycles):
        for nets, bits in packed:
            v[nets] = bits[t]
        prog.settle(v)
        if t >= count_from:
            toggles += np.bitwise_count((v ^ prev) & mask).sum(axis=1, dtype=np.int64)
        prev[...] = v
        v[prog.dff_q] = v[prog.dff_d]  # the clock edge: gather all D first, then write all Q
        for name, nets in out_nets.items():
            recorded[name][t] = v[nets]
    values = {name: _bits_to_ints(_unpack_lanes(w, lanes)) for name, w in recorded.items()}
    return GateSim(netlist, n_cycles, lanes, n_cycles - count_from, values, toggles)


# ---------------------------------------------------------------------------------------------------------------
# Synthesis and the netlist cache
# ---------------------------------------------------------------------------------------------------------------


def synthesize_netlist(verilog: str, top: str) -> GateNetlist:
    """Run the gate flow of `hwsim.cost._synth` on Verilog text and load the mapped netlist (uncached)."""
    script = _GATES_SCRIPT.format(src="design.v", top=top) + "write_json netlist.json\n"
    with tempfile.TemporaryDirectory(prefix="hwsim-gates-") as tmp:
        work = Path(tmp)
        (work / "design.v").write_text(verilog)
        _run_yosys(script, work)  # inside the work folder, relative paths (yowasp maps its own /tmp)
        data = json.loads((work / "netlist.json").read_text())
    return GateNetlist.from_yosys_json(data, top)


def cached_netlist(design: str, params: Mapping[str, object], build: Callable[[], tuple[str, str]], *,
                   use_cache: bool = True) -> GateNetlist:
    """The gate netlist of a design, synthesized by ``build() -> (verilog, top)`` unless the disk cache holds it.

    The cache key is (design, params, Yosys version, gate-flow version, netlist-format version), as for
    `hwsim.cost.mac_area`; entries live in ``cache_dir()/netlist``.
    """
    path = cache_path("netlist", design, {"design": design, "params": dict(params), "yosys": yosys_version(),
                                          "flow": FLOW_VERSION, "netlist": NETLIST_VERSION})
    cached = read_cached(path, use_cache)
    if cached is not None:
        try:
            return GateNetlist.from_json(cached)
        except (KeyError, TypeError, ValueError, IndexError):
            pass  # an outdated entry: synthesize again and overwrite it
    verilog, top = build()
    netlist = synthesize_netlist(verilog, top)
    write_cached(path, netlist.to_json(), use_cache, compact=True)
    return netlist


def mac_netlist(unit, *, use_cache: bool = True) -> GateNetlist:
    """Gate netlist of a `hwsim.mac.MacUnit`'s RTL (cached like `hwsim.cost.mac_area`)."""

    def build() -> tuple[str, str]:
        from ..rtl import mac_component, to_verilog  # amaranth only when we really synthesize

        top = f"mac_{unit.kind}"
        return to_verilog(mac_component(unit), top), top

    return cached_netlist(f"mac_{unit.kind}", unit.params(), build, use_cache=use_cache)


# ---------------------------------------------------------------------------------------------------------------
# MAC units: stimulus, outputs, and the check against the golden model
# ---------------------------------------------------------------------------------------------------------------


def mac_stimulus(unit, streams: Sequence[Sequence]) -> dict[str, np.ndarray]:
    """Port arrays (cycles, lanes) from one `hwsim.mac.MacInputs` stream per lane (all of the same length)."""
    if not streams:
        raise ValueError("need at least one stream")
    n = {len(s) for s in streams}
    if len(n) != 1:
        raise ValueError(f"streams must have equal lengths, got {sorted(n)}")
    names = ["valid", "clear", "w", "x", *(["mode"] if unit.has_mode else [])]
    return {p: np.array([[getattr(i, p) for i in s] for s in streams], dtype=np.int64).T for p in names}


def _signed(values: np.ndarray, bits: int) -> np.ndarray:
    """Two's complement reading of unsigned values (int64 or object arrays)."""
    if values.dtype == object:
        half = 1 << (bits - 1)
        return np.array([[x - (1 << bits) if x >= half else x for x in row] for row in values], dtype=object)
    return np.where(values >= (1 << (bits - 1)), values - (1 << bits), values)


def mac_gate_outputs(unit, sim: GateSim) -> list[list]:
    """Per lane, the `hwsim.mac.MacOutputs` of every cycle read from a gate simulation of a MAC netlist."""
    from ..mac import MacOutputs

    acc = _signed(sim.outputs["acc"], unit.acc_bits)
    nar = sim.outputs["nar"] if unit.has_nar else np.zeros_like(acc, dtype=np.int64)
    out = sim.outputs["out"] if unit.has_readout else acc
    return [[MacOutputs(int(acc[t, lane]), int(nar[t, lane]), int(out[t, lane])) for t in range(sim.cycles)]
            for lane in range(sim.lanes)]


def check_mac_netlist(unit, netlist: GateNetlist | None = None, *, lanes: int = 64, cycles: int = 200,
                      seed: int = 0) -> GateSim:
    """Simulate ``lanes`` random streams (`hwsim.mac.random_stream`: valid gaps, clears, overflow bursts, NaR)
    through the MAC's gate netlist and raise AssertionError at the first output that differs from the golden
    model (`hwsim.mac.first_mismatch`: cycle, inputs, expected, got). Returns the simulation."""
    from ..mac import first_mismatch, random_stream

    netlist = netlist or mac_netlist(unit)
    streams = [random_stream(unit, cycles, seed * 100_003 + lane) for lane in range(lanes)]
    sim = simulate_gates(netlist, mac_stimulus(unit, streams), lanes=lanes)
    for lane, (stream, got) in enumerate(zip(streams, mac_gate_outputs(unit, sim), strict=True)):
        report = first_mismatch(unit, stream, got)
        if report:
            raise AssertionError(f"gate netlist, lane {lane}: {report}")
    return sim

