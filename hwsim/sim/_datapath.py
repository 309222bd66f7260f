"""The datapath each GEMM runs on: its formats checked against the array's MAC, and the MAC a workload needs.

Rule for choosing the MAC when no accelerator is given (`mac_for_workload`): the scheme's own MAC kind at the
scheme's widths (`hwsim.formats.QuantSpec.default_mac`: fixed -> fixed, sp2 -> sp2, msq -> msq,
posit -> posit_fixp, posit+fixed -> posit_or_fixed), with an activation port wide enough for every quantized
layer's activation codes (a signed B-bit code needs B bits, an unsigned one B + 1; `hwsim.mac.act_port_bits`)
or, when no activation is quantized, the given accelerator's own x_bits. Everything else of the accelerator
(array, buffers, clock) stays as given. An unquantized workload keeps the given MAC.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..arch import AcceleratorConfig, MacConfig
from ..mac import act_fits, act_port_bits, make_mac, weight_mode
from ..workload import GemmOp, Workload


@dataclass(frozen=True, slots=True)
class LayerDatapath:
    """How one GEMM runs: its formats, the widths it stores and streams, and the MAC modes it uses."""

    name: str
    scheme: str | None  # None: the weights are not quantized
    w_bits: int  # bits of one stored weight code (activation width for attention's act x act GEMMs)
    x_bits: int  # bits of one stored input activation
    out_bits: int  # bits of one stored output (requantized)
    modes: tuple[int, ...]  # MAC modes the layer's rows use
    act_format: str | None

    @property
    def native(self) -> bool:
        """Runs at the MAC's own widths (no quantization record)."""
        return self.scheme is None


def mac_text(mac: MacConfig) -> str:
    """``kind (param=value, ...)``: a MAC as the notes and errors name it."""
    return f"{mac.kind} ({', '.join(f'{k}={v}' for k, v in mac.params.items())})"


def layer_datapath(op: GemmOp, cfg: AcceleratorConfig) -> LayerDatapath:
    """The datapath of ``op`` on ``cfg``'s MAC; ValueError naming the layer, the format and the MAC when the MAC
    cannot run the layer's weight or activation format."""
    unit = cfg.array.mac.unit
    q = op.quant
    if q is None:
        w_bits = unit.x_bits if op.weight is None else unit.w_bits
        return LayerDatapath(op.name, None, w_bits, unit.x_bits, unit.x_bits, (), None)
    modes = []
    for fmt in q.weight_formats.values():
        mode = weight_mode(unit, fmt)
        if mode is None:
            raise ValueError(f"layer {op.name}: {fmt.name} weights ({q.scheme}) cannot run on the "
                             f"{mac_text(cfg.array.mac)} MAC; choose an accelerator whose MAC runs {q.scheme} "
                             "(or leave out --arch to get one)")
        modes.append(mode)
    x_bits = unit.x_bits
    act = q.act
    if act is not None:
        if not act_fits(unit, act):
            raise ValueError(f"layer {op.name}: {act.name} activations need a {act_port_bits(act)}-bit fixed-point "
                             f"activation port; the {mac_text(cfg.array.mac)} MAC takes {unit.x_format.name}")
        x_bits = act.bits
    return LayerDatapath(op.name, q.scheme, q.w_bits, x_bits, x_bits, tuple(sorted(set(modes))), q.act_format)


def mac_for_workload(workload: Workload, cfg: AcceleratorConfig) -> tuple[AcceleratorConfig, str]:
    """``cfg`` with the MAC that runs ``workload``'s quantization at its own widths (see the module docstring),
    and a one-line account of the choice."""
    quantized = [op for op in workload.gemms if op.quant is not None]
    if not quantized:
        return cfg, f"MAC {mac_text(cfg.array.mac)}: the workload is not quantized, so it runs at the MAC's widths"
    schemes = sorted({op.quant.scheme for op in quantized})
    if len(schemes) > 1:
        raise ValueError(f"the workload's layers use several quantization schemes ({', '.join(schemes)}); "
                         "no single MAC is chosen for them: give an accelerator config whose MAC runs them all")
    spec = quantized[0].quant.spec
    acts = [op.quant.act for op in quantized if op.quant.act is not None]
    x_bits = max((act_port_bits(a) for a in acts), default=cfg.array.mac.unit.x_bits)
    new = with_scheme_mac(cfg, spec, x_bits)
    why = "activations not quantized: the default x_bits" if not acts else \
        f"x_bits {x_bits} holds every layer's {', '.join(sorted({a.name for a in acts}))} activation codes"
    return new, f"MAC {mac_text(new.array.mac)} chosen for {spec} ({why})"


def with_scheme_mac(cfg: AcceleratorConfig, spec, x_bits: int) -> AcceleratorConfig:
    """``cfg`` with the MAC quant ``spec`` (a `QuantSpec`) needs, its activation port ``x_bits`` wide."""
    kind, params = spec.default_mac()
    make_mac(kind, **params, x_bits=x_bits)  # the unit's own checks, before the config's
    mac = MacConfig(kind=kind, params={**params, "x_bits": x_bits})
    return dataclasses.replace(cfg, array=dataclasses.replace(cfg.array, mac=mac))


def compression_table(workload: Workload, cfg: AcceleratorConfig) -> list[dict]:
    """Per weight GEMM: the pruning asked for and achieved, the fraction of the engine's K-steps it streams (the
    tile-blocks it stores, times tokens per group / nm_group on N:M PEs), its format, widths and the MAC that runs
    it (`layer_datapath` checks each layer against the MAC)."""
    from ..arch import GemmShape
    from ._model import _group_tokens, _hardware_block_mask

    arr = cfg.array
    engine = arr.engine()
    rows = []
    for op in workload.gemms:
        if op.weight is None:
            continue
        d = layer_datapath(op, cfg)
        stored = 1.0
        if op.mask is not None:
            shape = GemmShape.of(engine, op.m, op.k, op.n)
            stored = float(_hardware_block_mask(op, workload, shape, arr.block_k, arr.cols).mean())
        tokens = _group_tokens(op, workload, engine)
        if tokens is not None:  # N:M PEs stream tokens of every nm_group weights
            stored *= tokens / engine.nm_group
        rows.append({
            "layer": op.name, "prune": op.prune or "", "requested_density": op.requested_density,
            "density": round(op.density, 6), "engine_density": round(stored, 6),
            "format": d.scheme or f"unquantized: the MAC's {arr.mac.kind} widths",
            "w_bits": d.w_bits, "act_format": d.act_format or "", "x_bits": d.x_bits, "mac": arr.mac.kind,
            "modes": ",".join(map(str, _modes_used(op, workload, d, arr.mac.unit))),
        })
    return rows


def _modes_used(op: GemmOp, workload: Workload, d: LayerDatapath, unit) -> tuple[int, ...]:
    """The MAC modes the layer's rows really use (a mixed scheme may put every row in one format)."""
    if op.row_modes is None:
        return d.modes
    fmts = op.quant.weight_formats  # row mode (1: first format, 0: alternative) -> format
    present = np.unique(workload.arrays[op.row_modes])
    return tuple(sorted({weight_mode(unit, fmts[int(m)]) for m in present}))


def _act_port_bits_of(row: dict, unit) -> int:
    """The x-port bits a compression row's activations occupy (the MAC's own width when not quantized)."""
    if not row["act_format"]:
        return unit.x_bits
    from ..formats import parse_format

    return act_port_bits(parse_format(row["act_format"]))


def compression_notes(rows: list[dict], cfg: AcceleratorConfig, *, mac_chosen: bool = False) -> list[str]:
    """One line per thing a reader of the totals must know: pruning that saves no cycles on this engine,
    layers running unquantized at the MAC's widths, codes narrower than a given MAC's ports (``mac_chosen``: the
    MAC was chosen for these layers by `mac_for_workload`, so it is already the narrowest that runs them all)."""
    notes = []
    no_cycles = [r for r in rows if r["density"] < 1 and r["engine_density"] >= 1]
    if no_cycles:
        methods = sorted({r["prune"] or "pruned" for r in no_cycles})
        nm = (f" and, with its N:M PEs, the weights beyond the most any group of {cfg.array.nm_group} keeps"
              if cfg.array.nm_group > 1 else "")
        notes.append(f"{len(no_cycles)} layers pruned by {', '.join(methods)} save MACs and energy but no cycles: "
                     f"this engine skips only whole {cfg.array.block_k}x{cfg.array.cols} tile-blocks{nm} "
                     f"(e.g. {no_cycles[0]['layer']}: density {no_cycles[0]['density']:.3f}, every K-step "
                     "streamed)")
    unit = cfg.array.mac.unit
    narrow = [] if mac_chosen else [r for r in rows if not r["format"].startswith("unquantized")
              and (r["w_bits"] < unit.w_bits or _act_port_bits_of(r, unit) < unit.x_bits)]
    if narrow:
        notes.append(f"{len(narrow)} layers (e.g. {narrow[0]['layer']}: {narrow[0]['format']}) use codes narrower "
                     f"than the {cfg.array.mac.kind} MAC's ports; their MAC energy is the MAC's full-width "
                     "characterisation (an upper bound): leave out --arch for a MAC at the format's widths")
    more = [r for r in rows if r["requested_density"] is not None and r["prune"]
            and r["density"] > r["requested_density"] + 0.05]
    if more:
        notes.append(f"{len(more)} layers keep more than the density asked for (e.g. {more[0]['layer']}: "
                     f"{more[0]['density']:.3f} for {more[0]['requested_density']:g}): a layer keeps at least one "
                     "block, and partial edge blocks count whole")
    empty = [r for r in rows if r["prune"] and r["density"] == 0]
    if empty:
        notes.append(f"{len(empty)} layers have every weight pruned (e.g. {empty[0]['layer']}): they still stream "
                     "their activations")
    quantized = [r for r in rows if not r["format"].startswith("unquantized")]
    raw_inputs = [r for r in quantized if not r["act_format"]]
    if raw_inputs and len(raw_inputs) < len(quantized):
        notes.append(f"{len(raw_inputs)} of {len(quantized)} quantized layers have unquantized inputs (e.g. "
                     f"{raw_inputs[0]['layer']}); they stream activations at the MAC's {unit.x_bits} bits")
    native = [r for r in rows if r["format"].startswith("unquantized")]
    if native and len(native) < len(rows):
        notes.append(f"{len(native)} of {len(rows)} weight layers are not quantized (e.g. {native[0]['layer']}); "
                     f"they run at the {cfg.array.mac.kind} MAC's own widths, as if already in its format")
    elif native:
        notes.append(f"the model is not quantized: every layer runs at the {cfg.array.mac.kind} MAC's own widths "
                     "(w_bits, x_bits), as if already in its format")
    return notes


def activation_gemm_note(workload: Workload, cfg: AcceleratorConfig) -> str | None:
    """A note when activation x activation GEMMs (attention's QK^T and AV) run on a MAC whose weight port does
    not read fixed-point codes: they are priced on that MAC as if it did, which the RTL cannot do."""
    from ..formats import Fixed

    unit = cfg.array.mac.unit
    acts = [op for op in workload.gemms if op.weight is None]
    if not acts or weight_mode(unit, Fixed(unit.x_bits, 0)) is not None:
        return None
    return (f"{len(acts)} activation x activation GEMMs (e.g. {acts[0].name}) run on the {cfg.array.mac.kind} "
            f"MAC, whose weight port reads {unit.w_format.name} codes, not fixed-point activations: they are "
            "timed and priced as if it took them (an approximation)")
