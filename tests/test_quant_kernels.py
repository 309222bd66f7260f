"""The fused row kernels of quantization (hwsim.formats._rows / _kernels) against the whole-array numpy reference
they replace, bit for bit: codes, float32 weights, row scales, MSQ row errors and the sums in numpy's order.

Every reference below is the numpy code the kernels replaced (`_encode_rows` is still the fallback path of
formats without a kernel), run on the same random tensors: rows with zeros, all-zero rows, exact rounding ties,
huge and tiny magnitudes, C and F (transposed parameter) layouts, float32 and float64 weights.
"""

from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest
import torch

from hwsim.formats import SP2, Fixed, Posit, msq_assign, msq_row_errors
from hwsim.formats._kernels import mean_square_diff, row_peaks, row_square_sums, thresholds
from hwsim.formats._rows import row_square_errors, store_rows
from hwsim.formats._sp2 import _sp2_table
from hwsim.frontend._quant import _encode_rows

SP2_FORMATS = [SP2(b, m1=m1) for b in range(2, 12) for m1 in range(max(1, b - 6), min(5, b - 1) + 1)]
FIXED_FORMATS = [Fixed(b, b - 1) for b in range(2, 17)] + [Fixed(8, 0), Fixed(8, 3, signed=False), Fixed(20, 10),
                                                            Fixed(24, 23), Fixed(32, 31), Fixed(12, -3)]
POSIT_FORMATS = [Posit(n, es) for n in range(2, 9) for es in range(3)] + [Posit(10, 1), Posit(12, 2), Posit(16, 2),
                                                                         Posit(16, 0), Posit(24, 1), Posit(32, 2)]
FORMATS = SP2_FORMATS + FIXED_FORMATS + POSIT_FORMATS


def _ids(fmts):
    return [f.name + ("u" if isinstance(f, Fixed) and not f.signed else "") for f in fmts]


def _rounding_points(fmt) -> np.ndarray:
    """Values (before scaling) exactly on the format's rounding boundaries and one float either side."""
    if isinstance(fmt, Fixed):
        ints = np.linspace(fmt.int_min, fmt.int_max, min(1 << fmt.bits, 512)).round()
        points = np.ldexp(ints + 0.5, -fmt.frac)
    elif isinstance(fmt, SP2):
        levels = _sp2_table(fmt)[0]
        points = (levels[:-1] + levels[1:]) / 2
    else:  # posit: the (n+1)-bit posits between neighbouring codes
        wide = Posit(fmt.n + 1, fmt.es) if fmt.n < 32 else fmt
        codes = np.arange(1, 1 << min(fmt.n + 1, 12), 2)
        points = wide.decode(codes)
        points = np.concatenate([points, -points])
    points = points[np.isfinite(points)]
    return np.concatenate([points, np.nextafter(points, -np.inf), np.nextafter(points, np.inf)])


def _weights(fmt, rng, out=37, k=29) -> tuple[np.ndarray, np.ndarray]:
    """(float32 rows, float64 scales): lognormal magnitudes, zeros, an all-zero row, rows of exact ties (scale
    1), a huge and a tiny row."""
    w = (rng.standard_normal((out, k)) * np.exp(rng.standard_normal((out, 1)) * 3)).astype(np.float32)
    w[rng.random((out, k)) < 0.1] = 0.0
    w[1] = 0.0
    w[2] *= np.float32(1e30)
    w[3] *= np.float32(1e-30)
    ties = _rounding_points(fmt).astype(np.float32)
    ties = ties[np.isfinite(ties)]
    tie_rows = range(4, 10)
    for r in tie_rows:
        w[r] = rng.choice(ties, k)
    scale = fmt.row_scales(w)
    scale[list(tie_rows)] = 1.0  # w / s is then the exact rounding point
    scale[10] = 3.0  # a scale that is no power of two, and a tiny one
    scale[11] = 1e-300
    return w, scale


def _reference(fmt, rows, scale):
    with np.errstate(over="ignore"):  # the tiny scale: w / s overflows to inf, which saturates
        return _encode_rows(fmt, rows.astype(np.float64), scale)


def _check_store(fmt, rows, scale, select=None):
    codes = np.zeros(rows.shape, dtype=fmt.encode(0.0).dtype)
    values = np.zeros(rows.shape, dtype=np.float32)
    assert store_rows(fmt, rows, scale, codes, values, select)
    part = slice(None) if select is None else select
    ref_codes, ref_values = _reference(fmt, rows[part], scale[part])
    np.testing.assert_array_equal(codes[part], ref_codes)
    np.testing.assert_array_equal(values[part].view(np.int32), ref_values.view(np.int32))  # +0 vs -0, NaN bits
    if select is not None:  # rows not selected stay untouched
        assert not codes[~select].any() and not values[~select].any()


@pytest.mark.parametrize("fmt", FORMATS, ids=_ids(FORMATS))
def test_store_rows_matches_the_whole_array_loop_bit_for_bit(fmt):
    rng = np.random.default_rng(zlib.crc32(fmt.name.encode()))
    w, scale = _weights(fmt, rng)
    _check_store(fmt, w, scale)  # C order
    _check_store(fmt, np.ascontiguousarray(w.T).T, scale)  # a transposed parameter's rows: F order
    _check_store(fmt, w.astype(np.float64), scale)  # float64 weights (fine-tuning's rows)
    _check_store(fmt, w, scale, select=rng.random(w.shape[0]) < 0.5)  # one format of a mixed scheme


@pytest.mark.parametrize("fmt", FORMATS, ids=_ids(FORMATS))
def test_dequantizing_the_codes_gives_the_stored_float32_weights(fmt):
    from hwsim.formats._rows import dequantize_rows

    rng = np.random.default_rng(zlib.crc32(fmt.name.encode()) + 1)
    w, scale = _weights(fmt, rng)
    with np.errstate(over="ignore"):
        for rows in (w, np.ascontiguousarray(w.T).T):  # C order, and a transposed parameter's F order
            codes = np.zeros_like(rows, dtype=fmt.encode(0.0).dtype)  # in the rows' layout, as quantize does
            values = np.zeros_like(rows, dtype=np.float32)
            if not store_rows(fmt, rows, scale, codes, values):
                codes, values = _encode_rows(fmt, rows.astype(np.float64), scale)
            got = dequantize_rows({0: fmt}, codes, scale)
            np.testing.assert_array_equal(got.view(np.int32), values.view(np.int32))
            assert got.flags.f_contiguous == (not rows.flags.c_contiguous)
            if rows.shape[0] > 1:  # a mixed scheme's rows: each in the format of its mode, the others untouched
                modes = np.arange(rows.shape[0]) % 2
                other = SP2(3) if fmt.bits > 3 else Fixed(3, 2)
                mixed = dequantize_rows({1: fmt, 0: other}, codes & ((1 << other.bits) - 1) * (modes[:, None] == 0)
                                        | codes * (modes[:, None] == 1), scale, modes)
                np.testing.assert_array_equal(mixed[1::2].view(np.int32), values[1::2].view(np.int32))
                expect = (other.decode(codes[::2] & ((1 << other.bits) - 1)) * scale[::2, None]).astype(np.float32)
                np.testing.assert_array_equal(mixed[::2].view(np.int32), expect.view(np.int32))


@pytest.mark.parametrize("fmt", [SP2(4), SP2(11), Fixed(8, 7), Fixed(32, 31), Posit(8, 1), Posit(24, 1)],
                         ids=lambda f: f.name)
def test_store_rows_threads_and_wide_rows(fmt):
    # large enough to be split over threads; the split must not change anything
    rng = np.random.default_rng(1)
    w = (rng.standard_normal((600, 700)) * 0.02).astype(np.float32)
    _check_store(fmt, w, fmt.row_scales(w))


@pytest.mark.parametrize("fmt", [SP2(4), Fixed(8, 7)], ids=lambda f: f.name)
def test_store_rows_nan_raises_like_encode(fmt):
    w = np.ones((3, 4), dtype=np.float32)
    w[1, 2] = np.nan
    codes, values = np.zeros(w.shape, np.uint8), np.zeros(w.shape, np.float32)
    for run in (lambda: store_rows(fmt, w, np.ones(3), codes, values), lambda: _reference(fmt, w, np.ones(3))):
        with pytest.raises(ValueError, match=f"NaN has no code in {fmt.name}"):
            run()
    with pytest.raises(ValueError, match="NaN has no code"):  # a NaN scale: the stored value re-encodes NaN
        store_rows(fmt, np.ones((2, 2), np.float32), np.array([1.0, np.inf]), codes[:2, :2], values[:2, :2])


def test_store_rows_posit_nan_is_nar_and_other_formats_fall_back():
    fmt = Posit(8, 1)
    w = np.array([[1.0, np.nan, np.inf, -2.0]], dtype=np.float32)
    _check_store(fmt, w, np.ones(1))

    class Halves(Fixed):  # a subclass may encode differently: no kernel, the caller's reference path
        pass

    assert not store_rows(Halves(4, 1), w, np.ones(1), np.zeros(w.shape, np.uint8), np.zeros(w.shape, np.float32))


@pytest.mark.parametrize("fmt", SP2_FORMATS, ids=_ids(SP2_FORMATS))
def test_sp2_encode_matches_the_binary_search_it_replaced(fmt):
    levels, level_codes, tie_up = _sp2_table(fmt)
    mids = (levels[:-1] + levels[1:]) / 2
    x = np.concatenate([_rounding_points(fmt), np.random.default_rng(0).uniform(-1.5, 1.5, 5000),
                        [0.0, -0.0, np.inf, -np.inf, 5e-324, -5e-324]])
    lo = np.searchsorted(mids, x, side="left")  # number of midpoints strictly below
    hit = lo < mids.size
    lo[hit] += (mids[lo[hit]] == x[hit]) & tie_up[lo[hit]]
    np.testing.assert_array_equal(fmt.encode(x), level_codes[lo])
    assert thresholds(levels, tie_up).size in (16, 64) or thresholds(levels, tie_up).size % 16 == 0


# ---------------------------------------------------------------------------------------- scales, msq, sums


def _layouts(w):
    return [w, np.ascontiguousarray(w.T).T, w.astype(np.float64), np.ascontiguousarray(w.T).T.astype(np.float64)]


def _ref_row_scales(fmt, rows):
    r64 = np.asarray(rows, dtype=np.float64)  # what row_scales used to convert to, layout kept
    if isinstance(fmt, Posit):
        rms = np.sqrt((r64**2).mean(axis=1))
        return np.ldexp(1.0, np.round(np.log2(np.where(rms > 0, rms, 1.0))).astype(np.int64))
    s = np.abs(r64).max(axis=1) / fmt.largest
    return np.where(s > 0, s, 1.0)


@pytest.mark.parametrize("fmt", [SP2(4), Fixed(8, 7), Posit(8, 1), Posit(16, 2)], ids=lambda f: f.name)
def test_row_scales_match_the_float64_expressions(fmt):
    rng = np.random.default_rng(2)
    w = (rng.standard_normal((41, 300)) * np.exp(rng.standard_normal((41, 1)) * 4)).astype(np.float32)
    w[0] = 0.0
    w[1] = -0.0
    for rows in [*_layouts(w), w[:1], np.ascontiguousarray(w[:1].T).T]:
        np.testing.assert_array_equal(fmt.row_scales(rows), _ref_row_scales(fmt, rows))


def _ref_msq_row_errors(w, bits):
    w = np.asarray(w).astype(np.float64, copy=False)
    errors = []
    for fmt in (SP2(bits), Fixed(bits, bits - 1)):
        s = np.abs(w).max(axis=1) / fmt.levels().max()
        scale = np.where(s > 0, s, 1.0)[:, None]
        q = fmt.quantize(w / scale) * scale
        errors.append(((q - w) ** 2).mean(axis=1))
    return errors[0], errors[1]


def _ref_msq_assign(w, fraction, bits):
    w = np.asarray(w).astype(np.float64, copy=False)
    mse_sp2, mse_fixed = _ref_msq_row_errors(w, bits)
    floor = np.maximum(1e-30 * (w**2).mean(axis=1), 1e-300)
    advantage = np.log(mse_fixed + floor) - np.log(mse_sp2 + floor)
    mask = np.zeros(w.shape[0], dtype=bool)
    mask[np.argsort(-advantage, kind="stable")[: round(fraction * w.shape[0])]] = True
    return mask


@pytest.mark.parametrize("bits", [2, 3, 4, 6, 8, 11])
def test_msq_row_errors_and_assignment_match_the_numpy_reference(bits):
    rng = np.random.default_rng(bits)
    w = (rng.laplace(size=(50, 130)) * rng.uniform(0.01, 2, (50, 1))).astype(np.float32)
    w[3] = 0.0
    w[7] = w[8]  # equal rows: equal errors, the lower row first
    for rows in _layouts(w):
        for got, want in zip(msq_row_errors(rows, bits), _ref_msq_row_errors(rows, bits), strict=True):
            np.testing.assert_array_equal(got, want)
        for fraction in (0.0, 0.3, 0.5, 1.0):
            np.testing.assert_array_equal(msq_assign(rows, fraction, bits), _ref_msq_assign(rows, fraction, bits))


def test_row_square_errors_take_sp2_or_fixed():
    with pytest.raises(TypeError, match="SP2 or Fixed"):
        row_square_errors(Posit(8, 1), np.ones((2, 2)), np.ones(2))


@pytest.mark.parametrize(("out", "k"), [(1, 1), (1, 7), (3, 8), (5, 127), (9, 129), (2, 1000), (40, 3001),
                                        (300, 900), (1, 300_001)])
def test_sums_in_numpy_order(out, k):
    rng = np.random.default_rng(out * k)
    a = (rng.standard_normal((out, k)) * np.exp(rng.standard_normal((out, k)) * 3)).astype(np.float32)
    b = a + (rng.standard_normal((out, k)) * 1e-2).astype(np.float32)
    for x in _layouts(a):
        np.testing.assert_array_equal(row_square_sums(x), (x.astype(np.float64) ** 2).sum(axis=1))
        np.testing.assert_array_equal(row_peaks(x), np.abs(x.astype(np.float64)).max(axis=1))
    assert mean_square_diff(a, b) == float(((a.astype(np.float64) - b) ** 2).mean())
    # F-ordered arrays (a transposed parameter's rows) reduce in memory order: the C order of their transpose
    assert mean_square_diff(a, b) == float(((a.T.astype(np.float64) - b.T) ** 2).mean())


def test_mean_square_diff_splits_where_numpy_does():
    # sizes around numpy's pairwise block (128) and its unroll (8), and large ones split over threads
    rng = np.random.default_rng(5)
    for n in itertools.chain(range(1, 300, 7), [8191, 8192, 2**17 + 3, 2**21 + 5]):
        a = rng.standard_normal((1, n)).astype(np.float32)
        b = np.zeros((1, n), np.float32)
        assert mean_square_diff(a, b) == float(((a.astype(np.float64) - b) ** 2).mean()), n
    assert mean_square_diff(np.zeros((0, 3), np.float32), np.zeros((0, 3))) == 0.0


# ------------------------------------------------------------------------------------------- quantize, whole


def _ref_quantize_rows(spec, rows, modes):
    """quantize's rows before the kernels: float64 rows, whole-array rounds, the C-ordered subsets of mixed rows."""
    fmt, alt = spec.formats()
    if modes is None:
        scale = _ref_row_scales(fmt, rows)
        return (*_reference(fmt, rows, scale), scale)
    codes = np.zeros(rows.shape, dtype=np.result_type(fmt.encode(0.0).dtype, alt.encode(0.0).dtype))
    w32 = np.zeros(rows.shape, dtype=np.float32)
    scale = np.ones(rows.shape[0])
    for f, sel in ((fmt, modes), (alt, ~modes)):
        if sel.any():
            r = rows[sel]
            s = _ref_row_scales(f, r)
            codes[sel], w32[sel] = _reference(f, r, s)
            scale[sel] = s
    return codes, w32, scale


def _quant_net():
    from torch import nn
    from transformers.pytorch_utils import Conv1D

    torch.manual_seed(0)
    model = nn.ModuleDict({"fc": nn.Linear(29, 37), "conv": nn.Conv2d(6, 10, 3, groups=2), "c": Conv1D(23, 37),
                           "big": nn.Linear(300, 700)})
    with torch.no_grad():
        model["fc"].weight[2] = 0.0
        model["c"].weight[:, 5] = 0.0  # an all-zero output row of the transposed layer
        model["big"].weight.mul_(torch.exp(torch.randn(700, 1) * 2))
    return model


@pytest.mark.parametrize("scheme", ["fixed:2", "fixed:8", "fixed:16", "sp2:4", "sp2:11", "msq:4:0.5", "msq:7:0.3",
                                    "posit:8:1", "posit:16:2", "posit:24:1", "posit+fixed:4:1:4",
                                    "posit+fixed:8:0:8:0.25"])
def test_quantize_matches_the_reference_pipeline(scheme):
    from hwsim.frontend import parse_quant, quant_info, quantize
    from hwsim.frontend._prune import select_targets
    from hwsim.frontend._quant import _posit_rows

    model = _quant_net()
    spec = parse_quant(scheme)
    expected = {}
    for t in select_targets(model, None, None):
        rows = t.to_rows(t.weight.detach().double().numpy())  # the float64 copy quantize used to take
        modes = None
        if spec.scheme == "msq":
            modes = _ref_msq_assign(rows, spec.fraction, spec.bits)
        elif spec.mixed:
            modes = _posit_rows(spec, rows, None, "gain")
        codes, w32, scale = _ref_quantize_rows(spec, rows, modes)
        expected[t.name] = (t.from_rows(codes), t.from_rows(w32), scale, modes,
                            float(((w32.astype(np.float64) - rows) ** 2).mean()))
    df = quantize(model, spec).set_index("layer")
    params = dict(model.named_parameters())
    for name, (codes, w32, scale, modes, mse) in expected.items():
        q = quant_info(model)[name]
        np.testing.assert_array_equal(q.codes, codes)
        np.testing.assert_array_equal(q.scale, scale)
        np.testing.assert_array_equal(q.row_modes, None if modes is None else modes.astype(np.uint8))
        np.testing.assert_array_equal(params[name].detach().numpy().view(np.int32), w32.view(np.int32))
        assert df.loc[name, "mse"] == mse, name
