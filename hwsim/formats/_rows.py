"""Whole weight tensors, row by row: the fused encode / float32-store kernels, and per-row quantization errors.

One pass per tensor that reads the weights in their own dtype (float32 for a torch model) and writes codes and
float32 values, instead of float64 copies and whole-array encode / decode / re-encode rounds. Formats without a
kernel here (a user's own `NumberFormat`) are left to the caller's reference path.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._base import NumberFormat, as_rows
from ._fixed import Fixed
from ._kernels import (
    NAN,
    UNSETTLED,
    dequantize_table,
    pairwise_rows,
    run_rows,
    sq_error_fixed,
    sq_error_table,
    store_fixed,
    store_table,
    thresholds,
)
from ._posit import Posit, store_kernel
from ._sp2 import SP2, _sp2_table

POSIT_TABLE_BITS = 16  # posits up to this wide decode by a lookup in their value table (512 KiB)


def _table(fmt: SP2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(`thresholds`, level values, level codes): SP2's table encoder (`encode_nearest`)."""
    levels, level_codes, tie_up = _sp2_table(fmt)
    return thresholds(levels, tie_up), fmt.decode(level_codes), level_codes


def _fixed(fmt: Fixed) -> tuple[float, float, float, float]:
    # 2**frac and 2**-frac are exact for |frac| <= 64, so scaling by them is np.ldexp
    return 2.0**fmt.frac, 2.0**-fmt.frac, float(fmt.int_min), float(fmt.int_max)


def store_rows(fmt: NumberFormat, rows: np.ndarray, scale: np.ndarray, codes: np.ndarray, values: np.ndarray,
               select: np.ndarray | None = None) -> bool:
    """Fill ``codes`` and float32 ``values`` (2-D, shaped like the (out, K) ``rows``, any layout) for the rows
    where ``select`` (default: all) such that, with s = ``scale[row]`` (float64),

        values == float32(fmt.decode(codes) * s)     and     codes == fmt.encode(float64(values) / s)

    starting from ``fmt.encode(rows / s)`` and re-encoding a weight whose float32 value rounds to another code
    until it settles: per weight exactly what the whole-array loop of `hwsim.frontend._quant._encode_rows` does.
    Returns False, touching nothing, when ``fmt`` has no kernel here (fixed point, SP2 and posits have).
    ValueError for a NaN (a format without a NaN code), RuntimeError if a weight does not settle.
    """
    kind = type(fmt)  # exact types: a subclass may encode differently
    if kind is SP2:
        kernel, params = store_table, _table(fmt)
    elif kind is Fixed:
        kernel, params = store_fixed, (*_fixed(fmt), (1 << fmt.bits) - 1)
    elif kind is Posit:
        table = fmt.values() if fmt.n <= POSIT_TABLE_BITS else np.empty(0)
        kernel, params = store_kernel, (fmt.n, fmt.es, fmt.frac_bits, table)
    else:
        return False
    rows = as_rows(rows)
    sel = np.ones(rows.shape[0], dtype=np.bool_) if select is None else np.asarray(select, dtype=np.bool_)
    scale = np.ascontiguousarray(scale, dtype=np.float64)
    status = run_rows(kernel, rows.shape[0], rows.shape[1], rows, scale, sel, *params, codes, values)
    if NAN in status:
        raise ValueError(f"NaN has no code in {fmt.name}")
    if UNSETTLED in status:  # pragma: no cover - no known format and scale gets here
        raise RuntimeError(f"{fmt.name}: codes did not settle under float32 storage")
    return True


def row_square_errors(fmt: SP2 | Fixed, rows: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Per row, ``((fmt.quantize(rows / s) * s - rows) ** 2).sum(axis=1)`` in float64, bit for bit, for the
    C- or F-contiguous (out, K) ``rows`` and float64 row scales s.

    The sums run in the order that expression's numpy arrays had: SP2's encoder returns C order, so its
    errors are summed pairwise along each row; fixed point keeps the input's layout (`pairwise_rows`).
    """
    rows = as_rows(rows)
    scale = np.ascontiguousarray(scale, dtype=np.float64)
    if type(fmt) is SP2:
        return sq_error_table(rows, scale, *_table(fmt)[:2])
    if type(fmt) is Fixed:
        return sq_error_fixed(rows, scale, pairwise_rows(rows), *_fixed(fmt))
    raise TypeError(f"row_square_errors takes SP2 or Fixed, not {fmt!r}")


DECODE_TABLE_BITS = 16  # formats up to this wide dequantize by a lookup in their value table (512 KiB)


def dequantize_rows(formats: Mapping[int, NumberFormat], codes: np.ndarray, scale: np.ndarray,
                    modes: np.ndarray | None = None) -> np.ndarray:
    """float32 ``decode(codes[r]) * scale[r]`` of the 2-D (out, K) ``codes`` (any layout; the result has it too),
    row r in ``formats[modes[r]]`` (``formats[0]`` without ``modes``): bit for bit the float32 values
    `store_rows` (or the whole-array reference loop) stored beside those codes.
    """
    values = np.empty_like(codes, dtype=np.float32)
    scale = np.ascontiguousarray(scale, dtype=np.float64)
    for mode, fmt in formats.items():
        sel = np.ones(codes.shape[0], np.bool_) if modes is None else np.asarray(modes) == mode
        if fmt.bits <= DECODE_TABLE_BITS:  # a code's value depends on the code alone
            dequantize_table(codes, fmt.decode(np.arange(1 << fmt.bits).astype(codes.dtype)), scale, sel, values)
        elif sel.any():
            values[sel] = (fmt.decode(codes[sel]) * scale[sel, None]).astype(np.float32)
    return values
