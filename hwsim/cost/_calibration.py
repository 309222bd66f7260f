"""The one calibration of the gate-level energy, and its validation (Horowitz's 45 nm table).

ONE scale factor maps the library estimate (`hwsim.cost._cells`) onto Horowitz's table: an 8x8 signed multiplier
with registered inputs and outputs (`hwsim.rtl.RegisteredOp`) is simulated on random operands, and the energy
of its operator -- the combinational cells and the nets they drive; the harness registers and their clock are
left out, because Horowitz's figures are for the operations -- is set to his int8 multiply, 0.2 pJ. The 8-bit
and 32-bit adders and the 32x32 multiplier, built and simulated the same way, are then a validation: nothing is
tuned to them (`validation_table`, which also shows the whole registered designs for comparison).
Results are cached on disk by (designs, Yosys version, COST_VERSION, the data files' hash, the settings).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .._util import cache_path, read_cached, write_cached
from ._cells import netlist_area_um2, raw_energy_fj
from ._data import CELLS, HOROWITZ, data_fingerprint, data_view
from ._gatesim import simulate_gates
from ._netlist import DFF, NETLIST_VERSION, GateNetlist
from ._synthesis import NetlistJob, cached_netlists
from ._yosys import FLOW_VERSION, rtl_fingerprint, yosys_version

# Bump when the energy method or its simulation settings change, so cached results are not reused.
COST_VERSION = 1

# Reference designs for calibration and validation: Horowitz operation -> (operator, operand bits). Both operands
# are signed and registered, and so is the full-width result (2w bits for a product, w+1 for a sum).
REFERENCE_OPS: dict[str, tuple[str, int]] = {
    "int8_mul": ("mul", 8),
    "int8_add": ("add", 8),
    "int32_add": ("add", 32),
    "int32_mul": ("mul", 32),
}
# Simulation settings (part of every cache key): lanes x (cycles - warm-up) operations per design.
REF_LANES, REF_CYCLES = 256, 44
WARMUP = 4  # cycles not counted: the registers fill from their reset values first


def _reference_verilog(op: str, bits: int) -> tuple[str, str]:
    from ..rtl import RegisteredOp, to_verilog  # amaranth only when we really synthesize

    top = f"ref_{op}{bits}"
    return to_verilog(RegisteredOp(op, bits), top), top


def _reference_job(name: str) -> NetlistJob:
    op, bits = REFERENCE_OPS[name]
    return NetlistJob(f"ref_{op}{bits}", {"op": op, "bits": bits}, lambda: _reference_verilog(op, bits))


def reference_netlist(name: str, *, use_cache: bool = True) -> GateNetlist:
    """Gate netlist of one reference design of `REFERENCE_OPS` (`hwsim.rtl.RegisteredOp`, cached)."""
    return cached_netlists([_reference_job(name)], use_cache=use_cache)[0]


@dataclass(frozen=True)
class ReferenceOp:
    """One reference design, simulated on uniform random operands; energies per operation."""

    name: str
    horowitz_pj: float
    raw_fj_per_op: float  # the operator's library estimate before calibration (fJ at 1.1 V)
    dynamic_pj: float  # the operator (combinational cells and the nets they drive), calibrated
    total_pj: float  # the whole registered test design: operator + registers + clock + input load, calibrated
    breakdown_pj: dict[str, float]  # calibrated, by component (see `raw_energy_fj`); "logic" is the operator
    toggles_per_op: float  # cell-output toggles
    cells: dict[str, int]  # the whole registered test design
    area_um2: float  # the whole registered test design (operand and result registers included)
    leakage_mw: float


def _simulate_reference(name: str, netlist: GateNetlist,
                        seed: int) -> tuple[float, dict[str, float], float, dict, float]:
    op, bits = REFERENCE_OPS[name]
    rng = np.random.default_rng([seed, bits, op == "mul"])
    lo, hi = -(1 << (bits - 1)), 1 << (bits - 1)
    stim = {p: rng.integers(lo, hi, size=(REF_CYCLES, REF_LANES), dtype=np.int64) for p in ("a", "b")}
    sim = simulate_gates(netlist, stim, lanes=REF_LANES, count_from=WARMUP, outputs=())
    ops = sim.counted_cycles * sim.lanes
    parts = {k: v / ops for k, v in raw_energy_fj(netlist, sim).items()}
    comb = np.array([t != DFF for t in netlist.cell_type])
    toggles = float(sim.cell_toggles[comb].sum()) / ops  # the operator's gates only
    return parts["logic"], parts, toggles, netlist.cell_counts(), netlist_area_um2(netlist)


@dataclass(frozen=True)
class GateEnergyModel:
    """The calibrated energy scale: ``pJ = scale x (library estimate in fJ) / 1000``.

    ``scale`` is dimensionless: 1 would mean the 45 nm cell library at 1.1 V and Horowitz's table agree on the
    anchor; (0.9/1.1)^2 = 0.67 is what the supply voltage difference alone would give. It was fitted on the
    anchor's operator energy and applies to every component (registers and clock included) of other designs.
    """

    scale: float
    anchor: str
    anchor_pj: float
    references: dict[str, ReferenceOp]
    yosys: str
    cost_version: int
    data: str
    seed: int = 0
    source: str = ""

    def pj(self, raw_fj: float) -> float:
        """Calibrated energy (pJ) of a library estimate (fJ)."""
        return raw_fj * self.scale * 1e-3

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping) -> GateEnergyModel:
        refs = {k: ReferenceOp(**v) for k, v in d["references"].items()}
        return cls(**{**d, "references": refs})


def energy_cache_key() -> dict:
    """What every cached energy depends on: Yosys, the flow, the netlist format, the method, the data files and
    the RTL sources."""
    return {"yosys": yosys_version(), "flow": FLOW_VERSION, "netlist": NETLIST_VERSION, "cost": COST_VERSION,
            "data": data_fingerprint(), "rtl": rtl_fingerprint()}


def gate_energy_model(*, use_cache: bool = True, seed: int = 0) -> GateEnergyModel:
    """Calibrate the per-toggle energy scale on Horowitz's anchor (int8 multiply, 0.2 pJ) and predict the other
    reference operations with the same scale. Synthesizes four small designs once (in parallel), then reads the
    disk cache."""
    return calibrated_netlists((), use_cache=use_cache, seed=seed)[0]


def calibrated_netlists(jobs: Sequence[NetlistJob], *, use_cache: bool = True,
                        seed: int = 0) -> tuple[GateEnergyModel, list[GateNetlist]]:
    """`gate_energy_model` and the netlists of ``jobs``: what either lacks in the disk cache is synthesized in
    one parallel batch (`cached_netlists`), so a cold cache waits for the longest design, not for all of them."""
    key = {**energy_cache_key(), "refs": REFERENCE_OPS, "lanes": REF_LANES, "cycles": REF_CYCLES, "warmup": WARMUP,
           "seed": seed}
    path = cache_path("energy", "calibration", key)
    cached = read_cached(path, use_cache)
    try:
        model = None if cached is None else GateEnergyModel.from_dict(cached)
    except (KeyError, TypeError):
        model = None  # an outdated entry: calibrate again and overwrite it
    if model is not None:
        return model, cached_netlists(jobs, use_cache=use_cache)
    # the callers' designs, then the references largest first: the 32x32 multiplier, most of a cold cache's
    # synthesis time, starts at once beside the first of them
    refs = sorted(REFERENCE_OPS, key=lambda name: (REFERENCE_OPS[name][1], REFERENCE_OPS[name][0]), reverse=True)
    netlists = cached_netlists([*jobs, *map(_reference_job, refs)], use_cache=use_cache)
    ref_netlists = dict(zip(refs, netlists[len(jobs):], strict=True))
    model = _calibrate({name: _simulate_reference(name, ref_netlists[name], seed) for name in REFERENCE_OPS}, seed)
    write_cached(path, model.to_dict(), use_cache)
    return model, netlists[:len(jobs)]


def _calibrate(sims: Mapping[str, tuple], seed: int) -> GateEnergyModel:
    table = data_view(HOROWITZ)
    anchor = table["calibration_anchor"]
    anchor_pj = float(table["operations_pj"][anchor])
    scale = anchor_pj / (sims[anchor][0] * 1e-3)  # the one calibrated number: operator energy -> Horowitz
    leak = float(data_view(CELLS)["leakage_nw_per_um2"]) * 1e-6
    refs = {}
    for name, (raw, parts, toggles, cells, area) in sims.items():
        refs[name] = ReferenceOp(
            name=name,
            horowitz_pj=float(table["operations_pj"][name]),
            raw_fj_per_op=raw,
            # the anchor reads back exactly what it was calibrated to, not raw * (0.2 / raw) rounded
            dynamic_pj=anchor_pj if name == anchor else raw * scale * 1e-3,
            total_pj=sum(parts.values()) * scale * 1e-3,
            breakdown_pj={k: v * scale * 1e-3 for k, v in parts.items()},
            toggles_per_op=toggles,
            cells=cells,
            area_um2=area,
            leakage_mw=area * leak,
        )
    return GateEnergyModel(scale=scale, anchor=anchor, anchor_pj=anchor_pj, references=refs, yosys=yosys_version(),
                           cost_version=COST_VERSION, data=data_fingerprint(), seed=seed, source=table["source"])


def reference_op_energy(name: str, model: GateEnergyModel | None = None) -> ReferenceOp:
    """Calibrated energy and area of one reference operation (``int8_add``, ``int8_mul``, ``int32_add``,
    ``int32_mul``): for example a vector lane's 32-bit ALU operation."""
    model = model or gate_energy_model()
    if name not in model.references:
        raise ValueError(f"unknown reference operation {name!r}; choose from {', '.join(model.references)}")
    return model.references[name]


def validation_table(model: GateEnergyModel | None = None):
    """pandas DataFrame: each reference operation's Horowitz energy, hwsim's prediction and their ratio.

    ``hwsim_pj`` is the operator's energy (the basis of the calibration); the anchor row equals Horowitz by
    construction, the other rows are measured, not tuned. ``registered_pj`` / ``registered_ratio`` show the whole
    registered test design (operand and result registers and their clock added) with the same scale.
    """
    import pandas as pd

    model = model or gate_energy_model()
    rows = []
    order = [n for n in REFERENCE_OPS if n in model.references] + sorted(set(model.references) - set(REFERENCE_OPS))
    for name in order:
        r = model.references[name]
        rows.append({
            "operation": name,
            "role": "anchor" if name == model.anchor else "validation",
            "horowitz_pj": r.horowitz_pj,
            "hwsim_pj": r.dynamic_pj,
            "ratio": r.dynamic_pj / r.horowitz_pj,
            "registered_pj": r.total_pj,
            "registered_ratio": r.total_pj / r.horowitz_pj,
            "gates": sum(n for t, n in r.cells.items() if t != DFF),
            "flip_flops": r.cells.get(DFF, 0),
            "toggles_per_op": r.toggles_per_op,
        })
    return pd.DataFrame(rows)
