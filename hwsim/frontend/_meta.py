"""What pruning and quantization leave on a model for `capture` to read.

Pruning zeroes weights in place and quantization replaces them with their dequantized values, so the exported
graph computes exactly what the hardware will; the block structure, codes and scales the hardware needs ride
along as plain records on the model, keyed by parameter name (``blocks.0.attn.qkv.weight``).

GEMM view: a Linear weight (out, in) is the GEMM's W = weight.T, shape (K = in, N = out); a Conv1d/Conv2d
weight (out, in/groups, *kernel) lowers to K = in/groups * kernel size, N = out / groups per group;
transformers' Conv1D stores (in, out), already (K, N). Block masks are on that (K, N) view; masks and codes
are in the parameter's own layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PRUNE_ATTR = "_hwsim_prune"
QUANT_ATTR = "_hwsim_quant"
ALLOCATION_ATTR = "_hwsim_allocation"  # what auto pruning chose (JSON-able), carried into the workload's meta


@dataclass(frozen=True)
class PruneInfo:
    """How one weight was pruned."""

    method: str  # block, nm, unstructured, channel
    mask: np.ndarray  # bool, the weight's own (torch) shape: True = kept
    density: float  # kept fraction of elements
    block: tuple[int, int] | None = None  # (bk, bn) on the GEMM view, block pruning only
    block_mask: np.ndarray | None = None  # (ceil(K / bk), ceil(N / bn)) bool on the GEMM view
    requested: float = 1.0  # the density the spec asked for (composed calls: the product)


@dataclass(frozen=True)
class QuantInfo:
    """How one weight was quantized: ``weight == decode(codes) * scale`` per output row, bit for bit.

    ``w_format`` is the `hwsim.formats.parse_format` spec of ``codes``; for mixed schemes (msq, posit+fixed)
    ``row_modes`` says per output row which of the two formats a row uses (1 = SP2 / posit, 0 = fixed) and
    ``alt_format`` is the other one. ``act_format``/``act_scale`` describe the fixed-point input activation.
    """

    scheme: str  # the spec string, e.g. "msq:4:0.5"
    w_format: str
    codes: np.ndarray  # integer codes, the weight's torch shape
    scale: np.ndarray  # (out,) float64 per output row
    row_modes: np.ndarray | None = None
    alt_format: str | None = None
    act_format: str | None = None
    act_scale: float | None = None
    transposed: bool = False  # codes in an (in, out) parameter layout (transformers' Conv1D)
    # a sample of the input activation codes seen during calibration (consecutive input values, in
    # act_format): what drives the layer's data-dependent MAC energy
    act_sample: np.ndarray | None = None


def prune_info(model) -> dict[str, PruneInfo]:
    return dict(getattr(model, PRUNE_ATTR, {}) or {})


def quant_info(model) -> dict[str, QuantInfo]:
    return dict(getattr(model, QUANT_ATTR, {}) or {})
