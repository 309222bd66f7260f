"""Data-dependent MAC energy: the gate-level toggles of a layer's own (weight code, activation code) pairs.

A uniformly random operand stream is the worst case for most formats: real weights cluster near zero (SP2 codes
with zero terms, small-magnitude posits with long regimes), real activations are mostly small or zero after a
ReLU. `layer_mac_stimulus` drives each of `MAC_LANES` lanes as one output-stationary PE computing one output
column: the weights of that column in K order over what the energy model counts as MACs (the kept pruning
blocks, as the engine streams them; for N:M, unstructured or channel pruning, which the simulator prices as
zero-gated, the non-zero weights only), a clear at the start of each dot product, and the activations of the
calibration sample: for a linear layer the token's own input at the weight's K index, for a convolution (whose
sample is in NCHW order, not im2col order) consecutive input codes.
`layer_mac_energy` prices it with `mac_energy` (cached by the stimulus, which is a pure function of the codes).
"""

from __future__ import annotations

import numpy as np

from ._mac_energy import MAC_CYCLES, MAC_LANES, MacEnergy, mac_energy

__all__ = ["layer_mac_energy", "layer_mac_stimulus"]


def _kept_elements(op, workload, k: int, n: int, groups: int) -> np.ndarray:
    """(K, groups * N) bool: the weights the engine streams (all of them without a block mask)."""
    if op.mask is None or op.block is None:
        return np.ones((k, groups * n), dtype=bool)
    bk, bn = op.block
    mask = np.asarray(workload.arrays[op.mask], dtype=bool)
    mask = mask if mask.ndim == 3 else mask[None]
    full = np.repeat(np.repeat(mask, bk, axis=1), bn, axis=2)[:, :k, :n]  # (groups, K, N)
    return np.concatenate(list(full), axis=1)


def layer_mac_stimulus(unit, op, workload, *, lanes: int = MAC_LANES, cycles: int = MAC_CYCLES,
                       seed: int = 0) -> dict[str, np.ndarray] | None:
    """Port arrays (cycles, lanes) from ``op``'s weight codes and activation-code sample on ``unit`` (see the
    module docstring), or None when the op has no codes or no activation sample."""
    from ..formats import parse_format
    from ..mac import act_to_port_codes, weight_port_codes

    if op.codes is None or op.act_codes is None:
        return None
    q = op.quant
    codes = np.asarray(workload.arrays[op.codes], dtype=np.int64)
    modes = None if op.row_modes is None else np.asarray(workload.arrays[op.row_modes]).reshape(-1)
    groups = 1 if codes.ndim == 2 else codes.shape[0]
    if codes.ndim == 3:  # (groups, K, N) -> (K, groups * N): every output column of every group
        codes = np.concatenate(list(codes), axis=1)
    k, cols = codes.shape
    main = parse_format(q.w_format)
    alt = None if q.alt_format is None else parse_format(q.alt_format)
    w_port, mac_modes, _ = weight_port_codes(unit, codes, main, alt, modes)
    x_port, _ = act_to_port_codes(unit, q.act, np.asarray(workload.arrays[op.act_codes]))
    if x_port.size == 0 or k == 0:
        return None
    kept = _kept_elements(op, workload, k, cols // groups, groups)
    if op.prune not in (None, "block") and op.density < 1:  # priced as zero-gated: only non-zero weights count
        wi = unit.weight_ints(w_port, np.broadcast_to(mac_modes, w_port.shape)) if unit.has_mode else \
            unit.weight_ints(w_port)
        kept &= np.asarray(wi) != 0
    live = np.flatnonzero(kept.any(axis=0))
    aligned = op.role == "linear" and x_port.size >= k  # rows of K consecutive features: x[m, k] exactly
    tokens = x_port.size // k if aligned else 0
    if live.size == 0:
        return None
    rng = np.random.default_rng([seed, k, cols])
    t = np.arange(cycles)
    stim = {name: np.zeros((cycles, lanes), dtype=np.int64) for name in ("valid", "clear", "w", "x", "mode")}
    stim["valid"][:] = 1
    for lane in range(lanes):
        col = int(live[rng.integers(live.size)])
        ks = np.flatnonzero(kept[:, col])
        step = (int(rng.integers(ks.size)) + t) % ks.size
        stim["w"][:, lane] = w_port[ks[step], col]
        stim["clear"][:, lane] = (step == 0) | (t == 0)
        if aligned:
            stim["x"][:, lane] = x_port[int(rng.integers(tokens)) * k + ks[step]]
        else:
            stim["x"][:, lane] = x_port[(int(rng.integers(x_port.size)) + t) % x_port.size]
        stim["mode"][:, lane] = mac_modes[col]
    if not unit.has_mode:
        del stim["mode"]
    return stim


def layer_mac_energy(unit, op, workload, *, use_cache: bool = True) -> MacEnergy | None:
    """`mac_energy` of ``unit`` driven by ``op``'s own codes (`layer_mac_stimulus`), or None without them."""
    stim = layer_mac_stimulus(unit, op, workload)
    return None if stim is None else mac_energy(unit, activity=stim, use_cache=use_cache)
