"""The block-sparse GEMM engine's contract: configuration, timing constants and memory layout.

Both the cycle model (`hwsim.sim`) and the RTL (`hwsim.rtl.BlockSparseGemm`) are built from this module, so
they cannot drift apart on what a tile, a token or a memory word is. docs/engine.md explains the timing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._util import check_int
from ..mac import MacUnit

# Cycles from issuing a token (addresses to the index and weight memories) to its operands reaching PE(0, 0):
# one cycle for the block-index read (whose data forms the X address), one for the X read.
ENGINE_PIPE = 2
MAX_ARRAY = 256
MAX_NM_GROUP = 16  # widest activation mux of an N:M PE
DATAFLOWS = ("os", "ws")  # output-stationary, weight-stationary (docs/engine.md)


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineConfig:
    """A ``rows`` x ``cols`` array of ``mac`` PEs whose weight memory stores ``block_k``-deep K-blocks.

    ``dataflow`` "os" (output-stationary): each PE accumulates one output of a tile while K-blocks stream
    through. "ws" (weight-stationary): each PE holds one weight of a ``rows`` (K) x ``cols`` (N) fold while the
    rows of X stream through and partial sums flow down the columns; a fold is one K-block, so ``block_k`` must
    equal ``rows``.

    ``block_n`` is the pruning block's width in N. The engine skips a K-block of a tile column when every
    pruning block under the tile's ``cols`` columns is zero, so ``block_n`` must divide ``cols`` (a tile spans
    several block columns) or be a multiple of it (a block column spans several tiles).

    ``nm_group`` M > 1 gives every PE an M:1 activation mux (N:M structured sparsity, output-stationary only):
    X streams a group of M consecutive k per token and W only the kept weights of each group with their
    positions, ``group_tokens`` of them per group, so an N:M-sparse W streams N/M of the K-steps. M must divide
    block_k.
    """

    rows: int
    cols: int
    block_k: int
    block_n: int
    mac: MacUnit
    dataflow: str = "os"
    nm_group: int = 1

    def __post_init__(self) -> None:
        check_int("rows", self.rows, 1, MAX_ARRAY)
        check_int("cols", self.cols, 1, MAX_ARRAY)
        check_int("block_k", self.block_k, 1, 1 << 16)
        check_int("block_n", self.block_n, 1, 1 << 16)
        if self.cols % self.block_n and self.block_n % self.cols:
            raise ValueError(
                f"block_n={self.block_n} cannot be mapped onto cols={self.cols}: one must divide the other"
            )
        if not isinstance(self.mac, MacUnit):
            raise TypeError(f"mac must be a hwsim.mac.MacUnit, not {self.mac!r}")
        if self.dataflow not in DATAFLOWS:
            raise ValueError(f"dataflow must be one of {', '.join(DATAFLOWS)}, not {self.dataflow!r}")
        if self.dataflow == "ws" and self.block_k != self.rows:
            raise ValueError(f"a weight-stationary array holds folds of rows={self.rows} K-rows: block_k must "
                             f"equal rows, not {self.block_k}")
        check_int("nm_group", self.nm_group, 1, MAX_NM_GROUP)
        if self.nm_group > 1:
            if self.dataflow != "os":
                raise ValueError(f"N:M PEs (nm_group={self.nm_group}) are output-stationary: dataflow must be os, "
                                 f"not {self.dataflow!r}")
            if self.block_k % self.nm_group:
                raise ValueError(f"nm_group={self.nm_group} must divide block_k={self.block_k}: a group of K "
                                 "never straddles two K-blocks")

    @property
    def idx_bits(self) -> int:
        """Bits of a kept weight's position in its group (N:M engines; 0 otherwise)."""
        return (self.nm_group - 1).bit_length()

    def block_tokens(self, group_tokens: int | None = None) -> int:
        """K-step tokens per stored K-block: block_k, or with N:M PEs (block_k / M) x ``group_tokens`` (default
        M, every weight of a group)."""
        g = self.nm_group
        t = check_group_tokens(self, g if group_tokens is None else group_tokens)
        return self.block_k // g * t

    @property
    def gap(self) -> int:
        """OS: idle issue cycles between two tiles: the next tile's clear must not reach a row before that row
        of the previous tile is drained (>= cols - 1), and drains must not collide (>= rows - 1)."""
        return max(self.rows, self.cols) - 1

    def ws_gap(self, m: int) -> int:
        """WS: issue cycles between a fold's last X row and the next fold's first, preload included.

        The next fold's R weight shifts may start only when the last row has passed PE(R-1, C-1)
        (>= 2R + C - 3), its partial sums may be read only after the previous fold wrote them (M + gap >=
        R + C + 2), and the preload takes R cycles after the last row's issue (>= R)."""
        r, c = self.rows, self.cols
        return max(2 * r + c - 3, r + c + 2 - m, r)

    @property
    def drain_delay(self) -> int:
        """OS: cycles from a tile's last token to draining its row 0: the token reaches PE(i, cols-1) after
        ENGINE_PIPE + i + cols - 1 cycles and the MAC needs its latency to add it. WS: cycles from issuing an X
        row to writing its partial sums (X read 1, rows R, columns deskewed to C, MAC stage 1)."""
        if self.dataflow == "ws":
            return self.rows + self.cols + 1
        return ENGINE_PIPE + self.cols - 1 + self.mac.latency


def check_group_tokens(cfg: EngineConfig, group_tokens) -> int:
    """``group_tokens`` checked against the engine: 1..nm_group (always 1 without N:M PEs)."""
    return check_int("group_tokens", group_tokens, 1, cfg.nm_group)


def nm_group_tokens(cfg: EngineConfig, kept: np.ndarray) -> int:
    """Tokens per group an N:M engine needs for W's kept elements ``kept`` ((k, n) booleans; groups of nm_group
    consecutive k): the most any group holds in any column (at least 1). Without N:M PEs, 1."""
    g = cfg.nm_group
    if g == 1:
        return 1
    kept = np.asarray(kept, bool)
    k, n = kept.shape
    padded = np.zeros((-(-k // g) * g, n), bool)
    padded[:k] = kept
    return max(1, int(padded.reshape(-1, g, n).sum(axis=1).max(initial=0)))


@dataclass(frozen=True, slots=True)
class GemmShape:
    """Problem size and its tiling on an engine (K padded to whole K-blocks, M and N to whole tiles)."""

    m: int
    k: int
    n: int
    m_tiles: int
    n_tiles: int
    k_blocks: int
    n_blocks: int  # pruning block columns

    @classmethod
    def of(cls, cfg: EngineConfig, m: int, k: int, n: int) -> GemmShape:
        m, k, n = (check_int(name, v, 1, 1 << 24) for name, v in (("m", m), ("k", k), ("n", n)))
        return cls(m, k, n, ceil_div(m, cfg.rows), ceil_div(n, cfg.cols), ceil_div(k, cfg.block_k),
                   ceil_div(n, cfg.block_n))


def check_block_mask(cfg: EngineConfig, shape: GemmShape, mask) -> np.ndarray:
    """A (k_blocks, n_blocks) boolean array: True where a pruning block is kept."""
    arr = np.asarray(mask)
    want = (shape.k_blocks, shape.n_blocks)
    if arr.shape != want:
        raise ValueError(f"block mask has shape {arr.shape}, but W {shape.k}x{shape.n} in "
                         f"{cfg.block_k}x{cfg.block_n} blocks needs {want}")
    if arr.dtype != bool:
        if not np.isin(arr, (0, 1)).all():
            raise ValueError("block mask must hold booleans (or 0/1)")
        arr = arr.astype(bool)
    return arr


def tile_occupancy(cfg: EngineConfig, shape: GemmShape, mask: np.ndarray) -> np.ndarray:
    """(k_blocks, n_tiles) booleans: whether the engine streams K-block kb for the tiles of column nt."""
    lo = (np.arange(shape.n_tiles) * cfg.cols) // cfg.block_n  # first block column under each tile
    hi = np.minimum(((np.arange(shape.n_tiles) + 1) * cfg.cols - 1) // cfg.block_n, shape.n_blocks - 1)
    counts = np.cumsum(np.concatenate([np.zeros((shape.k_blocks, 1), int), mask.astype(int)], axis=1), axis=1)
    return (counts[:, hi + 1] - counts[:, lo]) > 0


@dataclass(frozen=True, slots=True)
class BlockSparseLayout:
    """The engine's compressed weight layout (BSR over tile-blocks of block_k x cols).

    For tile column nt, stored blocks ``q`` in ``ptr[nt] .. ptr[nt+1]-1`` hold K-blocks ``idx[q]`` (ascending);
    weight word ``q * block_k + kk`` holds row ``idx[q] * block_k + kk`` of W under the tile's columns.
    """

    ptr: np.ndarray  # (n_tiles + 1,)
    idx: np.ndarray  # (stored blocks,) K-block index of each stored tile-block

    @classmethod
    def of(cls, occupancy: np.ndarray) -> BlockSparseLayout:
        ptr = np.concatenate([[0], np.cumsum(occupancy.sum(axis=0))]).astype(np.int64)
        idx = np.nonzero(occupancy.T)[1].astype(np.int64)  # by tile column, then ascending K-block
        return cls(ptr, idx)

    @property
    def stored_blocks(self) -> int:
        return int(self.ptr[-1])


def pack_lanes(values: np.ndarray, bits: int) -> list[int]:
    """Pack each row of an integer array into one word: lane j in bits [j*bits, (j+1)*bits)."""
    mask = (1 << bits) - 1
    words = []
    for row in np.asarray(values):
        word = 0
        for j, v in enumerate(row):
            word |= (int(v) & mask) << (j * bits)
        words.append(word)
    return words


def unpack_lanes(words, lanes: int, bits: int, signed: bool = True) -> np.ndarray:
    """Inverse of `pack_lanes` (two's complement lanes when ``signed``); Python ints for wide lanes."""
    mask, half = (1 << bits) - 1, 1 << (bits - 1)
    out = np.empty((len(words), lanes), dtype=object if bits > 63 else np.int64)
    for r, word in enumerate(words):
        for j in range(lanes):
            v = (int(word) >> (j * bits)) & mask
            out[r, j] = v - (1 << bits) if signed and v >= half else v
    return out


def element_mask(cfg: EngineConfig, shape: GemmShape, mask: np.ndarray) -> np.ndarray:
    """(k, n) booleans: the pruning block mask expanded to W's elements."""
    full = np.repeat(np.repeat(mask, cfg.block_k, axis=0), cfg.block_n, axis=1)
    return full[: shape.k, : shape.n]


@dataclass(frozen=True, slots=True)
class EngineImages:
    """Memory contents a test bench loads into the engine (words as Python ints, lane 0 in the LSBs).

    OS: xmem[mt * Kp + k]: X[mt*rows + i, k] in lane i (Kp = k_blocks * block_k; padding is 0).
    WS: xmem[kb * m + r]: X[r, kb*rows + i] in lane i (K padding is 0; M is not padded).
    Both: wmem[q * block_k + kk]: W[idx[q]*block_k + kk, nt*cols + j] in lane j, pruned elements 0;
    idx[q], ptr[nt]: `BlockSparseLayout`; mode[nt]: MSQ per-column modes in lane j; bias[nt]: per column.
    Y comes back in `y_words` words: OS ymem[(mt * n_tiles + nt) * rows + i] with Y[mt*rows + i, nt*cols + j]
    in lane j; WS ymem[nt * m + r] with Y[r, nt*cols + j] in lane j.

    N:M engines (nm_group G > 1) stream groups: xmem[mt * Kp/G + g] holds X[mt*rows + i, g*G + e] at bits
    (i*G + e) * x_bits; each stored block has (block_k / G) x ``group_tokens`` (T) weight words, word
    q * (block_k/G) * T + gl * T + s holding, in lane j (w_bits + idx_bits wide), the s-th kept weight of group gl
    of the block in column j (code in the low w_bits, its position in the group above; code 0 when the group keeps
    fewer than T). With T = G (dense mode) the words are the plain ones, every weight in k order, and the engine
    makes the positions itself.
    """

    shape: GemmShape
    layout: BlockSparseLayout
    xmem: list[int]
    wmem: list[int]
    mode: list[int]
    bias: list[int]
    y_words: int  # words of ymem the GEMM writes
    dataflow: str = "os"
    group_tokens: int = 1  # N:M engines: tokens per group of nm_group k


def engine_images(cfg: EngineConfig, x_codes, w_codes, mask, modes=None, bias=None, group_tokens=None
                  ) -> EngineImages:
    """Pack X (m x k codes), W (k x n codes), the block mask, MSQ column modes and bias (accumulator units).

    N:M engines: ``group_tokens`` (default: `nm_group_tokens` of W's non-zero kept codes, the fewest that hold
    them) weights of each group are streamed; a group keeping more is refused."""
    x = np.asarray(x_codes)
    w = np.asarray(w_codes)
    if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[0]:
        raise ValueError(f"X {x.shape} and W {w.shape} do not chain into a GEMM")
    shape = GemmShape.of(cfg, x.shape[0], x.shape[1], w.shape[1])
    mask = check_block_mask(cfg, shape, mask)
    layout = BlockSparseLayout.of(tile_occupancy(cfg, shape, mask))
    r, c, bk = cfg.rows, cfg.cols, cfg.block_k
    kp = shape.k_blocks * bk
    wp = np.zeros((kp, shape.n_tiles * c), dtype=np.int64)
    wp[: shape.k, : shape.n] = np.where(element_mask(cfg, shape, mask), w, 0)
    g = cfg.nm_group
    kept = (wp != 0) & np.pad(element_mask(cfg, shape, mask), ((0, kp - shape.k), (0, wp.shape[1] - shape.n)))
    need = nm_group_tokens(cfg, kept)
    tokens = need if group_tokens is None else check_group_tokens(cfg, group_tokens)
    if tokens < need:
        raise ValueError(f"group_tokens={tokens}, but a group of {g} k keeps {need} non-zero weights")
    if g > 1:  # for each M tile, one word per group of g k holding the tile's rows x g elements
        xp = np.zeros((shape.m_tiles * r, kp), dtype=np.int64)
        xp[: shape.m, : shape.k] = x
        groups = xp.reshape(shape.m_tiles, r, kp // g, g).transpose(0, 2, 1, 3).reshape(-1, r * g)
        xmem = pack_lanes(groups, cfg.mac.x_bits)
        y_words = shape.m_tiles * shape.n_tiles * r
    elif cfg.dataflow == "ws":  # for each K-block, one word per row of X holding its block_k (= rows) elements
        xp = np.zeros((shape.m, kp), dtype=np.int64)
        xp[:, : shape.k] = x
        xmem = pack_lanes(xp.reshape(shape.m, shape.k_blocks, bk).transpose(1, 0, 2).reshape(-1, bk),
                          cfg.mac.x_bits)
        y_words = shape.n_tiles * shape.m
    else:  # for each M tile, one word per k holding the tile's rows
        xp = np.zeros((shape.m_tiles * r, kp), dtype=np.int64)
        xp[: shape.m, : shape.k] = x
        xmem = pack_lanes(xp.reshape(shape.m_tiles, r, kp).transpose(0, 2, 1).reshape(-1, r), cfg.mac.x_bits)
        y_words = shape.m_tiles * shape.n_tiles * r
    w_rows = []
    for nt in range(shape.n_tiles):
        for q in range(layout.ptr[nt], layout.ptr[nt + 1]):
            kb = layout.idx[q]
            block = wp[kb * bk : (kb + 1) * bk, nt * c : (nt + 1) * c]
            if g > 1 and tokens < g:  # (with every weight of each group streamed the words are the plain ones)
                block = _kept_slots(block, kept[kb * bk : (kb + 1) * bk, nt * c : (nt + 1) * c], g, tokens,
                                    cfg.mac.w_bits)
            w_rows.append(block)
    wmem = pack_lanes(np.concatenate(w_rows) if w_rows else np.zeros((0, c), np.int64),
                      cfg.mac.w_bits + cfg.idx_bits)
    modes_p = np.zeros(shape.n_tiles * c, dtype=np.int64)
    if cfg.mac.has_mode:
        if modes is None:
            raise ValueError(f"a {cfg.mac.kind} engine needs modes: one per output column "
                             "(1 = the first format, 0 = fixed point)")
        modes_p[: shape.n] = np.asarray(modes, dtype=np.int64)
    bias_p = np.zeros(shape.n_tiles * c, dtype=object)
    if bias is not None:
        bias_p[: shape.n] = [int(b) for b in np.asarray(bias).ravel()]
    return EngineImages(
        shape=shape, layout=layout, xmem=xmem, wmem=wmem,
        mode=pack_lanes(modes_p.reshape(shape.n_tiles, c), 1),
        bias=pack_lanes(bias_p.reshape(shape.n_tiles, c), cfg.mac.acc_bits), y_words=y_words,
        dataflow=cfg.dataflow, group_tokens=tokens,
    )


def _kept_slots(block: np.ndarray, kept: np.ndarray, g: int, tokens: int, w_bits: int) -> np.ndarray:
    """A (block_k, C) tile-block as N:M weight words: per group, ``tokens`` rows whose lane j is the next kept
    weight of the group in column j (code | position << w_bits), ascending in k; code 0 where none is left."""
    groups, cols = block.shape[0] // g, block.shape[1]
    w = block.reshape(groups, g, cols)
    keep = kept.reshape(groups, g, cols)
    order = np.argsort(~keep, axis=1, kind="stable")[:, :tokens]  # kept positions first, ascending
    present = np.arange(tokens)[None, :, None] < keep.sum(axis=1)[:, None, :]
    codes = np.where(present, np.take_along_axis(w, order, axis=1), 0)
    words = codes | np.where(present, order, 0) << w_bits
    return words.reshape(groups * tokens, cols)
