"""Numba kernels over whole weight tensors: table and fixed-point encoding with float32 storage, and sums that add
in exactly numpy's order.

The sums replace numpy expressions (``(rows**2).mean(axis=1)``, ``((a - b)**2).mean()``) whose float64 results
quantization reports and rankings depend on, so they must agree bit for bit, without the full-size float64
temporaries. numpy reduces a contiguous run with its pairwise sum (`pairwise_sq_diff`); a row of a C-ordered
array is such a run, while an F-ordered array (a transposed parameter's rows) is reduced across its rows,
adding each row's elements one after the other.

Every kernel that another one here calls lives in this file: numba's on-disk cache does not notice a change
in a callee defined in another file. Small helpers are inlined (``inline="always"``): numba never inlines a call
between compiled functions by itself, and a call keeps `search` from being unrolled into vector comparisons.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .._util.jit import lazy_njit

_PW_BLOCK = 128  # numpy's PW_BLOCKSIZE: runs up to this long are summed with 8 accumulators
MIN_THREAD_ELEMS = 1 << 16  # below this many elements per thread, a second thread costs more than it saves


# ---------------------------------------------------------------------------------------------------- threads


@functools.cache
def _pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix="hwsim-rows")


def _threads(elems: int, parts: int) -> int:
    import numba  # only when a kernel is about to run (see hwsim._util.jit)

    return max(1, min(numba.config.NUMBA_NUM_THREADS, parts, elems // MIN_THREAD_ELEMS))


def run_rows(kernel, n_rows: int, row_len: int, *args) -> list:
    """``kernel(*args, r0, r1)`` over consecutive row ranges covering ``range(n_rows)``; each call's result.

    Large tensors are split over up to NUMBA_NUM_THREADS threads (the kernels release the GIL); every row is
    computed by one call whatever the split, so the result does not depend on it.
    """
    threads = _threads(n_rows * row_len, n_rows)
    bounds = np.linspace(0, n_rows, threads + 1).astype(np.int64)
    return _parallel([lambda i=i: kernel(*args, bounds[i], bounds[i + 1]) for i in range(threads)])


def _parallel(calls: list) -> list:
    """Each call's result: the first on this thread, the others on the pool."""
    rest = [_pool(len(calls) - 1).submit(c) for c in calls[1:]] if len(calls) > 1 else []
    return [calls[0](), *(f.result() for f in rest)]


# ------------------------------------------------------------------------------------------ numpy's sum order


def pairwise_rows(rows: np.ndarray) -> bool:
    """Whether numpy sums each row of the 2-D ``rows`` pairwise (True: C order, or a single row) or element by
    element across the row (False: F order). Other layouts are not handled: make them C-contiguous first."""
    if rows.flags.c_contiguous or rows.shape[0] == 1:
        return True
    if rows.flags.f_contiguous:
        return False
    raise ValueError("rows must be C- or F-contiguous")


@lazy_njit(cache=True, nogil=True, inline="always")
def _leaf(buf, n):  # pragma: no cover - numba
    """numpy's pairwise_sum of ``buf[:n]`` for ``n <= 128``: 8 accumulators, then the rest one by one."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += buf[i]
        return res
    r0, r1, r2, r3 = buf[0], buf[1], buf[2], buf[3]
    r4, r5, r6, r7 = buf[4], buf[5], buf[6], buf[7]
    i = 8
    end = n - n % 8
    while i < end:
        r0 += buf[i]
        r1 += buf[i + 1]
        r2 += buf[i + 2]
        r3 += buf[i + 3]
        r4 += buf[i + 4]
        r5 += buf[i + 5]
        r6 += buf[i + 6]
        r7 += buf[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += buf[i]
        i += 1
    return res


@lazy_njit(cache=True, nogil=True)
def pairwise_sq_diff(a, b, lo, n):  # pragma: no cover - numba
    """numpy's pairwise sum of ``(float64(a[i]) - float64(b[i]))**2`` over ``i in [lo, lo + n)`` (1-D a, b).

    numpy halves a run (the first half rounded down to a multiple of 8) until it is at most 128 long. Its
    recursion runs here on an explicit stack, as numba cannot cache a recursive function.
    """
    buf = np.empty(_PW_BLOCK)
    los = np.empty(64, np.int64)  # the runs from the root down to the current one
    ns = np.empty(64, np.int64)
    left = np.empty(64)  # a finished left half's sum, while its right half runs
    in_left = np.zeros(64, np.bool_)
    top = 0
    los[0], ns[0] = lo, n
    while True:
        while ns[top] > _PW_BLOCK:  # down to the first leaf of this run
            half = ns[top] // 2
            half -= half % 8
            in_left[top] = True
            los[top + 1], ns[top + 1] = los[top], half
            top += 1
        start, m = los[top], ns[top]
        for j in range(m):
            d = np.float64(a[start + j]) - np.float64(b[start + j])
            buf[j] = d * d
        total = _leaf(buf, m)
        top -= 1
        while top >= 0 and not in_left[top]:  # a right half is done: add it to its left half
            total = left[top] + total
            top -= 1
        if top < 0:
            return total
        left[top] = total  # a left half is done: its right half next
        in_left[top] = False
        half = ns[top] // 2
        half -= half % 8
        los[top + 1], ns[top + 1] = los[top] + half, ns[top] - half
        top += 1


def _split(lo: int, n: int, depth: int) -> list[tuple[int, int]]:
    """The runs of numpy's pairwise recursion over ``[lo, lo + n)`` ``depth`` levels down, in order."""
    if depth == 0 or n <= _PW_BLOCK:
        return [(lo, n)]
    n2 = n // 2
    n2 -= n2 % 8
    return _split(lo, n2, depth - 1) + _split(lo + n2, n - n2, depth - 1)


def _combine(parts: list[float], depth: int, n: int) -> tuple[float, int]:
    """Add the run sums of `_split` back up its tree; returns (sum, number of runs used)."""
    if depth == 0 or n <= _PW_BLOCK:
        return parts[0], 1
    n2 = n // 2
    n2 -= n2 % 8
    left, used = _combine(parts, depth - 1, n2)
    right, used2 = _combine(parts[used:], depth - 1, n - n2)
    return left + right, used + used2


def mean_square_diff(a: np.ndarray, b: np.ndarray) -> float:
    """``float(((a.astype(np.float64) - b) ** 2).mean())`` for 2-D ``a``, ``b`` of one shape when numpy
    reduces that difference in row-major order (it does when the difference comes out C-ordered); 0.0 when
    empty."""
    n = a.size
    if n == 0:
        return 0.0
    a, b = a.ravel(), b.ravel()  # views when C-contiguous
    threads = _threads(n, n // _PW_BLOCK)
    depth = (threads - 1).bit_length()  # numpy's own top split points: the sum does not change
    runs = _split(0, n, depth)
    parts = _parallel([lambda run=run: pairwise_sq_diff(a, b, *run) for run in runs])
    return float((0.0 + _combine(parts, depth, n)[0]) / n)


@lazy_njit(cache=True, nogil=True)
def _row_square_sums(rows, pairwise, out, r0, r1):  # pragma: no cover - numba
    cols = rows.shape[1]
    if pairwise:
        zeros = np.zeros(cols)
        for r in range(r0, r1):
            out[r] = 0.0 + pairwise_sq_diff(rows[r], zeros, 0, cols)
    else:  # across the row, one element at a time; the inner loop runs down the memory-contiguous column
        out[r0:r1] = 0.0
        for k in range(cols):
            for r in range(r0, r1):
                x = np.float64(rows[r, k])
                out[r] += x * x


def row_square_sums(rows: np.ndarray) -> np.ndarray:
    """``(rows.astype(np.float64) ** 2).sum(axis=1)`` of a C- or F-contiguous 2-D float array, bit for bit."""
    out = np.empty(rows.shape[0])
    run_rows(_row_square_sums, rows.shape[0], rows.shape[1], rows, pairwise_rows(rows), out)
    return out


@lazy_njit(cache=True, nogil=True)
def _row_peaks(rows, out, r0, r1):  # pragma: no cover - numba
    for r in range(r0, r1):
        peak = 0.0
        nan = False
        for k in range(rows.shape[1]):
            a = abs(np.float64(rows[r, k]))
            nan |= np.isnan(a)
            peak = max(peak, a)
        out[r] = np.nan if nan else peak


def row_peaks(rows: np.ndarray) -> np.ndarray:
    """max |w| of each row of a 2-D float array as float64, NaN for a row holding one; 0 for empty rows."""
    out = np.empty(rows.shape[0])
    run_rows(_row_peaks, rows.shape[0], rows.shape[1], rows, out)
    return out


# ------------------------------------------------------------------------------------------- table encoding


def thresholds(levels: np.ndarray, tie_up: np.ndarray) -> np.ndarray:
    """The table `search` counts in, for ascending distinct ``levels`` whose midpoint ``i`` ties upward where
    ``tie_up[i]``: each midpoint, or for an upward tie the float just below it (so ``v >= mid`` is exactly
    ``v > threshold``), padded with +inf to 16, 64 or a multiple of 16 entries (always at least one pad)."""
    mids = (levels[:-1] + levels[1:]) * 0.5  # exact: neighbouring levels are dyadic with few bits
    th = np.where(tie_up, np.nextafter(mids, -np.inf), mids)
    size = 16 if th.size < 16 else 64 if th.size < 64 else (th.size // 16 + 1) * 16
    out = np.full(size, np.inf)
    out[:th.size] = th
    return out


@lazy_njit(cache=True, nogil=True, inline="always")
def _count_below(v, th, size):  # pragma: no cover - numba
    count = 0
    for j in range(size):
        count += th[j] < v
    return count


@lazy_njit(cache=True, nogil=True, inline="always")
def _binary_search(v, th):  # pragma: no cover - numba
    count = 0
    size = th.size
    while size > 0:
        half = size >> 1
        if th[count + half] < v:
            count += half + 1
            size -= half + 1
        else:
            size = half
    return count


@lazy_njit(cache=True, nogil=True, inline="always")
def search(v, th):  # pragma: no cover - numba
    """Index of the level ``v`` rounds to: the number of `thresholds` strictly below it (0 for NaN)."""
    if th.size == 16:
        return _count_below(v, th, 16)
    if th.size == 64:
        return _count_below(v, th, 64)
    return _binary_search(v, th)


@lazy_njit(cache=True, nogil=True, inline="always")
def _row_levels(rows, r, s, th, level):  # pragma: no cover - numba
    """``level[k]`` = `search` of ``rows[r, k] / s``; whether one of those is NaN.

    Tables of 16 and 64 are counted whole by a loop of constant length, one loop over the row for each, so
    LLVM vectorises the row (a 16-entry table stays in registers); a binary search over random weights
    mispredicts at every step, so only larger tables use one.
    """
    nan = False
    if th.size == 16:
        for k in range(rows.shape[1]):
            v = np.float64(rows[r, k]) / s
            nan |= np.isnan(v)
            level[k] = _count_below(v, th, 16)
    elif th.size == 64:
        for k in range(rows.shape[1]):
            v = np.float64(rows[r, k]) / s
            nan |= np.isnan(v)
            level[k] = _count_below(v, th, 64)
    else:
        for k in range(rows.shape[1]):
            v = np.float64(rows[r, k]) / s
            nan |= np.isnan(v)
            level[k] = _binary_search(v, th)
    return nan


@lazy_njit(cache=True, nogil=True)
def encode_table(x, th, level_codes, out):  # pragma: no cover - numba
    """``out[i]`` = code of the level ``x[i]`` rounds to (see `search`)."""
    for i in range(x.size):
        out[i] = level_codes[search(x[i], th)]


# Status of the store kernels: every weight settled, a NaN met (no code), a weight that did not settle.
OK, NAN, UNSETTLED = 0, 1, 2
SETTLE_ROUNDS = 4  # re-encodes of the float32-stored value before giving up


@lazy_njit(cache=True, nogil=True, inline="always")
def _settle_table(i, s, th, levels):  # pragma: no cover - numba
    """(level, float32 value, status) that level ``i`` settles on when stored as float32(levels[i] * s) and
    re-encoded from float64(value) / s."""
    w = np.float32(levels[i] * s)
    for _ in range(SETTLE_ROUNDS):
        back = np.float64(w) / s
        if np.isnan(back):
            return i, w, NAN
        j = search(back, th)
        if j == i:
            return i, w, OK
        i = j
        w = np.float32(levels[i] * s)
    return i, w, UNSETTLED


@lazy_njit(cache=True, nogil=True)
def store_table(rows, scale, select, th, levels, level_codes, codes, values, r0, r1):  # pragma: no cover - numba
    """Rows ``r0:r1`` (where ``select``) of a table format (`thresholds`; ``levels[i]`` the value of
    ``level_codes[i]``): ``codes`` and float32 ``values`` with ``codes == encode(float64(values) / s)`` and
    ``values == float32(decode(codes) * s)``, starting from ``encode(rows / s)``. Returns OK, NAN or UNSETTLED.

    Past the first encode, where a weight settles depends only on its level and the row's scale, so each level's
    outcome is worked out once per row (on first use) and looked up for the rest. A row is done in two loops:
    the first (`_row_levels`) has no lookup by a computed index, so LLVM vectorises it.
    """
    cols = rows.shape[1]
    level = np.empty(cols, np.int64)
    row_of = np.full(levels.size, -1)  # the row whose outcome code_of / value_of hold for a level
    code_of = np.empty_like(level_codes)
    value_of = np.empty(levels.size, np.float32)
    status = OK
    for r in range(r0, r1):
        if not select[r]:
            continue
        s = scale[r]
        if _row_levels(rows, r, s, th, level):
            return NAN
        for k in range(cols):
            i = level[k]
            if row_of[i] != r:
                row_of[i] = r
                j, value_of[i], st = _settle_table(i, s, th, levels)
                if st == NAN:
                    return NAN
                status = max(status, st)
                code_of[i] = level_codes[j]
            codes[r, k] = code_of[i]
            values[r, k] = value_of[i]
    return status


@lazy_njit(cache=True, nogil=True)
def _sq_error_table(rows, scale, th, levels, out, r0, r1):  # pragma: no cover - numba
    cols = rows.shape[1]
    level = np.empty(cols, np.int64)
    err = np.empty(cols)
    zeros = np.zeros(cols)
    for r in range(r0, r1):
        s = scale[r]
        _row_levels(rows, r, s, th, level)  # the caller's weights are finite
        for k in range(cols):
            err[k] = levels[level[k]] * s - np.float64(rows[r, k])
        out[r] = 0.0 + pairwise_sq_diff(err, zeros, 0, cols)


def sq_error_table(rows, scale, th, levels) -> np.ndarray:
    """Per row, the pairwise sum (numpy's, along the row) of ``(decode(encode(rows / s)) * s - rows) ** 2`` of a
    table format."""
    out = np.empty(rows.shape[0])
    run_rows(_sq_error_table, rows.shape[0], rows.shape[1], rows, scale, th, levels, out)
    return out


# -------------------------------------------------------------------------------------------- fixed point

# Adding and subtracting 1.5 * 2**52 rounds a float64 of magnitude below 2**51 to an integer, half to even (the
# default rounding of the addition): np.rint, exact for the clipped |x| <= 2**32, but vectorisable.
_ROUND = 1.5 * 2.0**52


@lazy_njit(cache=True, nogil=True, inline="always")
def _fixed_round(v, up, lo, hi):  # pragma: no cover - numba
    """`Fixed.encode`'s integer as a float: rint(clip(v * 2**frac)) (``up`` = 2**frac: the scaling is exact)."""
    return (min(max(v * up, lo), hi) + _ROUND) - _ROUND


@lazy_njit(cache=True, nogil=True, inline="always")
def _settle_fixed(q, s, up, down, lo, hi):  # pragma: no cover - numba
    """`_settle_table` for the fixed-point integer ``q``; decoding goes through the integer, so a zero is +0
    whatever the sign it was rounded from."""
    w = np.float32(np.float64(q) * down * s)
    for _ in range(SETTLE_ROUNDS):
        back = np.float64(w) / s
        if np.isnan(back):
            return q, w, NAN
        q2 = np.int64(_fixed_round(back, up, lo, hi))
        if q2 == q:
            return q, w, OK
        q = q2
        w = np.float32(np.float64(q) * down * s)
    return q, w, UNSETTLED


@lazy_njit(cache=True, nogil=True)
def store_fixed(rows, scale, select, up, down, lo, hi, mask, codes, values, r0, r1):  # pragma: no cover - numba
    """`store_table` for fixed point: ``up`` = 2**frac, ``down`` = 2**-frac, integers in [lo, hi], codes
    ``integer & mask``.

    Too many integers for store_table's per-row cache; instead every weight's float32 round trip is checked in
    a vectorised loop, and only a row where one moved is settled weight by weight.
    """
    cols = rows.shape[1]
    rounded = np.empty(cols)  # the integers, as floats (vectorisable)
    status = OK
    for r in range(r0, r1):
        if not select[r]:
            continue
        s = scale[r]
        nan = False
        for k in range(cols):
            v = np.float64(rows[r, k]) / s
            nan |= np.isnan(v)
            rounded[k] = _fixed_round(v, up, lo, hi)
        moved = False
        for k in range(cols):
            q = rounded[k]
            w = np.float32(q * down * s)  # q is an integer and never -0: decode's value
            back = np.float64(w) / s
            nan |= np.isnan(back)
            moved |= _fixed_round(back, up, lo, hi) != q
            values[r, k] = w
        if nan:
            return NAN
        if moved:
            for k in range(cols):
                q, values[r, k], st = _settle_fixed(np.int64(rounded[k]), s, up, down, lo, hi)
                if st == NAN:
                    return NAN
                status = max(status, st)
                rounded[k] = q
        for k in range(cols):
            codes[r, k] = np.int64(rounded[k]) & mask
    return status


@lazy_njit(cache=True, nogil=True)
def _sq_error_fixed(rows, scale, pairwise, up, down, lo, hi, out, r0, r1):  # pragma: no cover - numba
    cols = rows.shape[1]
    if pairwise:
        err = np.empty(cols)
        zeros = np.zeros(cols)
        for r in range(r0, r1):
            s = scale[r]
            for k in range(cols):
                w = np.float64(rows[r, k])
                err[k] = _fixed_round(w / s, up, lo, hi) * down * s - w
            out[r] = 0.0 + pairwise_sq_diff(err, zeros, 0, cols)
    else:
        out[r0:r1] = 0.0
        for k in range(cols):
            for r in range(r0, r1):
                s = scale[r]
                w = np.float64(rows[r, k])
                d = _fixed_round(w / s, up, lo, hi) * down * s - w
                out[r] += d * d


def sq_error_fixed(rows, scale, pairwise, up, down, lo, hi) -> np.ndarray:
    """`sq_error_table` for fixed point (see `store_fixed` for the parameters), summed as numpy sums a C-ordered
    row (``pairwise``) or an F-ordered array across its rows (see `pairwise_rows`)."""
    out = np.empty(rows.shape[0])
    run_rows(_sq_error_fixed, rows.shape[0], rows.shape[1], rows, scale, pairwise, up, down, lo, hi, out)
    return out


# ------------------------------------------------------------------------------------------- dequantization


@lazy_njit(cache=True, nogil=True)
def _dequantize_table(codes, table, scale, select, by_column, values, r0, r1):  # pragma: no cover - numba
    if by_column:  # F order (a transposed parameter's rows): run down the memory-contiguous columns
        for k in range(codes.shape[1]):
            for r in range(r0, r1):
                if select[r]:
                    values[r, k] = np.float32(table[codes[r, k]] * scale[r])
        return
    for r in range(r0, r1):
        if select[r]:
            s = scale[r]
            for k in range(codes.shape[1]):
                values[r, k] = np.float32(table[codes[r, k]] * s)


def dequantize_table(codes: np.ndarray, table: np.ndarray, scale: np.ndarray, select: np.ndarray,
                     values: np.ndarray) -> None:
    """``values[r] = float32(table[codes[r]] * scale[r])`` for the rows where ``select``, in one pass over the 2-D
    ``codes`` and float32 ``values`` (any layout; ``table`` the float64 value of every code)."""
    by_column = not codes.flags.c_contiguous and codes.flags.f_contiguous and values.flags.f_contiguous
    run_rows(_dequantize_table, codes.shape[0], codes.shape[1], codes, table, np.ascontiguousarray(scale, np.float64),
             np.ascontiguousarray(select, np.bool_), by_column, values)
