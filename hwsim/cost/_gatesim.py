"""A vectorised zero-delay simulator of a `GateNetlist` that counts every net's toggles.

- many independent stimulus streams ("lanes") at once, packed 64 to a ``uint64`` word, so one numpy operation
  evaluates a whole group of gates for every lane;
- combinational cells evaluated in topological order, levelised (`GateNetlist.levels`): every gate of one level
  and one type is one gather-op-scatter;
- zero delay: each net settles once per cycle, so a toggle is a change of its settled value from one cycle to
  the next (glitches are not seen; see docs/cost-model.md).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ._netlist import CONST1, DFF, GateNetlist

_ALL_ONES = np.uint64(0xFFFF_FFFF_FFFF_FFFF)


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

    @classmethod
    def compile(cls, nl: GateNetlist) -> _Program:
        """Group the combinational cells by (logic level, type), in level order."""
        comb = [i for i, t in enumerate(nl.cell_type) if t != DFF]
        level = nl.levels
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


_PROGRAMS: weakref.WeakKeyDictionary[GateNetlist, _Program] = weakref.WeakKeyDictionary()


def _program(netlist: GateNetlist) -> _Program:
    """The netlist's evaluation program, compiled once per netlist object."""
    prog = _PROGRAMS.get(netlist)
    if prog is None:
        prog = _PROGRAMS[netlist] = _Program.compile(netlist)
    return prog


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
    prog = _program(netlist)
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
