"""Truth tables to LUT6 logic with real tools: ESPRESSO two-level minimization (pyeda's Berkeley Espresso) with the
unspecified patterns as don't-cares, then ABC's LUT6 mapping inside the pinned Yosys (``read_blif``;
``abc -lut 6``).

Each neuron is minimized as one multi-output function (its Y output bits together) and written as ``.names``
covers of a BLIF model per layer; Yosys' BLIF reader takes at most 12 inputs per ``.names``
(`MAX_MAPPED_INPUTS`), so wider neurons are refused naming the layer. Results are cached on disk per layer,
keyed by every neuron's table, the mode, the Yosys version and `LOGIC_VERSION`.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ._tables import LayerTable

__all__ = ["LOGIC_VERSION", "MAX_MAPPED_INPUTS", "LayerLogic", "cover_eval", "logic_forward", "map_layer",
           "map_network", "minimize_layer", "minimize_neuron"]

LOGIC_VERSION = 2  # 2: LUT depth per layer (ltp); covers cached on their own
MAX_MAPPED_INPUTS = 12  # Yosys' .names reader: "input plane must have fewer than 13 signals"

# ESPRESSO's cube encoding (pyeda): an input literal 1 = 0, 2 = 1, 3 = don't care; an output 0 / 1 (2 = dc).
_ZERO, _ONE, _DC = 1, 2, 3


def minimize_neuron(table: LayerTable, j: int) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """ESPRESSO cover of neuron ``j``: cubes (input literals, output bits), every unspecified address a
    don't-care (``full`` tables specify them all). Input literal i is address bit i (LSB first)."""
    from pyeda.boolalg.espresso import FTYPE, RTYPE, espresso, set_config
    from pyeda.boolalg.minimization import CONFIG

    x, y = table.x_bits, table.out_bits
    addr, out = table.addresses[j], table.outputs[j]
    if addr.size == 0:
        return []
    bits = (addr[:, None] >> np.arange(x)) & 1
    obits = (out[:, None] >> np.arange(y)) & 1
    cover = {(tuple(int(v) for v in np.where(b == 1, _ONE, _ZERO)), tuple(int(v) for v in o))
             for b, o in zip(bits, obits, strict=True)}
    set_config(**CONFIG)
    # F and R given (on- and off-set per output): every other point is don't-care
    return sorted(espresso(x, y, cover, intype=FTYPE | RTYPE))


def _layer_blif(table: LayerTable, covers) -> str:
    """One BLIF model: inputs x<feature>_<bit>, outputs y<neuron>_<bit>, a .names cover per output bit."""
    used = sorted({int(i) for i in table.indices.ravel()})
    lines = [f".model {table.name.replace('.', '_')}",
             ".inputs " + " ".join(f"x{i}_{b}" for i in used for b in range(table.in_bits)),
             ".outputs " + " ".join(f"y{j}_{b}" for j in range(table.neurons) for b in range(table.out_bits))]
    for j, cover in enumerate(covers):
        names = [f"x{int(i)}_{b}" for i in table.indices[j] for b in range(table.in_bits)]  # address bit order
        for b in range(table.out_bits):
            rows = ["".join("0" if v == _ZERO else "1" if v == _ONE else "-" for v in cube) + " 1"
                    for cube, outs in cover if outs[b] == 1]
            lines.append(".names " + " ".join([*names, f"y{j}_{b}"]))
            lines.extend(rows)  # no rows: the constant 0
    lines.append(".end")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class LayerLogic:
    """One layer mapped to LUT6: the mapped LUT count, ESPRESSO's product terms, LogicNets' LUTCost estimate."""

    name: str
    mode: str
    neurons: int
    x_bits: int
    out_bits: int
    luts: int
    cubes: int
    specified: int
    lutcost: float
    depth: int = 0  # LUT levels on the longest input-to-output path of the mapped layer (Yosys ltp)
    covers: tuple = ()  # per neuron: ESPRESSO cubes (input literals, output bits)

    def __post_init__(self) -> None:  # JSON gives lists back: cubes are tuples
        object.__setattr__(self, "covers", tuple(tuple((tuple(i), tuple(o)) for i, o in c) for c in self.covers))

    def to_dict(self) -> dict:
        return asdict(self)

    def outputs(self, table: LayerTable, codes: np.ndarray) -> np.ndarray:
        """What the minimized logic computes for (batch, in_features) input codes: (batch, neurons) output
        codes as signed integers when the layer's outputs are signed. Unspecified patterns get the value the
        minimizer chose for them (the NullaNet generalization)."""
        addr = table.pack(codes)
        out = np.zeros(addr.shape, dtype=np.int64)
        for j, cover in enumerate(self.covers):
            out[:, j] = cover_eval(cover, addr[:, j], table.x_bits, table.out_bits)
        if table.out_signed:
            half = 1 << (table.out_bits - 1)
            out = np.where(out >= half, out - (1 << table.out_bits), out)
        return out


def cover_eval(cover, addresses: np.ndarray, x_bits: int, y_bits: int) -> np.ndarray:
    """Output code bit patterns of a two-level cover at integer ``addresses`` (OR of the matching cubes)."""
    out = np.zeros(addresses.shape, dtype=np.int64)
    if not cover:
        return out
    bits = (addresses[:, None] >> np.arange(x_bits)) & 1  # (n, X)
    lits = np.array([c for c, _ in cover])  # (cubes, X)
    outs = np.array([o for _, o in cover])  # (cubes, Y)
    ok = (lits[None] == _DC) | ((lits[None] == _ONE) == (bits[:, None] == 1))  # (n, cubes, X)
    hit = ok.all(axis=2)  # (n, cubes)
    on = (hit[:, :, None] & (outs[None] == 1)).any(axis=1)  # (n, Y)
    return (on.astype(np.int64) << np.arange(y_bits)).sum(axis=1)


# read_blif -sop keeps each .names as a sum of products ($sop); techmap lowers it to AND/OR gates (a wide $lut
# would expand into a 2**X multiplexer tree) and ABC maps those to 6-input LUTs
_SCRIPT = """read_blif -sop layer.blif
hierarchy -auto-top
flatten
techmap
opt -fast
abc -lut 6
opt_clean
tee -q -o stat.json stat -json
tee -q -o ltp.txt ltp -noff
"""
_LTP = re.compile(r"Longest topological path in \S+ \(length=(\d+)\)")


def _key(table: LayerTable, *, mapped: bool = True) -> dict:
    from hwsim.cost import yosys_version

    digest = hashlib.sha256(table.indices.tobytes())
    for a, o in zip(table.addresses, table.outputs, strict=True):
        digest.update(np.ascontiguousarray(a, dtype=np.int64).tobytes() + b"|")
        digest.update(np.ascontiguousarray(o, dtype=np.int64).tobytes() + b"#")
    key = {"tables": digest.hexdigest(), "in_bits": table.in_bits, "out_bits": table.out_bits, "mode": table.mode,
           "version": LOGIC_VERSION}
    if mapped:
        key["yosys"] = yosys_version()
    return key


def minimize_layer(table: LayerTable, *, use_cache: bool = True) -> tuple:
    """ESPRESSO covers of every neuron of ``table`` (`minimize_neuron`), cached on disk by the tables: what the
    RTL (`hwsim.rtl.LutNetwork`) and `logic_forward` compute."""
    from hwsim._util import cache_path, read_cached, write_cached

    path = cache_path("lutcover", table.name.replace(".", "_"), _key(table, mapped=False))
    cached = read_cached(path, use_cache)
    if cached is not None and len(cached.get("covers", ())) == table.neurons:
        return tuple(tuple((tuple(i), tuple(o)) for i, o in c) for c in cached["covers"])
    covers = tuple(tuple(minimize_neuron(table, j)) for j in range(table.neurons))
    write_cached(path, {"covers": covers}, use_cache)
    return covers


def map_layer(table: LayerTable, *, use_cache: bool = True) -> LayerLogic:
    """Minimize every neuron of ``table`` and map the layer to LUT6 with ABC (module docstring)."""
    from hwsim._util import cache_path, read_cached, write_cached
    from hwsim.cost._yosys import run_yosys

    if table.x_bits > MAX_MAPPED_INPUTS:
        raise ValueError(f"layer {table.name}: X = {table.x_bits} input bits per neuron; the LUT mapping reads at "
                         f"most {MAX_MAPPED_INPUTS} (Yosys' BLIF .names limit)")
    path = cache_path("lut", table.name.replace(".", "_"), _key(table))
    cached = read_cached(path, use_cache)
    if cached is not None:
        try:
            return LayerLogic(**cached)
        except TypeError:
            pass
    covers = minimize_layer(table, use_cache=use_cache)
    with tempfile.TemporaryDirectory(prefix="hwsim-lut-") as tmp:
        work = Path(tmp)
        (work / "layer.blif").write_text(_layer_blif(table, covers))
        run_yosys(_SCRIPT, work)
        stat = json.loads((work / "stat.json").read_text())
        found = _LTP.search((work / "ltp.txt").read_text())
    cells = stat["design"].get("num_cells_by_type", {})
    result = LayerLogic(name=table.name, mode=table.mode, neurons=table.neurons, x_bits=table.x_bits,
                        out_bits=table.out_bits, luts=int(cells.get("$lut", 0)), cubes=sum(len(c) for c in covers),
                        specified=table.specified, lutcost=table.lutcost, depth=int(found.group(1)) if found else 0,
                        covers=covers)
    write_cached(path, result.to_dict(), use_cache)
    return result


def map_network(tables: list[LayerTable], *, use_cache: bool = True) -> list[LayerLogic]:
    """`map_layer` for every layer."""
    return [map_layer(t, use_cache=use_cache) for t in tables]


def logic_forward(tables: list[LayerTable], logic: list[LayerLogic], first_codes: np.ndarray) -> np.ndarray:
    """Input codes through the minimized logic of every layer: the output codes (signed integers)."""
    codes = np.asarray(first_codes, dtype=np.int64)
    for t, lg in zip(tables, logic, strict=True):
        codes = lg.outputs(t, codes)
    return codes
