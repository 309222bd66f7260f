"""LogicNets-style fan-in-constrained MLPs for jet-substructure classification (JSC: 16 features, 5 classes).

Every neuron reads exactly ``fan_in`` of the previous layer's outputs through a fixed random connectivity mask,
so with ``b``-bit activations it is a ``fan_in * b``-input truth table a later step can map to FPGA LUTs.

Shapes, fan-ins and bit widths follow Umuroglu et al., "LogicNets: Co-Designed Neural Networks and Circuits for
Extreme-Throughput Applications", FPL 2020 (arXiv:2004.03021), as encoded in the authors' reimplementation
(github.com/Xilinx/logicnets, examples/jet_substructure/train.py, ``configs``):

=======  =====================  ============================  =========================
model    hidden neurons         fan-in (input/hidden/output)  bits (input/hidden/output)
=======  =====================  ============================  =========================
JSC-S    64, 32, 32, 32         3 / 3 / 3                     2 / 2 / 2
JSC-M    64, 32, 32, 32         4 / 4 / 4                     3 / 3 / 3
JSC-L    32, 64, 192, 192, 16   3 / 4 / 5                     4 / 3 / 7
=======  =====================  ============================  =========================

The output layer (-> 5 classes) is a masked layer too. Note JSC-L: the paper's headline "fan-in 4, 3 bits" holds
for its hidden layers, but the reference code uses fan-in 3 into the first layer and 5 into the output layer.

Activations are quantized (`QuantAct`: uniform, fixed range, straight-through gradient): the normalized inputs
to ``input_bits`` signed codes, hidden layers to ``hidden_bits`` unsigned codes after a ReLU, the output layer to
``output_bits`` signed codes. In eval mode a neuron is therefore an exact function of its ``fan_in`` input codes
to one output code (`SparseBlock.neuron_codes`: masked linear, batch norm and quantizer folded, in float64 with
a fixed summation order), which is what the LUT mapping (`hwsim.lut`) turns into a truth table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ._registry import register_model

__all__ = ["JSC_CONFIGS", "JSCConfig", "JSCNet", "MaskedLinear", "QuantAct", "SparseBlock", "jsc_l", "jsc_m",
           "jsc_s", "random_fanin_mask"]

# Clipping ranges of the activation quantizers, in units of the batch-normalized pre-activation (about N(0, 1)):
# inputs and logits are signed, hidden activations follow a ReLU.
INPUT_RANGE = 2.0
HIDDEN_RANGE = 2.0
OUTPUT_RANGE = 4.0

JSC_INPUTS = 16
JSC_CLASSES = 5


def random_fanin_mask(in_features: int, out_features: int, fan_in: int, *, generator: torch.Generator) -> torch.Tensor:
    """A ``(out_features, in_features)`` 0/1 float mask with exactly ``fan_in`` ones per row, chosen uniformly."""
    if not 1 <= fan_in <= in_features:
        raise ValueError(f"fan_in must be in [1, {in_features}], got {fan_in}")
    # Top-k of i.i.d. uniforms per row = a uniformly random fan_in-subset, without a Python loop over neurons.
    keys = torch.rand(out_features, in_features, generator=generator)
    idx = keys.topk(fan_in, dim=1).indices
    mask = torch.zeros(out_features, in_features)
    mask.scatter_(1, idx, 1.0)
    return mask


class MaskedLinear(nn.Linear):
    """``nn.Linear`` whose weight is multiplied by a fixed 0/1 connectivity mask on every forward.

    Attributes: ``fan_in`` (inputs per output neuron) and the ``mask`` buffer ``(out_features, in_features)``;
    ``indices`` gives the connected input indices per neuron, ``(out_features, fan_in)``, ascending.
    The masked-out weights keep receiving zero gradient, so the sparsity survives training and state_dict
    round-trips (the mask is saved with the model).
    """

    mask: torch.Tensor

    def __init__(self, in_features: int, out_features: int, fan_in: int, *, generator: torch.Generator,
                 bias: bool = True) -> None:
        super().__init__(in_features, out_features, bias=bias)
        self.fan_in = fan_in
        self.register_buffer("mask", random_fanin_mask(in_features, out_features, fan_in, generator=generator))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Scale by the *actual* fan-in (not in_features): a 3-input neuron should see unit-ish variance.
        bound = 1.0 / math.sqrt(getattr(self, "fan_in", self.in_features))
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    @property
    def indices(self) -> torch.Tensor:
        """Connected input indices per output neuron, ``(out_features, fan_in)``, ascending."""
        return self.mask.nonzero()[:, 1].reshape(self.out_features, self.fan_in)

    def masked_weight(self) -> torch.Tensor:
        """The effective weight, ``weight * mask``."""
        return self.weight * self.mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.masked_weight(), self.bias)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, fan_in={self.fan_in}"


class QuantAct(nn.Module):
    """Uniform fixed-range activation quantizer with a straight-through gradient.

    ``bits``-bit codes: unsigned ``0 .. 2**bits - 1`` (after a ReLU) or signed ``-2**(bits-1) .. 2**(bits-1) - 1``;
    value = code * ``step`` with ``step = max_value / largest code``. Codes round half to even and saturate.
    """

    def __init__(self, bits: int, *, signed: bool, max_value: float) -> None:
        super().__init__()
        if not 1 <= bits <= 16 or (signed and bits < 2):
            raise ValueError(f"activation bits must be in [{2 if signed else 1}, 16], not {bits!r}")
        self.bits, self.signed = bits, signed
        self.lo = -(1 << (bits - 1)) if signed else 0
        self.hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
        self.step = float(max_value) / self.hi

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """Integer codes (int64) of ``x``."""
        return torch.clamp(torch.round(x.double() / self.step), self.lo, self.hi).to(torch.int64)

    def values(self, codes: torch.Tensor) -> torch.Tensor:
        """float64 values of integer codes."""
        return codes.double() * self.step

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.values(self.codes(x)).to(x.dtype)
        # eval: exactly the code's value (x + (q - x) may round off it); training: straight-through gradient
        return x + (q - x).detach() if self.training else q

    def extra_repr(self) -> str:
        return f"bits={self.bits}, signed={self.signed}, step={self.step:g}"


class SparseBlock(nn.Module):
    """One LogicNets layer: masked Linear -> BatchNorm1d -> [ReLU] -> activation quantizer.

    ``in_quant`` is the quantizer whose codes feed this layer (the previous block's ``out_quant`` or the
    network's input quantizer); in eval mode the forward runs `neuron_codes`, so every output is an exact
    function of the neuron's input codes.
    """

    def __init__(self, in_features: int, out_features: int, fan_in: int, *, in_bits: int, out_bits: int,
                 generator: torch.Generator, final: bool = False) -> None:
        super().__init__()
        self.linear = MaskedLinear(in_features, out_features, fan_in, generator=generator)
        self.bn = nn.BatchNorm1d(out_features)
        self.relu = not final  # LogicNets: ReLU quantizer in hidden layers, a signed one on the logits
        self.out_quant = QuantAct(out_bits, signed=final, max_value=OUTPUT_RANGE if final else HIDDEN_RANGE)
        self.in_bits = in_bits
        self.out_bits = out_bits

    @property
    def fan_in(self) -> int:
        """Inputs per neuron."""
        return self.linear.fan_in

    @property
    def mask(self) -> torch.Tensor:
        """Connectivity mask ``(out_features, in_features)``."""
        return self.linear.mask

    @property
    def lut_input_bits(self) -> int:
        """Address width of the truth table each neuron becomes: ``fan_in * in_bits``."""
        return self.fan_in * self.in_bits

    def neuron_codes(self, inputs: torch.Tensor) -> torch.Tensor:
        """Output codes (int64, ``(..., out_features)``) from each neuron's own input values (float64,
        ``(..., out_features, fan_in)``, in `MaskedLinear.indices` order): the weighted sum in a fixed order,
        batch norm with its running statistics, the ReLU and the quantizer, all in float64."""
        w = self.linear.weight.detach().double().gather(1, self.linear.indices)  # (out, fan_in)
        acc = torch.zeros(inputs.shape[:-1], dtype=torch.float64)
        for i in range(self.fan_in):  # sequential: the same sum however many samples are evaluated at once
            acc = acc + inputs[..., i] * w[:, i]
        if self.linear.bias is not None:
            acc = acc + self.linear.bias.detach().double()
        bn = self.bn
        y = (acc - bn.running_mean.double()) / torch.sqrt(bn.running_var.double() + bn.eps)
        if bn.affine:
            y = y * bn.weight.detach().double() + bn.bias.detach().double()
        if self.relu:
            y = torch.relu(y)
        return self.out_quant.codes(y)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:  # float32 with straight-through quantizers, batch statistics in the norm
            y = self.bn(self.linear(x))
            return self.out_quant(torch.relu(y) if self.relu else y)
        gathered = x.double()[..., self.linear.indices]  # (..., out, fan_in)
        return self.out_quant.values(self.neuron_codes(gathered)).to(x.dtype)


@dataclass(frozen=True)
class JSCConfig:
    """Architecture of one LogicNets JSC model (see the module docstring for the source)."""

    hidden: tuple[int, ...]
    input_fanin: int
    hidden_fanin: int
    output_fanin: int
    input_bits: int
    hidden_bits: int
    output_bits: int


JSC_CONFIGS: dict[str, JSCConfig] = {
    "jsc_s": JSCConfig((64, 32, 32, 32), input_fanin=3, hidden_fanin=3, output_fanin=3,
                       input_bits=2, hidden_bits=2, output_bits=2),
    "jsc_m": JSCConfig((64, 32, 32, 32), input_fanin=4, hidden_fanin=4, output_fanin=4,
                       input_bits=3, hidden_bits=3, output_bits=3),
    "jsc_l": JSCConfig((32, 64, 192, 192, 16), input_fanin=3, hidden_fanin=4, output_fanin=5,
                       input_bits=4, hidden_bits=3, output_bits=7),
}


class JSCNet(nn.Module):
    """Input BatchNorm then a stack of :class:`SparseBlock` (hidden layers + the 5-class output layer)."""

    input_shape: tuple[int, ...] = (JSC_INPUTS,)

    def __init__(self, config: JSCConfig, *, in_features: int = JSC_INPUTS, num_classes: int = JSC_CLASSES,
                 seed: int = 0) -> None:
        super().__init__()
        self.config = config
        # Connectivity comes from its own generator so a given seed always yields the same wiring, whatever the
        # global RNG state (the LUT netlist must be reproducible from the config alone).
        gen = torch.Generator().manual_seed(seed)
        widths = [in_features, *config.hidden, num_classes]
        n = len(widths) - 1
        # LogicNets normalises the raw features before the input quantiser.
        self.input_norm = nn.BatchNorm1d(in_features)
        self.input_quant = QuantAct(config.input_bits, signed=True, max_value=INPUT_RANGE)
        blocks = []
        for i in range(n):
            first, last = i == 0, i == n - 1
            fan_in = config.input_fanin if first else config.output_fanin if last else config.hidden_fanin
            blocks.append(SparseBlock(
                widths[i], widths[i + 1], fan_in,
                in_bits=config.input_bits if first else config.hidden_bits,
                out_bits=config.output_bits if last else config.hidden_bits,
                generator=gen, final=last,
            ))
        self.layers = nn.ModuleList(blocks)

    def masked_layers(self) -> list[MaskedLinear]:
        """The fan-in-constrained Linear of every layer, input to output."""
        return [blk.linear for blk in self.layers]

    def quantizers(self) -> list[QuantAct]:
        """The quantizer feeding each layer, then the output layer's: ``len(layers) + 1`` entries."""
        return [self.input_quant, *(blk.out_quant for blk in self.layers)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_quant(self.input_norm(x))
        for blk in self.layers:
            x = blk(x)
        return x


def _jsc(name: str, hidden: Sequence[int] | None = None, fan_in: int | None = None, seed: int = 0,
         **overrides: int) -> JSCNet:
    cfg = JSC_CONFIGS[name]
    fields = {k: getattr(cfg, k) for k in JSCConfig.__dataclass_fields__}
    if hidden is not None:
        fields["hidden"] = tuple(hidden)
    if fan_in is not None:  # one number for all layers, e.g. the paper's uniform "fan-in 4" reading of JSC-L
        fields.update(input_fanin=fan_in, hidden_fanin=fan_in, output_fanin=fan_in)
    unknown = set(overrides) - set(fields)
    if unknown:
        raise TypeError(f"unknown JSC option(s): {sorted(unknown)}")
    fields.update(overrides)
    return JSCNet(JSCConfig(**fields), seed=seed)


_JSC_TAGS = ("mlp", "jsc", "logicnets", "sparse", "lut")


@register_model("jsc_s", description="LogicNets JSC-S: 16-64-32-32-32-5, fan-in 3, 2-bit",
                tags=_JSC_TAGS, input_shape=(JSC_INPUTS,))
def jsc_s(**kwargs: object) -> JSCNet:
    """JSC-S. Options: ``hidden``, ``fan_in`` (all layers), any :class:`JSCConfig` field, ``seed`` (wiring)."""
    return _jsc("jsc_s", **kwargs)  # type: ignore[arg-type]


@register_model("jsc_m", description="LogicNets JSC-M: 16-64-32-32-32-5, fan-in 4, 3-bit",
                tags=_JSC_TAGS, input_shape=(JSC_INPUTS,))
def jsc_m(**kwargs: object) -> JSCNet:
    """JSC-M. Options as for :func:`jsc_s`."""
    return _jsc("jsc_m", **kwargs)  # type: ignore[arg-type]


@register_model("jsc_l", description="LogicNets JSC-L: 16-32-64-192-192-16-5, fan-in 3/4/5, 4/3/7-bit",
                tags=_JSC_TAGS, input_shape=(JSC_INPUTS,))
def jsc_l(**kwargs: object) -> JSCNet:
    """JSC-L. Options as for :func:`jsc_s`."""
    return _jsc("jsc_l", **kwargs)  # type: ignore[arg-type]
