"""Exact bit-packing of small unsigned integer and boolean arrays (workload files: masks, row modes, codes).

An array whose values all fit in ``b <= 7`` bits is stored as ``b`` bits per element: ``8 // b`` elements per
byte when ``b`` divides 8 (masks, 2- and 4-bit codes), else ``b`` bit planes of ``np.packbits``. Unpacking
gives back the same values, shape and dtype; anything else (signed, wider, floats) is not packed.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pack_bits", "packable_bits", "unpack_bits"]


def packable_bits(a: np.ndarray) -> int | None:
    """Bits per element ``a`` can be packed into (1..7), or None when packing would not save space."""
    if a.dtype == bool:
        return 1
    if a.dtype.kind != "u" or a.size == 0:
        return None
    bits = max(1, int(a.max()).bit_length())
    return bits if bits < 8 else None


def pack_bits(a: np.ndarray, bits: int) -> np.ndarray:
    """The elements of ``a`` (C order, each < 2**bits) as a flat uint8 array of ``bits`` bits each."""
    flat = np.ascontiguousarray(a).reshape(-1).view(np.uint8) if a.dtype == bool else \
        np.ascontiguousarray(a, dtype=np.uint8).reshape(-1)
    if 8 % bits == 0:
        per = 8 // bits
        pad = (-flat.size) % per
        grid = np.concatenate([flat, np.zeros(pad, np.uint8)]).reshape(-1, per) if pad else flat.reshape(-1, per)
        out = grid[:, 0].copy()
        for j in range(1, per):
            out |= grid[:, j] << np.uint8(j * bits)
        return out
    # bit planes: plane j holds bit j of every element, 8 elements per byte
    return np.concatenate([np.packbits((flat >> np.uint8(j)) & np.uint8(1)) for j in range(bits)])


def unpack_bits(packed: np.ndarray, bits: int, shape: tuple[int, ...], dtype) -> np.ndarray:
    """Inverse of `pack_bits`: the array of ``shape`` and ``dtype``; ValueError when ``packed`` has the wrong
    length for them."""
    dtype = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64))
    packed = np.asarray(packed, dtype=np.uint8).reshape(-1)
    if 8 % bits == 0:
        per = 8 // bits
        if packed.size != -(-n // per):
            raise ValueError(f"{packed.size} packed bytes cannot hold {n} elements of {bits} bits")
        mask = np.uint8((1 << bits) - 1)
        out = np.empty((packed.size, per), np.uint8)
        for j in range(per):
            out[:, j] = (packed >> np.uint8(j * bits)) & mask
        flat = out.reshape(-1)[:n]
    else:
        plane = -(-n // 8)
        if packed.size != plane * bits:
            raise ValueError(f"{packed.size} packed bytes cannot hold {n} elements of {bits} bits")
        flat = np.zeros(n, np.uint8)
        for j in range(bits):
            flat |= np.unpackbits(packed[j * plane:(j + 1) * plane], count=n) << np.uint8(j)
    if dtype.kind == "b":  # one bit per element: every value is 0 or 1
        return flat.view(bool).reshape(shape)
    return flat.astype(dtype, copy=False).reshape(shape)
