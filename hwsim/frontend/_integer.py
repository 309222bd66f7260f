"""The hardware's own arithmetic as a torch model: every quantized GEMM layer through the engine's integer GEMM.

`integer_model` returns a copy of a quantized model in which each quantized Linear / Conv1d / Conv2d /
transformers Conv1D computes what the accelerator computes, independently of the fake-quantized torch graph:

1. requantization on the vector unit: the layer's float input becomes activation codes of its fixed-point
   format (`hwsim.formats.Fixed.encode` of ``x / act_scale``: round half to even, saturating);
2. the weight codes of every row go into the MAC's weight port (`hwsim.mac.to_port_codes`, exact) and the
   activation codes into its activation port (`act_to_port_codes`);
3. `hwsim.sim.gemm_outputs`, the engine's exact integer GEMM with the MAC's products and accumulator (wrap or
   saturation at ``acc_bits``), gives the accumulator integers;
4. the read-out applies the real scale: ``acc * 2**-(F + shifts) * row_scale * act_scale`` in float64, plus the
   bias, rounded once to float32.

The MAC is the one given (the simulated accelerator's), else the one the scheme runs on by default
(`QuantSpec.default_mac`, activation port as wide as the layer's codes need). Everything else (normalization,
softmax, the attention's activation x activation products, layers left unquantized) runs as in the torch
model. The fake-quantized torch model computes the same numbers in float32; while no accumulator overflows, the
two differ only by float32 rounding of the products' sum and of the dequantized weights (each about 2**-24
relative), which moves a prediction only where two logits tie to that precision (or a requantization sits on a
rounding boundary). Where an accumulator does overflow (``acc_bits`` too narrow for the layer's K), the integer
path computes what the hardware does and the torch model does not: `integer_overflows` counts those results.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._meta import QUANT_ATTR, QuantInfo
from ._prune import _is_hf_conv1d

__all__ = ["integer_model", "integer_overflows"]


class _IntegerLayer:
    """The integer datapath of one quantized layer (see the module docstring); ``__call__(module, x)``."""

    def __init__(self, name: str, module: nn.Module, info: QuantInfo, mac=None) -> None:
        from hwsim.arch import EngineConfig
        from hwsim.formats import Fixed, parse_format, parse_quant
        from hwsim.mac import act_fits, act_port_bits, make_mac, weight_port_codes

        if info.act_format is None:
            raise ValueError(f"layer {name}: its input activations are not quantized, so the hardware path has no "
                             "activation codes; quantize with act_bits (--act-bits)")
        act = parse_format(info.act_format)
        if not isinstance(act, Fixed):
            raise ValueError(f"layer {name}: activation format {info.act_format} is not fixed point")
        if mac is None:
            kind, params = parse_quant(info.scheme).default_mac()
            mac = make_mac(kind, **params, x_bits=act_port_bits(act))
        if not act_fits(mac, act):
            raise ValueError(f"layer {name}: {act.name} activations do not fit the {mac.name} MAC's activation "
                             f"port ({mac.x_format.name})")
        self.unit = mac
        self.overflowed = self.outputs = 0  # accumulator results that wrapped or saturated, of all computed
        self.engine = EngineConfig(rows=1, cols=1, block_k=1, block_n=1, mac=self.unit)
        self.name, self.act, self.act_scale = name, act, float(info.act_scale)
        self.x_shift = act.frac  # activation-port value = code value * 2**frac (`act_to_port_codes`)
        self.groups = int(getattr(module, "groups", 1))
        codes = np.asarray(info.codes)
        rows = codes.T if info.transposed else codes.reshape(codes.shape[0], -1)  # (out, K)
        alt = None if info.alt_format is None else parse_format(info.alt_format)
        try:
            port, mac_modes, shift = weight_port_codes(self.unit, rows.T, parse_format(info.w_format), alt,
                                                       info.row_modes)
        except ValueError as e:
            raise ValueError(f"layer {name}: {e}") from None
        port = port.T
        self.w_port = port  # (out, K) weight-port codes
        self.mac_modes = mac_modes
        # integer images of the weights and each row's sum of |w|, once: what the overflow check needs per call
        modes_kn = np.broadcast_to(mac_modes[:, None], port.shape) if self.unit.has_mode else None
        self.w_ints = np.asarray(self.unit.weight_ints(port, modes_kn) if modes_kn is not None
                                 else self.unit.weight_ints(port), dtype=object)  # (out, K)
        self.w_abs_sum = np.abs(self.w_ints).sum(axis=1)  # (out,) Python ints
        # real value of one accumulator unit per output row: 2**-(F + weight shift) * row scale * act scale
        self.out_scale = np.ldexp(np.asarray(info.scale, dtype=np.float64),
                                  -(self.unit.acc_frac_bits + shift)) * self.act_scale

    def act_codes(self, x: torch.Tensor) -> np.ndarray:
        """Requantization: the layer input as activation-port codes."""
        from hwsim.mac import act_to_port_codes

        codes = self.act.encode(x.detach().double().cpu().numpy() / self.act_scale)
        return act_to_port_codes(self.unit, self.act, codes)[0]

    def gemm(self, x_port: np.ndarray, rows: slice) -> np.ndarray:
        """(M, K) activation codes x the rows' weights -> real outputs (M, rows) in float64, bias not added."""
        from hwsim.sim import gemm_outputs

        w = self.w_port[rows].T  # (K, N)
        modes = self.mac_modes[rows] if self.unit.has_mode else None
        acc = gemm_outputs(self.engine, x_port, w, modes=modes)
        self._count_overflow(x_port, rows, acc)
        return np.asarray(acc, dtype=np.float64) * np.ldexp(self.out_scale[rows], -self.x_shift)[None, :]


    def _count_overflow(self, x_port, rows: slice, acc) -> None:
        """Count the outputs whose exact sum left the accumulator's range (they wrapped or saturated)."""
        xi = self.unit.act_ints(x_port)
        self.outputs += int(np.size(acc))
        bound = int(np.abs(xi).max(initial=0)) * int(self.w_abs_sum[rows].max(initial=0))
        if bound < 1 << (self.unit.acc_bits - 1):
            return  # no sum of these operands can reach the accumulator's range
        exact = np.asarray(xi, dtype=object) @ self.w_ints[rows].T
        self.overflowed += int((exact != np.asarray(acc, dtype=object)).sum())


def _linear_forward(layer: _IntegerLayer, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    lead = x.shape[:-1]
    y = layer.gemm(layer.act_codes(x.reshape(-1, x.shape[-1])), slice(None))
    if module.bias is not None:
        y = y + module.bias.detach().double().cpu().numpy()[None, :]
    return torch.from_numpy(y.astype(np.float32)).reshape(*lead, y.shape[1])


def _conv_forward(layer: _IntegerLayer, module: nn.Conv1d | nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """im2col per group, as `capture` lowers the convolution (zero padding only)."""
    one_d = isinstance(module, nn.Conv1d)
    if x.ndim != (3 if one_d else 4):
        raise ValueError(f"layer {layer.name}: the integer path takes batched input (N, C, {'L' if one_d else 'H, W'}),"
                         f" not shape {tuple(x.shape)}")
    if module.padding_mode != "zeros":
        raise ValueError(f"layer {layer.name}: padding_mode={module.padding_mode!r} has no integer path "
                         "(zero padding only)")
    if isinstance(module.padding, str):
        raise ValueError(f"layer {layer.name}: padding={module.padding!r}; give the padding as numbers")
    x4 = x.unsqueeze(2) if one_d else x
    kernel = (1, *module.kernel_size) if one_d else module.kernel_size
    pad = (0, *module.padding) if one_d else module.padding
    stride = (1, *module.stride) if one_d else module.stride
    dil = (1, *module.dilation) if one_d else module.dilation
    batch, channels = x4.shape[:2]
    out_h = (x4.shape[2] + 2 * pad[0] - dil[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    out_w = (x4.shape[3] + 2 * pad[1] - dil[1] * (kernel[1] - 1) - 1) // stride[1] + 1
    cin, n = channels // layer.groups, module.out_channels // layer.groups
    # padded zeros are activation code 0 exactly: requantize before unfolding
    codes = torch.from_numpy(layer.act_codes(x4))
    outs = []
    for g in range(layer.groups):
        cols = F.unfold(codes[:, g * cin:(g + 1) * cin].double(), kernel, dilation=dil, padding=pad, stride=stride)
        xg = cols.transpose(1, 2).reshape(-1, cols.shape[1]).numpy().astype(np.int64)  # (B * L, cin * kh * kw)
        outs.append(layer.gemm(xg, slice(g * n, (g + 1) * n)).reshape(batch, -1, n))
    y = np.concatenate(outs, axis=2)  # (B, L, out)
    if module.bias is not None:
        y = y + module.bias.detach().double().cpu().numpy()[None, None, :]
    y = torch.from_numpy(y.astype(np.float32)).transpose(1, 2).reshape(batch, module.out_channels, out_h, out_w)
    return y.squeeze(2) if one_d else y


def _hf_conv1d_forward(layer: _IntegerLayer, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    lead = x.shape[:-1]
    y = layer.gemm(layer.act_codes(x.reshape(-1, x.shape[-1])), slice(None))
    y = y + module.bias.detach().double().cpu().numpy()[None, :]
    return torch.from_numpy(y.astype(np.float32)).reshape(*lead, y.shape[1])


def integer_model(model: nn.Module, mac=None) -> nn.Module:
    """A deep copy of the quantized ``model`` whose quantized GEMM layers run the hardware's integer arithmetic
    (module docstring); the original is untouched. ``mac``: the `hwsim.mac.MacUnit` every layer runs on (the
    simulated accelerator's), default each scheme's own. ValueError naming the layer when one cannot: its input
    is not quantized, its parent applies the weight itself (MultiheadAttention), the MAC cannot read its
    formats, or it is not a layer type with an integer path. `integer_overflows` counts the accumulator
    results that wrapped or saturated since the copy was made."""
    from ._quant import ActQuant

    records = dict(getattr(model, QUANT_ATTR, None) or {})
    if not records:
        raise ValueError("the model is not quantized: the hardware path needs integer weight codes (give quant)")
    copied = copy.deepcopy(model)
    modules = dict(copied.named_modules())
    for param, info in records.items():
        name, _, attr = param.rpartition(".")
        module = modules.get(name)
        if module is None or attr != "weight":
            owner = "MultiheadAttention" if isinstance(module, nn.MultiheadAttention) else "its parent module"
            raise ValueError(f"layer {param}: {owner} applies this weight itself, so it has no integer path here")
        if isinstance(module, nn.Linear):
            parent = modules.get(name.rpartition(".")[0])
            if isinstance(parent, nn.MultiheadAttention) and module is parent.out_proj:
                raise ValueError(f"layer {param}: MultiheadAttention applies this weight itself, so it has no "
                                 "integer path here")
            forward = _linear_forward
        elif isinstance(module, nn.Conv1d | nn.Conv2d):
            forward = _conv_forward
        elif _is_hf_conv1d(module):
            forward = _hf_conv1d_forward
        else:
            raise ValueError(f"layer {param}: {type(module).__name__} has no integer path")
        layer = _IntegerLayer(param, module, info, mac)
        hooks = module._forward_pre_hooks
        for key in [k for k, h in hooks.items() if isinstance(h, ActQuant)]:
            del hooks[key]  # the integer layer requantizes its input itself

        def run(x, *rest, _layer=layer, _module=module, _forward=forward, **kwargs):
            if rest or kwargs:
                raise ValueError(f"layer {_layer.name}: the integer path takes one input tensor, not "
                                 f"{1 + len(rest)} and keywords {sorted(kwargs)}")
            return _forward(_layer, _module, x)

        module.forward = run
        module._hwsim_integer = layer  # for inspection (tests, debugging) and `integer_overflows`
    return copied


def integer_overflows(model: nn.Module) -> tuple[int, int]:
    """(accumulator results that overflowed, results computed) over the integer layers of an `integer_model`."""
    layers = [m._hwsim_integer for m in model.modules() if hasattr(m, "_hwsim_integer")]
    return sum(x.overflowed for x in layers), sum(x.outputs for x in layers)
