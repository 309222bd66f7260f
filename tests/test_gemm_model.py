"""Tier 1: the engine model. Timing properties and closed forms; outputs against the MAC's own dot product."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hwsim.arch import EngineConfig, GemmShape, engine_images, nm_group_tokens, tile_occupancy, unpack_lanes
from hwsim.mac import MAC_KINDS, make_mac
from hwsim.sim import dense_cycles, gemm_outputs, gemm_timing, random_block_mask

SMALL_MACS = {
    "fixed": dict(w_bits=4, x_bits=6),
    "sp2": dict(w_bits=4, x_bits=6),
    "msq": dict(w_bits=4, x_bits=6),
    "posit_fixp": dict(n=4, es=1, x_bits=6),
    "posit_quire": dict(n=4, es=1),
    "posit_or_fixed": dict(n=4, es=1, fixed_bits=6, x_bits=6),
}


def _cfg(r=4, c=4, bk=4, bn=4, kind="fixed", **mac):
    return EngineConfig(rows=r, cols=c, block_k=bk, block_n=bn, mac=make_mac(kind, **(mac or SMALL_MACS[kind])))


engines = st.builds(
    lambda r, c, bk, ratio, up: EngineConfig(rows=r, cols=c, block_k=bk, block_n=c * ratio if up else max(
        1, c // ratio) if c % ratio == 0 else c, mac=make_mac("fixed", w_bits=4, x_bits=4)),
    st.integers(1, 8), st.integers(1, 8), st.integers(1, 8), st.sampled_from([1, 2, 4]), st.booleans(),
)
sizes = st.tuples(st.integers(1, 40), st.integers(1, 40), st.integers(1, 40))


@given(engines, sizes)
def test_dense_cycles_equal_the_closed_form(cfg, mkn):
    m, k, n = mkn
    t = gemm_timing(cfg, m, k, n)
    mt, nt, kp = -(-m // cfg.rows), -(-n // cfg.cols), -(-k // cfg.block_k) * cfg.block_k
    p = mt * nt
    assert t.cycles == dense_cycles(cfg, m, k, n)
    assert t.cycles == p * kp + (p - 1) * (max(cfg.rows, cfg.cols) - 1) + (2 + cfg.cols - 1 + 2) + cfg.rows


@given(engines, sizes, st.data())
def test_cycles_never_drop_when_a_block_is_added(cfg, mkn, data):
    m, k, n = mkn
    shape = GemmShape.of(cfg, m, k, n)
    mask = data.draw(st.lists(st.booleans(), min_size=shape.k_blocks * shape.n_blocks,
                              max_size=shape.k_blocks * shape.n_blocks))
    mask = np.array(mask, bool).reshape(shape.k_blocks, shape.n_blocks)
    before = gemm_timing(cfg, m, k, n, mask)
    zeros = np.argwhere(~mask)
    if len(zeros):
        kb, bc = zeros[data.draw(st.integers(0, len(zeros) - 1))]
        mask[kb, bc] = True
        after = gemm_timing(cfg, m, k, n, mask)
        assert after.cycles >= before.cycles
        assert after.macs > before.macs
    assert before.cycles <= dense_cycles(cfg, m, k, n)
    assert 0 <= before.utilization <= 1


def test_a_zero_tile_block_costs_no_stream_cycles():
    cfg = _cfg(r=2, c=2, bk=3, bn=2)
    mask = np.ones((4, 3), bool)
    mask[1, 0] = False  # one K-block of tile column 0
    t, dense = gemm_timing(cfg, 2, 12, 6, mask), gemm_timing(cfg, 2, 12, 6)
    assert dense.cycles - t.cycles == cfg.block_k
    assert t.tile_blocks.tolist() == [3, 4, 4]


def test_block_n_smaller_than_cols_skips_only_when_every_block_under_the_tile_is_zero():
    cfg = _cfg(r=2, c=4, bk=2, bn=2)  # a tile spans two block columns
    shape = GemmShape.of(cfg, 2, 4, 8)
    mask = np.array([[True, False, False, False], [False, False, False, True]])
    occ = tile_occupancy(cfg, shape, mask)
    assert occ.tolist() == [[True, False], [False, True]]
    wide = _cfg(r=2, c=2, bk=2, bn=4)  # a block column spans two tiles
    occ = tile_occupancy(wide, GemmShape.of(wide, 2, 4, 8), np.array([[True, False], [False, True]]))
    assert occ.tolist() == [[True, True, False, False], [False, False, True, True]]


def test_empty_tile_columns_still_issue_a_clear_token():
    cfg = _cfg(r=2, c=2, bk=2, bn=2)
    t = gemm_timing(cfg, 3, 4, 4, np.zeros((2, 2), bool))
    assert t.tile_tokens.tolist() == [1, 1]
    assert t.macs == 0 and t.utilization == 0
    assert t.cycles == 2 * 2 * 1 + 3 * cfg.gap + cfg.drain_delay + cfg.rows


def test_tile_table_is_the_issue_schedule():
    cfg = _cfg(r=2, c=3, bk=2, bn=3)
    t = gemm_timing(cfg, 5, 7, 8, random_block_mask(4, 3, 0.5, 3))
    table = t.tile_table()
    assert len(table) == 3 * 3
    last = table.iloc[-1]
    assert last.first_issue + last.tokens - 1 + cfg.drain_delay + cfg.rows == t.cycles
    assert (table.first_issue.diff().dropna() == (table.tokens + cfg.gap).shift().dropna()).all()


@pytest.mark.parametrize("kind", MAC_KINDS)
@pytest.mark.parametrize("overflow", ["wrap", "saturate"])
def test_outputs_equal_the_mac_dot_product_of_the_pruned_weights(kind, overflow):
    if kind == "posit_quire" and overflow == "saturate":
        pytest.skip("a quire always wraps")
    params = dict(SMALL_MACS[kind])
    unit0 = make_mac(kind, **params)
    cfg = _cfg(r=3, c=2, bk=2, bn=2, kind=kind, **params, acc_bits=unit0.product_bits + 2, overflow=overflow)
    unit = cfg.mac
    rng = np.random.default_rng(7)
    m, k, n = 5, 9, 7
    x = rng.integers(0, 1 << unit.x_bits, (m, k))
    w = rng.integers(0, 1 << unit.w_bits, (k, n))
    mask = random_block_mask(5, 4, 0.6, 1)
    modes = rng.integers(0, 2, n) if unit.has_mode else None
    bias = rng.integers(-50, 50, n)
    got = gemm_outputs(cfg, x, w, mask, modes, bias)
    keep = np.repeat(np.repeat(mask, 2, 0), 2, 1)[:k, :n]
    wp = np.where(keep, w, 0)
    for i in range(m):
        for j in range(n):
            mode = None if modes is None else np.full(k, modes[j])
            acc = int(unit.dot(wp[:, j], x[i], mode))
            acc = unit.accumulate(acc, int(bias[j]))
            assert got[i, j] == acc, (i, j)


def test_memory_images_round_trip_the_operands():
    cfg = _cfg(r=3, c=2, bk=2, bn=2)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 64, (4, 5))
    w = rng.integers(0, 16, (5, 3))
    mask = np.array([[True, False], [False, False], [True, True]])
    img = engine_images(cfg, x, w, mask)
    assert img.layout.ptr.tolist() == [0, 2, 3] and img.layout.idx.tolist() == [0, 2, 2]
    xw = unpack_lanes(img.xmem, 3, 6, signed=False)  # m tile 0: words k=0..5 hold rows 0..2
    assert xw[:5, :].T.tolist() == x[:3].tolist()
    ww = unpack_lanes(img.wmem, 2, 4, signed=False)
    assert ww[0].tolist() == w[0, :2].tolist() and ww[1].tolist() == w[1, :2].tolist()
    assert ww[4].tolist() == [w[4, 2], 0]  # tile column 1, K-block 2: row 4, padded column


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: _cfg(c=4, bn=3), ValueError, "block_n=3 cannot be mapped onto cols=4"),
    (lambda: _cfg(r=0), ValueError, "rows must be >= 1, not 0"),
    (lambda: gemm_timing(_cfg(), 0, 4, 4), ValueError, "m must be >= 1, not 0"),
    (lambda: gemm_timing(_cfg(), 4, -1, 4), ValueError, "k must be >= 1, not -1"),
    (lambda: gemm_timing(_cfg(), 4, 8, 8, np.ones((3, 2), bool)), ValueError, r"block mask has shape \(3, 2\)"),
    (lambda: random_block_mask(2, 2, 1.5), ValueError, r"density must lie in \[0, 1\], not 1.5"),
    (lambda: random_block_mask(2, 2, -0.1), ValueError, "density must lie in"),
    (lambda: gemm_outputs(_cfg(), np.zeros((2, 3)), np.zeros((4, 2))), ValueError, "do not chain"),
    (lambda: gemm_outputs(_cfg(kind="msq"), np.zeros((2, 3), int), np.zeros((3, 2), int)), ValueError,
     "needs modes"),
])
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


@given(engines, sizes, st.floats(0, 1), st.integers(0, 10))
def test_mac_count_is_the_kept_elements_times_m(cfg, mkn, density, seed):
    from hwsim.arch import element_mask

    m, k, n = mkn
    shape = GemmShape.of(cfg, m, k, n)
    mask = random_block_mask(shape.k_blocks, shape.n_blocks, density, seed)
    assert gemm_timing(cfg, m, k, n, mask).macs == m * int(element_mask(cfg, shape, mask).sum())


# ---- weight-stationary

ws_engines = st.builds(
    lambda r, c, ratio, up: EngineConfig(rows=r, cols=c, block_k=r, block_n=c * ratio if up else max(
        1, c // ratio) if c % ratio == 0 else c, mac=make_mac("fixed", w_bits=4, x_bits=4), dataflow="ws"),
    st.integers(1, 8), st.integers(1, 8), st.sampled_from([1, 2, 4]), st.booleans(),
)


@given(ws_engines, sizes)
def test_ws_dense_cycles_equal_the_closed_form(cfg, mkn):
    m, k, n = mkn
    r, c = cfg.rows, cfg.cols
    folds = -(-k // r) * -(-n // c)
    gap = max(2 * r + c - 3, r + c + 2 - m, r)  # weights held, partial sums written, preload after the last row
    t = gemm_timing(cfg, m, k, n)
    assert t.cycles == dense_cycles(cfg, m, k, n) == folds * m + (folds - 1) * gap + 2 * r + c + 2
    assert t.tiles == folds and t.stream_cycles == folds * m


@given(ws_engines, sizes, st.data())
def test_ws_a_skipped_fold_saves_its_rows_and_its_gap(cfg, mkn, data):
    m, k, n = mkn
    shape = GemmShape.of(cfg, m, k, n)
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=shape.k_blocks * shape.n_blocks,
                                       max_size=shape.k_blocks * shape.n_blocks)), bool)
    mask = mask.reshape(shape.k_blocks, shape.n_blocks)
    occupancy = tile_occupancy(cfg, shape, mask)
    folds = int(np.maximum(occupancy.sum(axis=0), 1).sum())  # an empty tile column still writes its bias
    t = gemm_timing(cfg, m, k, n, mask)
    assert t.cycles == dense_cycles(cfg, m, k, n) - (shape.k_blocks * shape.n_tiles - folds) * (m + t.gap)


def test_ws_schedule_table_spaces_folds_by_m_plus_gap():
    cfg = _cfg(r=4, c=4, bk=4, bn=4)
    ws = EngineConfig(rows=4, cols=4, block_k=4, block_n=4, mac=cfg.mac, dataflow="ws")
    mask = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 0]], bool)  # tile column 1 is empty: one fold, bias only
    t = gemm_timing(ws, 7, 12, 12, mask)
    table = t.tile_table()
    assert table.n_tile.tolist() == [0, 0, 1, 2, 2]
    assert (table.first_issue - table.preload_start == 4).all()
    assert (table.preload_start.diff().dropna() == 7 + t.gap).all()
    assert t.cycles == table.first_issue.iloc[-1] + 7 - 1 + ws.drain_delay + 1


def test_ws_dense_cycles_track_scalesim_ws():
    """SCALE-Sim's ws fold costs 2R + C + M - 2 cycles; the engine's M + gap = M + 2R + C - 3 (its preload starts
    as the last row leaves PE(R-1, C-1)), plus its own fill and drain once: cycles = SCALE-Sim - folds + 6
    whenever the weights set the gap."""
    from hwsim.sim import scalesim_cycles

    for (r, c), (m, k, n) in [((16, 16), (197, 768, 768)), ((8, 4), (50, 64, 20)), ((32, 32), (3136, 147, 64))]:
        cfg = EngineConfig(rows=r, cols=c, block_k=r, block_n=c, mac=make_mac("fixed", w_bits=4, x_bits=4),
                           dataflow="ws")
        s = scalesim_cycles(m, k, n, r, c, "ws")
        assert cfg.ws_gap(m) == 2 * r + c - 3
        assert gemm_timing(cfg, m, k, n).cycles == s.cycles - s.folds + 6


def test_ws_needs_block_k_equal_to_rows():
    with pytest.raises(ValueError, match="block_k must equal rows, not 8"):
        EngineConfig(rows=4, cols=4, block_k=8, block_n=4, mac=make_mac("fixed"), dataflow="ws")
    with pytest.raises(ValueError, match="dataflow must be one of os, ws, not 'is'"):
        EngineConfig(rows=4, cols=4, block_k=4, block_n=4, mac=make_mac("fixed"), dataflow="is")


@given(ws_engines, sizes, st.integers(0, 2**31))
def test_ws_images_hold_x_by_k_block_and_row(cfg, mkn, seed):
    m, k, n = mkn
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 16, size=(m, k))
    w = rng.integers(0, 16, size=(k, n))
    shape = GemmShape.of(cfg, m, k, n)
    im = engine_images(cfg, x, w, np.ones((shape.k_blocks, shape.n_blocks), bool))
    words = unpack_lanes(im.xmem, cfg.rows, 4, signed=False)
    assert words.shape == (shape.k_blocks * m, cfg.rows) and im.y_words == shape.n_tiles * m
    kb, row, i = rng.integers(shape.k_blocks), rng.integers(m), rng.integers(cfg.rows)
    col = kb * cfg.rows + i
    assert words[kb * m + row, i] == (x[row, col] if col < k else 0)


# ---- N:M PEs

def _nm_cfg(r=4, c=4, bk=8, g=4, kind="fixed"):
    return EngineConfig(rows=r, cols=c, block_k=bk, block_n=c, mac=make_mac(kind, **SMALL_MACS[kind]), nm_group=g)


def _nm_weights(rng, k, n, g, keep):
    """(k, n) random non-zero codes with exactly ``keep`` kept in every group of ``g`` k of every column."""
    w = rng.integers(1, 8, size=(k, n))
    kept = np.argsort(rng.random((k // g, g, n)), axis=1) < keep
    return np.where(kept.reshape(k, n), w, 0)


@given(st.integers(1, 4), st.integers(1, 40), st.integers(1, 6), st.integers(1, 40), st.integers(0, 2**31))
def test_nm_streams_group_tokens_of_every_group(keep, m, kb, n, seed):
    """N of every M kept: each stored block streams (block_k / M) x N tokens, and that is what the weights need."""
    cfg = _nm_cfg()
    k = kb * cfg.block_k
    w = _nm_weights(np.random.default_rng(seed), k, n, cfg.nm_group, keep)
    assert nm_group_tokens(cfg, w != 0) == keep
    t = gemm_timing(cfg, m, k, n, group_tokens=keep)
    dense = gemm_timing(cfg, m, k, n)
    assert t.tile_tokens.tolist() == [kb * cfg.block_k // cfg.nm_group * keep] * dense.shape.n_tiles
    assert dense.cycles == dense_cycles(cfg, m, k, n)
    assert t.stream_cycles * cfg.nm_group == dense.stream_cycles * keep
    assert t.cycles == dense.cycles - (dense.stream_cycles - t.stream_cycles)


def test_nm_images_hold_each_kept_weight_with_its_position():
    cfg = _nm_cfg(r=2, c=3, bk=8, g=4)
    rng = np.random.default_rng(5)
    w = _nm_weights(rng, 16, 6, 4, 2)
    x = rng.integers(0, 16, size=(3, 16))
    shape = GemmShape.of(cfg, 3, 16, 6)
    im = engine_images(cfg, x, w, np.ones((shape.k_blocks, shape.n_blocks), bool))
    assert im.group_tokens == 2 and len(im.wmem) == shape.k_blocks * shape.n_tiles * (8 // 4) * 2
    lanes = unpack_lanes(im.wmem, 3, cfg.mac.w_bits + cfg.idx_bits, signed=False)
    codes, pos = lanes & ((1 << cfg.mac.w_bits) - 1), lanes >> cfg.mac.w_bits
    # tile column nt, K-block kb, group gl, slot s -> word ((nt * k_blocks + kb) * 2 + gl) * 2 + s
    for nt in range(shape.n_tiles):
        for kb in range(shape.k_blocks):
            for gl in range(2):
                for j in range(3):
                    k0 = kb * 8 + gl * 4
                    want = [(int(w[k0 + e, nt * 3 + j]), e) for e in range(4) if w[k0 + e, nt * 3 + j]]
                    words = [((nt * shape.k_blocks + kb) * 2 + gl) * 2 + s for s in range(2)]
                    assert [(int(codes[q, j]), int(pos[q, j])) for q in words] == want
    xw = unpack_lanes(im.xmem, 2 * 4, cfg.mac.x_bits, signed=False)  # lane i * 4 + e of group word g
    assert xw.shape == (shape.m_tiles * 16 // 4, 8) and xw[1, 1 * 4 + 2] == x[1, 1 * 4 + 2]
    with pytest.raises(ValueError, match="group_tokens=1, but a group of 4 k keeps 2"):
        engine_images(cfg, x, w, np.ones((shape.k_blocks, shape.n_blocks), bool), group_tokens=1)


def test_nm_configurations_are_checked():
    with pytest.raises(ValueError, match="N:M PEs .* are output-stationary"):
        EngineConfig(rows=4, cols=4, block_k=4, block_n=4, mac=make_mac("fixed"), dataflow="ws", nm_group=2)
    with pytest.raises(ValueError, match="nm_group=3 must divide block_k=4"):
        _nm_cfg(bk=4, g=3)
    with pytest.raises(ValueError, match="nm_group must be"):
        _nm_cfg(bk=32, g=32)
    with pytest.raises(ValueError, match="group_tokens must be"):
        gemm_timing(_nm_cfg(), 4, 8, 4, group_tokens=5)
    assert nm_group_tokens(_cfg(), np.ones((8, 4), bool)) == 1  # no N:M PEs: one token per k
