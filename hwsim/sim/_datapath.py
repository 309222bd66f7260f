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


def _mac_text(mac: MacConfig) -> str:
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
                             f"{_mac_text(cfg.array.mac)} MAC; choose an accelerator whose MAC runs {q.scheme} "
                             "(or leave out --arch to get one)")
        modes.append(mode)
    x_bits = unit.x_bits
    act = q.act
    if act is not None:
        if not act_fits(unit, act):
            raise ValueError(f"layer {op.name}: {act.name} activations need a {act_port_bits(act)}-bit fixed-point "
                             f"activation port; the {_mac_text(cfg.array.mac)} MAC takes {unit.x_format.name}")
        x_bits = act.bits
    return LayerDatapath(op.name, q.scheme, q.w_bits, x_bits, x_bits, tuple(sorted(set(modes))), q.act_format)


def mac_for_workload(workload: Workload, cfg: AcceleratorConfig) -> tuple[AcceleratorConfig, str]:
    """``cfg`` with the MAC that runs ``workload``'s quantization at its own widths (see the module docstring),
    and a one-line account of the choice."""
    quantized = [op for op in workload.gemms if op.quant is not None]
    if not quantized:
        return cfg, f"MAC {_mac_text(cfg.array.mac)}: the workload is not quantized, so it runs at the MAC's widths"
    schemes = sorted({op.quant.scheme for op in quantized})
    if len(schemes) > 1:
        raise ValueError(f"the workload's layers use several quantization schemes ({', '.join(schemes)}); "
                         "no single MAC is chosen for them: give an accelerator config whose MAC runs them all")
    spec = quantized[0].quant.spec
    kind, params = spec.default_mac()
    acts = [op.quant.act for op in quantized if op.quant.act is not None]
    x_bits = max((act_port_bits(a) for a in acts), default=cfg.array.mac.unit.x_bits)
    make_mac(kind, **params, x_bits=x_bits)  # the unit's own checks, before the config's
    mac = MacConfig(kind=kind, params={**params, "x_bits": x_bits})
    new = dataclasses.replace(cfg, array=dataclasses.replace(cfg.array, mac=mac))
    why = "activations not quantized: the default x_bits" if not acts else \
        f"x_bits {x_bits} holds every layer's {', '.join(sorted({a.name for a in acts}))} activation codes"
    return new, f"MAC {_mac_text(mac)} chosen for {spec} ({why})"


def compression_table(workload: Workload, cfg: AcceleratorConfig) -> list[dict]:
    """Per weight GEMM: the pruning asked for and achieved, the fraction of engine tile-blocks it stores, its
    format, widths and the MAC that runs it (`layer_datapath` checks each layer against the MAC)."""
    from ..arch import GemmShape
    from ._model import _hardware_block_mask

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
        rows.append({
            "layer": op.name, "prune": op.prune or "", "requested_density": op.requested_density,
            "density": round(op.density, 6), "engine_density": round(stored, 6),
            "format": d.scheme or f"unquantized: the MAC's {arr.mac.kind} widths",
            "w_bits": d.w_bits, "act_format": d.act_format or "", "x_bits": d.x_bits, "mac": arr.mac.kind,
            "modes": ",".join(map(str, d.modes)),
        })
    return rows


def _act_port_bits_of(row: dict, unit) -> int:
    """The x-port bits a compression row's activations occupy (the MAC's own width when not quantized)."""
    if not row["act_format"]:
        return unit.x_bits
    from ..formats import parse_format

    return act_port_bits(parse_format(row["act_format"]))


def compression_notes(rows: list[dict], cfg: AcceleratorConfig) -> list[str]:
    """One line per thing a reader of the totals must know: pruning that saves no cycles on this engine,
    layers running unquantized at the MAC's widths."""
    notes = []
    no_cycles = [r for r in rows if r["density"] < 1 and r["engine_density"] >= 1]
    if no_cycles:
        methods = sorted({r["prune"] or "pruned" for r in no_cycles})
        notes.append(f"{len(no_cycles)} layers pruned by {', '.join(methods)} save MACs and energy but no cycles: "
                     f"this engine skips only whole {cfg.array.block_k}x{cfg.array.cols} tile-blocks "
                     f"(e.g. {no_cycles[0]['layer']}: density {no_cycles[0]['density']:.3f}, every tile-block "
                     "stored)")
    unit = cfg.array.mac.unit
    narrow = [r for r in rows if not r["format"].startswith("unquantized")
              and (r["w_bits"] < unit.w_bits or r["x_bits"] < _act_port_bits_of(r, unit))]
    if narrow:
        notes.append(f"{len(narrow)} layers (e.g. {narrow[0]['layer']}: {narrow[0]['format']}) use codes narrower "
                     f"than the {cfg.array.mac.kind} MAC's ports; their MAC energy is the MAC's full-width "
                     "characterisation (an upper bound): leave out --arch for a MAC at the format's widths")
    native = [r for r in rows if r["format"].startswith("unquantized")]
    if native and len(native) < len(rows):
        notes.append(f"{len(native)} of {len(rows)} weight layers are not quantized (e.g. {native[0]['layer']}); "
                     f"they run at the {cfg.array.mac.kind} MAC's own widths, as if already in its format")
    elif native:
        notes.append(f"the model is not quantized: every layer runs at the {cfg.array.mac.kind} MAC's own widths "
                     "(w_bits, x_bits), as if already in its format")
    return notes
