"""Numba kernels of pruning over a weight's (out, K) rows view, read in place (float32 or float64, any layout).

Boolean masks come and go as uint8 views (``mask.view(np.uint8)``): numba compiles loads and stores of bool
arrays into branches, several times slower on a random mask.

A block is ``bn`` consecutive output rows of one conv group by ``bk`` consecutive inputs (see
`_prune._block_layout`); block (kb, j) has flat index ``kb * columns + j``, j counting the groups' blocks
side by side. Block sums add each block's elements one after the other in row-major order of the rows view,
which is exactly the order ``np.bincount`` over flat block ids added them in.
"""

from __future__ import annotations

import numpy as np

from hwsim._util.jit import lazy_njit

L1, L2, TAYLOR, SUM = 0, 1, 2, 3  # what a block sums: |w|, w**2, |w * grad|, w


@lazy_njit(cache=True, nogil=True)
def block_sums(rows, grad, what, n, bk, bn, out, j0, j1):  # pragma: no cover - numba
    """``out[kb, j]`` (float64, zeroed by the caller) += the block's ``what`` terms for block columns j0:j1."""
    cols = rows.shape[1]
    ncb = (n + bn - 1) // bn
    for j in range(j0, j1):
        g, cb = j // ncb, j % ncb
        for r in range(g * n + cb * bn, g * n + min((cb + 1) * bn, n)):
            for kb in range(out.shape[0]):
                s = out[kb, j]
                for k in range(kb * bk, min((kb + 1) * bk, cols)):
                    w = np.float64(rows[r, k])
                    if what == L1:
                        s += abs(w)
                    elif what == L2:
                        s += w * w
                    elif what == TAYLOR:
                        s += abs(w * grad[r, k])
                    else:
                        s += w
                out[kb, j] = s


@lazy_njit(cache=True, nogil=True)
def block_any(mask, n, bk, bn, out, j0, j1):  # pragma: no cover - numba
    """``out[kb, j]`` = whether any element of the block is set in the (out, K) ``mask``."""
    cols = mask.shape[1]
    ncb = (n + bn - 1) // bn
    for j in range(j0, j1):
        g, cb = j // ncb, j % ncb
        for kb in range(out.shape[0]):
            out[kb, j] = 0
        for r in range(g * n + cb * bn, g * n + min((cb + 1) * bn, n)):
            for kb in range(out.shape[0]):
                if not out[kb, j]:
                    for k in range(kb * bk, min((kb + 1) * bk, cols)):
                        out[kb, j] |= mask[r, k]


@lazy_njit(cache=True, nogil=True)
def expand_blocks(keep, n, bk, bn, out, j0, j1):  # pragma: no cover - numba
    """Write the (kb, j) block mask ``keep`` onto every element of the (out, K) rows view ``out``."""
    cols = out.shape[1]
    ncb = (n + bn - 1) // bn
    for j in range(j0, j1):
        g, cb = j // ncb, j % ncb
        for r in range(g * n + cb * bn, g * n + min((cb + 1) * bn, n)):
            for kb in range(keep.shape[0]):
                v = keep[kb, j]
                for k in range(kb * bk, min((kb + 1) * bk, cols)):
                    out[r, k] = v


NM_COUNT_MAX = 32  # groups up to this size rank by comparing every pair, larger ones sort


@lazy_njit(cache=True, nogil=True)
def nm_mask(rows, n, m, out, r0, r1):  # pragma: no cover - numba
    """Keep the ``n`` largest |w| of every ``m`` consecutive weights of a row; equal magnitudes go to the earlier
    weight: the ranks a stable sort of -|w| gives."""
    mag = np.empty(m)
    rank = np.empty(m, np.int64)
    for r in range(r0, r1):
        for base in range(0, rows.shape[1], m):
            for i in range(m):
                mag[i] = abs(np.float64(rows[r, base + i]))
            if m <= NM_COUNT_MAX:
                # one comparison per pair i < j: j goes first only when strictly larger (a tie keeps i first);
                # added up, not branched on, as the comparisons are random
                rank[:] = 0
                for i in range(m):
                    for j in range(i + 1, m):
                        later_first = mag[j] > mag[i]
                        rank[i] += later_first
                        rank[j] += 1 - later_first
                for i in range(m):
                    out[r, base + i] = rank[i] < n
            else:
                order = np.argsort(-mag, kind="mergesort")
                for i in range(m):
                    out[r, base + order[i]] = i < n


@lazy_njit(cache=True, nogil=True)
def zero_dropped(bits, keep, i0, i1):  # pragma: no cover - numba
    """Set the float whose integer view is ``bits`` to +0 where not ``keep``, for flat indices i0:i1.

    An AND with all ones or all zeros: exactly +0 (w * 0 would leave -0 for negative weights), and no branch
    on a random mask.
    """
    for i in range(i0, i1):
        bits[i] &= -np.int64(keep[i])  # keep: 0 or 1
