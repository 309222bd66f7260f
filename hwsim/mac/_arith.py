"""Integer helpers of the accumulators: exact products, two's complement wrap, saturation, dot products.

Integers up to 63 bits live in int64 arrays; wider ones (posit accumulators, quires) in object arrays of
Python ints, which are exact at any width.
"""

from __future__ import annotations

import numpy as np

from .._util.jit import lazy_njit


def int_dtype(bits: int) -> np.dtype:
    """int64 when a signed ``bits``-wide integer fits, else object (Python ints)."""
    return np.dtype(np.int64) if bits <= 63 else np.dtype(object)


def wrap(value, bits: int):
    """Two's complement wrap of (arrays of) integers to ``bits`` bits."""
    half = 1 << (bits - 1)
    return ((value + half) % (1 << bits)) - half


def saturate(value, bits: int):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if isinstance(value, np.ndarray):
        return np.minimum(np.maximum(value, lo), hi)
    return min(max(value, lo), hi)


def dot_wrap(products: np.ndarray, bits: int) -> np.ndarray:
    """Sum along the last axis, wrapped to ``bits``: order does not matter for a wrapping adder."""
    products = products.astype(int_dtype(bits), copy=False) if bits > 63 else products
    if products.dtype == object:
        total = products.sum(axis=-1) if products.shape[-1] else np.zeros(products.shape[:-1], dtype=object)
        return wrap(np.asarray(total, dtype=object), bits)
    # int64 sums wrap modulo 2**64, and 2**bits divides 2**64, so wrapping once at the end is exact.
    with np.errstate(over="ignore"):
        return wrap(products.sum(axis=-1, dtype=np.int64), bits)


def dot_saturate(products: np.ndarray, bits: int) -> np.ndarray:
    """Sequential saturating accumulation along the last axis (order matters: K ascending, as the PE does)."""
    products = products.astype(int_dtype(bits), copy=False) if bits > 63 else products
    lead = products.shape[:-1]
    flat = products.reshape(-1, products.shape[-1])
    if products.dtype == object:
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        out = np.empty(flat.shape[0], dtype=object)
        for i, row in enumerate(flat):
            acc = 0
            for p in row:
                acc = min(max(acc + p, lo), hi)
            out[i] = acc
        return out.reshape(lead)
    return _dot_saturate_kernel(np.ascontiguousarray(flat), bits).reshape(lead)


@lazy_njit(cache=True, nogil=True)
def _dot_saturate_kernel(products, bits):  # pragma: no cover - numba
    lo = -(np.int64(1) << (bits - 1))
    hi = (np.int64(1) << (bits - 1)) - 1
    out = np.empty(products.shape[0], dtype=np.int64)
    for i in range(products.shape[0]):
        acc = np.int64(0)
        for k in range(products.shape[1]):
            # |acc|, |p| < 2**62 when bits <= 63, so the sum cannot overflow int64 before the clamp
            acc = min(max(acc + products[i, k], lo), hi)
        out[i] = acc
    return out
