"""A whole LUT network as hardware: its tables and minimized covers (`LutDesign`), the RTL and Verilog of it
(`hwsim.rtl.LutNetwork`), and what it costs (`lut_cost`): LUT6, flip-flop and CARRY4 counts and LUT depth per
layer from synthesis of that RTL with the pinned Yosys, an fmax estimate from the depth, and the energy per
inference and cell area from gate-level toggles of its gate netlist on real input codes.

Timing model: one LUT level (a LUT and the route into the next) costs `LEVEL_DELAY_NS`, taken from MapBuf's
delay characterization of Vivado-placed designs (Dynamatic's MapBuf documentation, "Delay characterization": a
4.2 ns clock period fits 6 LUT levels, so 0.7 ns per level with routing; flip-flop clock-to-out and setup are
folded into that figure). fmax = 1 / (deepest layer's levels x `LEVEL_DELAY_NS`). It is an estimate, not a
timing report: placement and routing are not run here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from ._logic import LOGIC_VERSION, logic_forward, minimize_layer
from ._tables import LUT_MODES, LayerTable, input_codes, truth_tables, unpack_fields

__all__ = ["LEVEL_DELAY_NS", "LutCost", "LutDesign", "LutLayerCost", "load_lut_model", "lut_cost", "lut_design"]

LEVEL_DELAY_NS = 0.7  # per LUT level incl. routing (MapBuf delay characterization; module docstring)
_COST_VERSION = 4


@dataclass(frozen=True, eq=False)
class LutDesign:
    """A LUT network ready for hardware: per layer its truth tables and the ESPRESSO covers the RTL is built
    from. ``in_signed``: whether the network's input codes are signed (two's complement on the ``x`` port)."""

    name: str
    mode: str
    tables: tuple[LayerTable, ...]
    covers: tuple[tuple, ...]
    in_signed: bool
    in_features: int  # width of the network's input in features

    @property
    def latency(self) -> int:
        """Cycles from a sample on ``x`` to its result on ``y``: one register per layer."""
        return len(self.tables)

    @property
    def in_bits(self) -> int:
        return self.tables[0].in_bits

    @property
    def out_features(self) -> int:
        return self.tables[-1].neurons

    @property
    def out_bits(self) -> int:
        return self.tables[-1].out_bits

    @property
    def top(self) -> str:
        """The Verilog top module's name."""
        return "lut_" + re.sub(r"\W", "_", self.name)

    def digest(self) -> str:
        """Hash of everything the RTL is built from (the cost cache key)."""
        h = hashlib.sha256(json.dumps([self.mode, self.in_features, LOGIC_VERSION]).encode())
        for t, c in zip(self.tables, self.covers, strict=True):
            h.update(np.ascontiguousarray(t.indices, dtype=np.int64).tobytes())
            h.update(json.dumps([t.in_bits, t.out_bits, c]).encode())
        return h.hexdigest()[:20]

    def component(self):
        """The Amaranth `hwsim.rtl.LutNetwork`."""
        from hwsim.rtl import LutNetwork

        return LutNetwork(self.tables, self.covers, inputs=self.in_features)

    def verilog(self) -> str:
        """Verilog of the network, top module `top` (ports x, valid, y, y_valid; clk and rst)."""
        from hwsim.rtl import to_verilog

        return to_verilog(self.component(), self.top)

    def pack(self, codes: np.ndarray) -> list[int]:
        """(batch, in_features) input codes -> the ``x`` port's value per sample (Python ints)."""
        return _pack(np.asarray(codes, dtype=np.int64), self.in_bits)

    def pack_outputs(self, codes: np.ndarray) -> list[int]:
        """(batch, out_features) output codes -> the ``y`` port's value per sample (Python ints)."""
        return _pack(np.asarray(codes, dtype=np.int64), self.out_bits)

    def unpack(self, words) -> np.ndarray:
        """``y`` port values -> (batch, out_features) output codes (signed when the outputs are)."""
        return unpack_fields(words, self.out_features, self.out_bits, self.tables[-1].out_signed)

    def forward(self, codes: np.ndarray) -> np.ndarray:
        """What the RTL computes for (batch, in_features) input codes: the output codes."""
        return logic_forward(self.tables, self.covers, codes)


def _pack(codes: np.ndarray, bits: int) -> list[int]:
    fields = codes & ((1 << bits) - 1)
    out = []
    for row in fields.tolist():
        word = 0
        for i, v in enumerate(row):
            word |= int(v) << (i * bits)
        out.append(word)
    return out


def load_lut_model(model, data=None, train_data=None):
    """(module, name, `ModelData` or None) of a LUT network: a registry name (trained weights and split when it
    has data), a ``.py`` file defining ``model`` (a module or a function returning one) and optionally
    ``eval_data`` / ``train_data`` (no example inputs needed: a LUT network's input is its feature vector), or
    a module. ``data`` / ``train_data`` given here replace the model's own, and either may come alone."""
    import torch

    from ..frontend._data import ModelData, as_batches

    given = None
    if data is not None or train_data is not None:
        given = ModelData("the given data", test=None if data is None else as_batches(data, "data"),
                          train=None if train_data is None else as_batches(train_data, "train_data"))
    if isinstance(model, torch.nn.Module):
        module, name, own = model, type(model).__name__, None
    elif isinstance(model, str | os.PathLike) and str(model).endswith(".py"):
        from ..frontend._load import file_model, load_module_file

        spec = str(model)
        file = load_module_file(spec)
        module = file_model(spec, file)
        if hasattr(file, "evaluate") and not hasattr(file, "eval_data") and given is None:
            raise ValueError(f"model file {spec!r}: an evaluate(model) hook cannot score LUT logic; define eval_data")
        name = Path(spec).stem
        own = ModelData(f"model file {spec}",
                        test=as_batches(file.eval_data, f"eval_data in {spec}") if hasattr(file, "eval_data") else None,
                        train=as_batches(file.train_data, f"train_data in {spec}")
                        if hasattr(file, "train_data") else None)
    elif isinstance(model, str):
        from hwsim.models import has_data

        from ..frontend._data import data_for
        from ..frontend._load import load_model

        module, _, _, name = load_model(model)
        own = data_for(model) if has_data(model) else None
    else:
        raise TypeError(f"a LUT simulation takes a registry name, a model file or a LUT network module, not "
                        f"{type(model).__name__}")
    from ._tables import _blocks

    _blocks(module)  # ValueError naming the class when it is not a LUT network
    mdata = given if given is not None else own
    if mdata is not None and not mdata.test and not mdata.train:
        mdata = None
    return module, name, mdata


def _train_inputs(mdata, name: str):
    import torch

    if mdata is None or not mdata.train:
        raise ValueError(f"lut='observed' specifies the patterns {name} shows on its training inputs, and it has "
                         "none (give train_data, or use lut='full')")
    return torch.cat([b[0][0] for b in mdata.train])


def lut_design(model, mode: str = "full", data=None, *, name: str | None = None,
               use_cache: bool = True) -> LutDesign:
    """The `LutDesign` of a LUT network: a registry name or model file (its trained weights and, in ``observed``
    mode, its training split; `load_lut_model`) or a `hwsim.models.jsc.JSCNet`-style module (``data``: the
    inputs observed mode specifies).
    Covers are cached per layer (`hwsim.lut.minimize_layer`)."""
    if mode not in LUT_MODES:
        raise ValueError(f"mode must be one of {', '.join(LUT_MODES)}, not {mode!r}")
    if mode == "full" and data is not None:
        raise ValueError("data: full mode specifies every input pattern; data applies to observed mode only")
    if isinstance(model, str):  # a registry name or a model file, with its own training split
        model, own_name, mdata = load_lut_model(model)
        name = name or own_name
        if mode == "observed" and data is None:
            data = _train_inputs(mdata, name)
    tables = truth_tables(model, mode, data)
    covers = tuple(minimize_layer(t, use_cache=use_cache) for t in tables)
    return LutDesign(name=name or type(model).__name__, mode=mode, tables=tuple(tables), covers=covers,
                     in_signed=bool(model.input_quant.signed), in_features=int(model.layers[0].linear.in_features))


def design_inputs(model, x) -> tuple[np.ndarray, np.ndarray]:
    """(input codes, output codes) of the quantized torch model on inputs ``x``: what the RTL must reproduce."""
    codes = input_codes(model, x)
    return codes[0], codes[-1]


# ---- cost ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LutLayerCost:
    """Synthesized size and depth of one layer module."""

    name: str
    neurons: int
    x_bits: int
    out_bits: int
    luts: int
    lut6: int
    ffs: int
    carry4: int
    muxf: int
    depth: int  # logic levels (LUTs and MUXF7/8) on its longest register-to-output path
    lutcost: float  # LogicNets' estimate for the layer


@dataclass(frozen=True)
class LutCost:
    """What a LUT network costs (module docstring): per layer and in total."""

    design: str
    mode: str
    layers: tuple[LutLayerCost, ...]
    luts: int
    lut6: int
    ffs: int
    carry4: int
    depth: int
    fmax_mhz: float
    latency_cycles: int
    gates: int
    area_um2: float
    leakage_mw: float
    energy_pj_per_inference: float
    energy_breakdown_pj: dict
    energy_samples: int
    yosys: str
    level_delay_ns: float = LEVEL_DELAY_NS
    extra: dict = field(default_factory=dict)

    @property
    def lutcost(self) -> float:
        return sum(layer.lutcost for layer in self.layers)

    @property
    def latency_s(self) -> float:
        return self.latency_cycles / (self.fmax_mhz * 1e6)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["layers"] = [asdict(x) for x in self.layers]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> LutCost:
        return cls(**{**d, "layers": tuple(LutLayerCost(**x) for x in d["layers"])})


_FPGA_SCRIPT = """read_verilog design.v
synth_xilinx -family xc7 -nodsp -noiopad -top {top}
tee -q -o fpga.json stat -json
delete t:FD* t:BUFG
tee -q -o ltp.txt ltp -noff
"""
# ltp -noff does not know Xilinx flip-flops (it would count each layer's input FDRE as a level): they are deleted
# after the counts are taken, so a path runs from a register output through LUTs, MUXF7/8 and CARRY4 only
_LTP = re.compile(r"Longest topological path in \\?(\S+) \(length=(\d+)\)")


def _fpga(verilog: str, design: LutDesign) -> tuple[list[LutLayerCost], dict]:
    from hwsim.cost._yosys import run_yosys

    with tempfile.TemporaryDirectory(prefix="hwsim-lutfpga-") as tmp:
        work = Path(tmp)
        (work / "design.v").write_text(verilog)
        run_yosys(_FPGA_SCRIPT.format(top=design.top), work)
        stat = json.loads((work / "fpga.json").read_text())
        depths = {m.lstrip("\\"): int(n) for m, n in _LTP.findall((work / "ltp.txt").read_text())}
    modules = {k.lstrip("\\"): v for k, v in stat["modules"].items()}
    layers = []
    for n, t in enumerate(design.tables):
        name = f"{design.top}.layer{n}"  # Amaranth's name for the layer's module
        # a layer whose logic is all constant or unread is removed with its module: no cells
        cells = modules.get(name, {}).get("num_cells_by_type", {})
        depth = depths.get(name, 0)
        layers.append(LutLayerCost(
            name=t.name, neurons=t.neurons, x_bits=t.x_bits, out_bits=t.out_bits,
            luts=sum(v for k, v in cells.items() if k.startswith("LUT")), lut6=cells.get("LUT6", 0),
            ffs=sum(v for k, v in cells.items() if k.startswith("FD")), carry4=cells.get("CARRY4", 0),
            muxf=sum(v for k, v in cells.items() if k.startswith("MUXF")), depth=depth,
            lutcost=t.lutcost))
    top_cells = modules.get(design.top, {}).get("num_cells_by_type", {})
    return layers, top_cells


_PORT_CHUNK = 62  # bits of one driven port: the gate simulator takes port values up to 63 bits


def _split_wide_inputs(netlist, limit: int = _PORT_CHUNK):
    """The netlist with every input port wider than ``limit`` bits split into ``<port>@<i>`` chunks, so the
    gate simulator (63-bit port values) can drive it."""
    ports = {}
    for name, p in netlist.ports.items():
        if p.direction == "input" and p.width > limit:
            for i in range(0, p.width, limit):
                ports[f"{name}@{i // limit}"] = replace(p, nets=p.nets[i:i + limit])
        else:
            ports[name] = p
    return replace(netlist, ports=ports)


def _stimulus(design: LutDesign, codes: np.ndarray, lanes: int = 64):
    """Per-lane streams of the sample words, one new sample per cycle, long enough to fill the pipeline."""
    words = design.pack(codes)
    n = len(words)
    lanes = max(1, min(lanes, n))
    per_lane = max(-(-n // lanes), 8)
    cycles = per_lane + design.latency
    order = [[words[(lane + lanes * t) % n] for lane in range(lanes)] for t in range(cycles)]
    return order, cycles, lanes


def lut_cost(design: LutDesign, codes: np.ndarray, *, use_cache: bool = True) -> LutCost:
    """Synthesize ``design``'s RTL and price it (module docstring). ``codes``: (samples, in_features) input
    codes to drive the gate netlist with (the held-out test inputs), streamed one sample per cycle."""
    from hwsim._util import cache_path, read_cached, write_cached
    from hwsim.cost import gate_energy_model, yosys_version
    from hwsim.cost._calibration import energy_cache_key
    from hwsim.cost._cells import leakage_mw, netlist_area_um2, raw_energy_fj
    from hwsim.cost._gatesim import simulate_gates
    from hwsim.cost._synthesis import synthesize_netlist
    from hwsim.cost._yosys import rtl_fingerprint

    codes = np.asarray(codes, dtype=np.int64)
    if codes.ndim != 2 or codes.shape[1] != design.in_features or codes.shape[0] == 0:
        raise ValueError(f"codes must be (samples >= 1, {design.in_features}) input codes, not {codes.shape}")
    stim_digest = hashlib.sha256(codes.tobytes()).hexdigest()[:16]
    key = {"design": design.digest(), "codes": stim_digest, "rtl": rtl_fingerprint(), "yosys": yosys_version(),
           "energy": energy_cache_key(), "version": _COST_VERSION, "delay": LEVEL_DELAY_NS}
    path = cache_path("lutcost", design.top, key)
    cached = read_cached(path, use_cache)
    if cached is not None:
        try:
            return LutCost.from_dict(cached)
        except (TypeError, KeyError):
            pass
    verilog = design.verilog()
    layers, top_cells = _fpga(verilog, design)
    netlist = _split_wide_inputs(synthesize_netlist(verilog, design.top))
    order, cycles, lanes = _stimulus(design, codes)
    stim = {"valid": np.ones((cycles, lanes), dtype=np.int64)}
    width = design.in_features * design.in_bits
    chunks = sorted((p for p in netlist.ports if p.startswith("x@")), key=lambda p: int(p.split("@")[1]))
    if chunks:
        for c in chunks:
            lo = int(c.split("@")[1]) * _PORT_CHUNK
            part = (1 << min(_PORT_CHUNK, width - lo)) - 1
            stim[c] = np.array([[(w >> lo) & part for w in row] for row in order], dtype=np.int64)
    else:
        stim["x"] = np.array(order, dtype=np.int64)
    count_from = design.latency
    sim = simulate_gates(netlist, stim, lanes=lanes, count_from=count_from, outputs=("y",))
    checked = _check_gates(design, netlist, sim, order)
    model = gate_energy_model(use_cache=use_cache)
    inferences = sim.counted_cycles * lanes
    parts = {k: model.pj(v) / inferences for k, v in raw_energy_fj(netlist, sim).items()}
    area = netlist_area_um2(netlist)
    depth = max(layer.depth for layer in layers)
    result = LutCost(
        design=design.name, mode=design.mode, layers=tuple(layers),
        luts=sum(x.luts for x in layers), lut6=sum(x.lut6 for x in layers),
        ffs=sum(x.ffs for x in layers) + sum(v for k, v in top_cells.items() if k.startswith("FD")),  # + valid pipe
        carry4=sum(x.carry4 for x in layers), depth=depth, fmax_mhz=fmax_mhz(depth),
        latency_cycles=design.latency, gates=sum(n for t, n in netlist.cell_counts().items() if "DFF" not in t),
        area_um2=area, leakage_mw=leakage_mw(area), energy_pj_per_inference=sum(parts.values()),
        energy_breakdown_pj=parts, energy_samples=int(codes.shape[0]), yosys=yosys_version(),
        extra={"lanes": lanes, "cycles": cycles, "warmup": count_from, "flip_flops_gates": netlist.cell_counts()
               .get("$_DFF_P_", 0), **checked})
    write_cached(path, result.to_dict(), use_cache)
    return result


def _check_gates(design: LutDesign, netlist, sim, order) -> dict:
    """Compare the gate netlist with the covers on the streamed samples. The gate simulator records a port bit
    driven by logic as it settled before each edge and one driven by a flip-flop as it is after the edge, so
    sample s is on ``y``'s logic-driven bits at cycle s + latency and on its register-driven bits (an output
    that is just a register bit, a neuron that copies one input) at s + latency - 1. A disagreement is a bug
    in the synthesis flow or the netlist reader, never a user error: RuntimeError naming the sample."""
    from hwsim.cost import DFF

    y = sim.outputs["y"]
    lat = design.latency
    reg_bits = sum(1 << b for b, net in enumerate(netlist.ports["y"].nets)
                   if netlist.driver[net] >= 0 and netlist.cell_type[netlist.driver[net]] == DFF)
    words = [w for row in order[: y.shape[0] - lat] for w in row]
    comb = [int(v) for row in y[lat:] for v in row]
    regd = [int(v) for row in y[lat - 1:-1] for v in row]
    got = [(c & ~reg_bits) | (r & reg_bits) for c, r in zip(comb, regd, strict=True)]
    in_codes = unpack_fields(words, design.in_features, design.in_bits, design.in_signed)
    want = design.forward(in_codes)
    got_codes = design.unpack(got)
    bad = np.nonzero((want != got_codes).any(axis=1))[0]
    if bad.size:
        i = int(bad[0])
        raise RuntimeError(f"{design.top}: the gate netlist disagrees with the minimized logic on {bad.size} of "
                           f"{len(words)} streamed samples; first, entry {i}: inputs {in_codes[i].tolist()}, "
                           f"expected {want[i].tolist()}, got {got_codes[i].tolist()}")
    return {"gate_checked": len(words), "gate_mismatches": 0}


def fmax_mhz(depth: int) -> float:
    """fmax estimate (MHz) of a pipeline stage ``depth`` LUT levels deep (module docstring); a stage with no
    logic (depth 0: register to register) is taken as one level, the route between the registers."""
    return 1e3 / (max(int(depth), 1) * LEVEL_DELAY_NS)

