"""Neurons as truth tables: every neuron of a LUT network (`hwsim.models.jsc.JSCNet`: fan-in-constrained masked
linear, batch norm and activation quantizer folded, `SparseBlock.neuron_codes`) as a function of its X =
fan_in x in_bits input bits to Y = out_bits output bits.

Two modes (NullaNet Tiny, Nazemi et al., arXiv 2104.05421, against LogicNets, Umuroglu et al., FPL 2020):

- ``full``: all 2**X input patterns are specified (LogicNets); refused past `MAX_FULL_INPUTS` bits.
- ``observed``: only the patterns the neuron sees on the given (training) inputs are specified, with the output
  the network computes there; every other pattern is a don't-care for the logic minimizer.

An address packs the neuron's input codes (two's-complement bit patterns of ``in_bits``) with input 0 in the
least significant bits, in `MaskedLinear.indices` order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["LUT_MODES", "MAX_FULL_INPUTS", "MAX_OBSERVED_INPUTS", "LayerTable", "input_codes", "lut_forward",
           "lutcost", "truth_tables"]

LUT_MODES = ("full", "observed")
MAX_FULL_INPUTS = 16  # 65,536 patterns per neuron: every one is evaluated and handed to the minimizer
MAX_OBSERVED_INPUTS = 62  # addresses are packed into int64
_CHUNK = 4096  # patterns evaluated at once in full mode (memory: chunk x neurons x fan_in float64)


def to_signed(patterns: np.ndarray, bits: int) -> np.ndarray:
    """``bits``-wide two's-complement bit patterns (non-negative ints) -> signed integers."""
    patterns = np.asarray(patterns, dtype=np.int64)
    return np.where(patterns >= 1 << (bits - 1), patterns - (1 << bits), patterns)


def unpack_fields(words, count: int, bits: int, signed: bool) -> np.ndarray:
    """Port values (ints, field i in bits [i*bits, (i+1)*bits)) -> (len(words), count) codes."""
    mask = (1 << bits) - 1
    out = np.array([[(int(w) >> (i * bits)) & mask for i in range(count)] for w in words],
                   dtype=np.int64).reshape(-1, count)
    return to_signed(out, bits) if signed else out


def lutcost(x_bits: int, y_bits: int) -> float:
    """LogicNets' LUT-cost estimate of one X-input, Y-output neuron in LUT6s: (Y / 3) * (2**(X - 4) - (-1)**X)
    (Umuroglu et al., FPL 2020, the LUTCost model of Section IV)."""
    return (y_bits / 3) * (2.0 ** (x_bits - 4) - (-1) ** x_bits)


@dataclass(frozen=True)
class LayerTable:
    """The truth tables of one layer's neurons: per neuron the specified addresses (sorted int64) and the output
    code bit patterns (``out_bits`` wide) at them."""

    name: str
    indices: np.ndarray  # (neurons, fan_in) input indices
    in_bits: int
    out_bits: int
    out_signed: bool
    mode: str
    addresses: tuple[np.ndarray, ...]
    outputs: tuple[np.ndarray, ...]

    @property
    def neurons(self) -> int:
        return int(self.indices.shape[0])

    @property
    def fan_in(self) -> int:
        return int(self.indices.shape[1])

    @property
    def x_bits(self) -> int:
        return self.fan_in * self.in_bits

    @property
    def specified(self) -> int:
        """Specified patterns over all neurons (the rest are don't-cares)."""
        return sum(int(a.size) for a in self.addresses)

    @property
    def lutcost(self) -> float:
        return self.neurons * lutcost(self.x_bits, self.out_bits)

    def pack(self, codes: np.ndarray) -> np.ndarray:
        """(batch, in_features) input codes -> (batch, neurons) addresses."""
        bits = (np.asarray(codes, dtype=np.int64) & ((1 << self.in_bits) - 1))[:, self.indices]
        shifts = np.arange(self.fan_in, dtype=np.int64) * self.in_bits
        return (bits << shifts).sum(axis=2)

    def lookup(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(output codes as signed integers (batch, neurons), whether each address was specified)."""
        addr = self.pack(codes)
        out = np.zeros(addr.shape, dtype=np.int64)
        known = np.zeros(addr.shape, dtype=bool)
        for j in range(self.neurons):
            a, o = self.addresses[j], self.outputs[j]
            pos = np.clip(np.searchsorted(a, addr[:, j]), 0, max(a.size - 1, 0))
            hit = a.size > 0
            known[:, j] = hit & (a[pos] == addr[:, j]) if hit else False
            out[:, j] = np.where(known[:, j], o[pos] if hit else 0, 0)
        return to_signed(out, self.out_bits) if self.out_signed else out, known


def _blocks(model):
    blocks = list(getattr(model, "layers", ()))
    if not blocks or not all(hasattr(b, "neuron_codes") and hasattr(b, "out_quant") for b in blocks) \
            or not hasattr(model, "input_quant"):
        raise ValueError(f"{type(model).__name__} is not a LUT network: LUT mapping takes the registry's "
                         "LogicNets-style models (hwsim.models.jsc.JSCNet: input_quant, then SparseBlock layers)")
    return blocks


@torch.no_grad()
def input_codes(model, x: torch.Tensor) -> list[np.ndarray]:
    """The input codes of every layer, then the output codes, for inputs ``x`` (eval mode): ``len(layers) + 1``
    arrays of shape (batch, width)."""
    blocks = _blocks(model)
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        codes = model.input_quant.codes(model.input_norm(x))
        out = [codes.numpy()]
        for blk, quant in zip(blocks, model.quantizers()[:-1], strict=True):
            values = quant.values(codes).to(torch.float32).double()  # what the eval forward hands on
            codes = blk.neuron_codes(values[..., blk.linear.indices])
            out.append(codes.numpy())
    finally:
        for m, training in modes.items():
            m.train(training)
    return out


@torch.no_grad()
def truth_tables(model, mode: str = "full", data: torch.Tensor | None = None) -> list[LayerTable]:
    """One `LayerTable` per layer of the LUT network ``model`` (see the module docstring); ``data``: the inputs
    (training split) whose patterns ``observed`` mode specifies. ValueError naming the layer and X when a
    neuron has too many input bits for the mode."""
    if mode not in LUT_MODES:
        raise ValueError(f"mode must be one of {', '.join(LUT_MODES)}, not {mode!r}")
    if (mode == "observed") != (data is not None):
        raise ValueError("observed mode needs data (the inputs whose patterns it specifies); full mode takes none")
    blocks = _blocks(model)
    limit = MAX_FULL_INPUTS if mode == "full" else MAX_OBSERVED_INPUTS
    for i, blk in enumerate(blocks):
        x_bits = blk.fan_in * blk.in_bits
        if x_bits > limit:
            raise ValueError(f"layer layers.{i}: X = fan_in {blk.fan_in} x {blk.in_bits} bits = {x_bits} input bits "
                             f"exceeds the {mode}-mode limit of {limit}"
                             + ("; use observed mode" if mode == "full" else ""))
    quants = model.quantizers()
    seen = input_codes(model, data) if mode == "observed" else None
    tables = []
    for i, blk in enumerate(blocks):
        indices = blk.linear.indices.numpy()
        quant, out_quant = quants[i], quants[i + 1]
        if mode == "full":
            addr, outs = _full_table(blk, quant)
            addresses = tuple(addr for _ in range(indices.shape[0]))
            outputs = tuple(outs[:, j] for j in range(indices.shape[0]))
        else:
            shifts = np.arange(blk.fan_in, dtype=np.int64) * blk.in_bits
            packed = ((seen[i].astype(np.int64) & ((1 << blk.in_bits) - 1))[:, indices] << shifts).sum(axis=2)
            mask = (1 << blk.out_bits) - 1
            addresses, outputs = [], []
            for j in range(indices.shape[0]):
                a, first = np.unique(packed[:, j], return_index=True)
                addresses.append(a)
                outputs.append(seen[i + 1][first, j].astype(np.int64) & mask)
            addresses, outputs = tuple(addresses), tuple(outputs)
        tables.append(LayerTable(name=f"layers.{i}", indices=indices, in_bits=blk.in_bits, out_bits=blk.out_bits,
                                 out_signed=out_quant.signed, mode=mode, addresses=addresses, outputs=outputs))
    return tables


def _full_table(blk, quant) -> tuple[np.ndarray, np.ndarray]:
    """Every address (2**X, int64) and every neuron's output code bit pattern there ((2**X, neurons))."""
    x_bits = blk.fan_in * blk.in_bits
    addr = np.arange(1 << x_bits, dtype=np.int64)
    outs = np.empty((addr.size, blk.linear.out_features), dtype=np.int64)
    field = (1 << blk.in_bits) - 1
    for start in range(0, addr.size, _CHUNK):
        a = torch.from_numpy(addr[start:start + _CHUNK])
        codes = torch.stack([(a >> (i * blk.in_bits)) & field for i in range(blk.fan_in)], dim=1)
        if quant.signed:  # two's-complement fields back to signed codes
            codes = torch.where(codes >= 1 << (blk.in_bits - 1), codes - (1 << blk.in_bits), codes)
        values = quant.values(codes).to(torch.float32).double()  # (P, fan_in), as the eval forward sees them
        neuron_inputs = values[:, None, :].expand(-1, blk.linear.out_features, -1)
        outs[start:start + _CHUNK] = blk.neuron_codes(neuron_inputs).numpy() & ((1 << blk.out_bits) - 1)
    return addr, outs


def lut_forward(tables: list[LayerTable], first_codes: np.ndarray) -> tuple[np.ndarray, int]:
    """Run input codes (batch, inputs) through the tables layer by layer: (output codes as signed integers,
    number of (sample, neuron) lookups that hit an unspecified address, which read as code 0 here)."""
    codes, missing = np.asarray(first_codes, dtype=np.int64), 0
    for t in tables:
        codes, known = t.lookup(codes)
        missing += int((~known).sum())
    return codes, missing
