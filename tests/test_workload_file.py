"""Workload storage: bit-packed arrays, quantized weights held as codes (floats derived bit for bit), no copies of
arrays the workload already owns, and the file format's layout checks."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from hwsim._util.packing import pack_bits, packable_bits, unpack_bits
from hwsim.workload import GemmOp, LayerFormat, Workload


@pytest.mark.parametrize("bits", range(1, 8))
@pytest.mark.parametrize("shape", [(0,), (1,), (7,), (3, 5), (2, 3, 11)])
def test_pack_bits_round_trips_every_width_and_shape(bits, shape):
    rng = np.random.default_rng(bits)
    for dtype in (np.uint8, np.uint16, np.uint64):
        a = rng.integers(0, 1 << bits, size=shape).astype(dtype)
        packed = pack_bits(a, bits)
        want = -(-a.size // (8 // bits)) if 8 % bits == 0 else bits * -(-a.size // 8)
        assert packed.dtype == np.uint8 and packed.size == want
        back = unpack_bits(packed, bits, shape, dtype)
        assert back.dtype == dtype and back.shape == shape and np.array_equal(back, a)


def test_pack_bits_booleans_and_what_is_not_packed():
    m = np.random.default_rng(0).random((13, 9)) < 0.5
    assert packable_bits(m) == 1
    assert np.array_equal(unpack_bits(pack_bits(m, 1), 1, m.shape, bool), m)
    assert packable_bits(np.arange(200, dtype=np.uint8)) is None  # 8 bits: nothing to save
    assert packable_bits(np.arange(4, dtype=np.int8)) is None  # signed
    assert packable_bits(np.ones(4, np.float32)) is None
    assert packable_bits(np.arange(16, dtype=np.uint32)) == 4
    with pytest.raises(ValueError, match="cannot hold"):
        unpack_bits(np.zeros(3, np.uint8), 4, (10,), np.uint8)
    with pytest.raises(ValueError, match="cannot hold"):
        unpack_bits(np.zeros(3, np.uint8), 3, (10,), np.uint8)


def _quantized(scheme: str, k=12, n=10, count=1, seed=0):
    """A quantized GEMM op and its arrays, with codes and scales from the real quantizer."""
    import torch

    from hwsim.frontend import quant_info, quantize

    torch.manual_seed(seed)
    lin = torch.nn.Linear(k, n * count, bias=False)
    quantize(lin, scheme)
    q = quant_info(lin)["weight"]
    codes, scale = q.codes.T, q.scale  # (K, N) view
    modes = None if q.row_modes is None else q.row_modes
    if count > 1:
        codes = codes.reshape(k, count, n).transpose(1, 0, 2)
        scale = scale.reshape(count, n)
        modes = None if modes is None else modes.reshape(count, n)
    arrays = {"c": codes.copy(), "s": scale.copy()}
    if modes is not None:
        arrays["r"] = modes.copy()
    weight = lin.weight.detach().numpy().T
    if count > 1:
        weight = weight.reshape(k, count, n).transpose(1, 0, 2)
    op = GemmOp(name="l", target="linear", role="linear", m=4, k=k, n=n, count=count, weight="w", codes="c",
                scale="s", row_modes="r" if modes is not None else None,
                quant=LayerFormat(scheme=q.scheme, w_format=q.w_format, alt_format=q.alt_format))
    return op, arrays, weight


@pytest.mark.parametrize("scheme", ["fixed:8", "fixed:3", "sp2:4", "sp2:7", "msq:4:0.5", "posit:8:1", "posit:5:0",
                                    "posit+fixed:4:1:4:0.5", "posit+fixed:6:1:8", "fixed:16", "posit:16:2",
                                    "fixed:20", "posit:24:1"])  # the last two decode without a value table
@pytest.mark.parametrize("count", [1, 3])
def test_derived_weights_equal_the_quantized_model_bit_for_bit(tmp_path, scheme, count):
    op, arrays, weight = _quantized(scheme, count=count)
    w = Workload([op], arrays)
    assert "w" in w.arrays and w.arrays.is_derived("w") and "w" not in w.arrays.stored
    got = w.arrays["w"]
    assert got.dtype == np.float32 and got.shape == weight.shape
    assert np.array_equal(got.view(np.uint32), np.ascontiguousarray(weight).view(np.uint32))
    assert sorted(w.arrays) == sorted([*arrays, "w"]) and len(w.arrays) == len(arrays) + 1
    back = Workload.load(w.save(tmp_path / "q.npz"))
    assert np.array_equal(back.arrays["w"].view(np.uint32), got.view(np.uint32))
    for key, a in arrays.items():  # codes, scales and modes keep their values and dtypes
        assert back.arrays[key].dtype == a.dtype and np.array_equal(back.arrays[key], a)
    with zipfile.ZipFile(tmp_path / "q.npz") as z:  # no float copy of the weights in the file
        assert "a/w.npy" not in z.namelist()


def test_scale_and_code_checks_name_the_op():
    op, arrays, _ = _quantized("sp2:4")
    for key, value, match in [("s", np.zeros(10), "finite scales > 0"),
                              ("s", np.full(10, np.nan), "finite scales > 0"),
                              ("s", np.ones(9), "float64 per output column"),
                              ("s", np.ones(10, np.float32), "float64 per output column"),
                              ("c", np.full((12, 10), 16, np.uint8), "outside the 4-bit codes")]:
        with pytest.raises(ValueError, match=f"op 'l'.*{match}"):
            Workload([op], {**arrays, key: value})
    with pytest.raises(ValueError, match="code scales but no weight codes"):
        GemmOp(name="x", target="t", role="linear", m=1, k=2, n=2, weight="w", scale="s")


def test_owned_read_only_arrays_are_kept_and_others_copied():
    ro = np.ones((4, 4), np.float32)
    ro.setflags(write=False)
    rw = np.ones((4, 4), np.float32)
    op = GemmOp(name="l", target="t", role="linear", m=1, k=4, n=4, weight="w")
    w = Workload([op], {"w": ro})
    assert w.arrays["w"] is ro
    w2 = Workload([op], {"w": rw})
    assert not np.shares_memory(w2.arrays["w"], rw) and not w2.arrays["w"].flags.writeable
    rw[0, 0] = 5
    assert w2.arrays["w"][0, 0] == 1
    w3 = Workload(w2.ops, w2.arrays)  # another workload's arrays: shared, not copied
    assert w3.arrays["w"] is w2.arrays["w"]


def test_capture_stores_codes_not_floats_and_refuses_stale_codes():
    import torch

    from hwsim.frontend import capture, quantize

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(16, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4))
    quantize(model, "msq:4:0.5")
    x = torch.randn(2, 16)
    w = capture(model, (x,))
    gemm = w.gemms[0]
    assert w.arrays.is_derived(gemm.weight) and w.arrays[gemm.codes].dtype == np.uint8
    assert np.array_equal(w.arrays[gemm.weight], model[0].weight.detach().numpy().T)
    with torch.no_grad():
        model[2].weight[0, 0] += 0.01  # changed after quantize: the codes no longer describe it
    with pytest.raises(ValueError, match="2.weight no longer equals its quantized codes"):
        capture(model, (x,))
    conv = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, groups=1), torch.nn.Conv2d(8, 4, 3, groups=2))
    quantize(conv, "posit+fixed:4:1:4")
    x = torch.randn(1, 3, 8, 8)
    assert len(capture(conv, (x,)).gemms) == 2  # the kernel-layout check passes on unchanged weights
    with torch.no_grad():
        conv[1].weight[3, 1, 2, 2] = -conv[1].weight[3, 1, 2, 2] + 1.0
    with pytest.raises(ValueError, match="1.weight no longer equals its quantized codes"):
        capture(conv, (x,))


def _good_file(tmp_path):
    m = np.array([[1, 0], [0, 1]], bool)
    op = GemmOp(name="l", target="t", role="linear", m=1, k=8, n=8, weight="w", mask="m", block=(4, 4),
                density=0.5)
    return Workload([op], {"w": np.ones((8, 8), np.float32), "m": m}).save(tmp_path / "good.npz")


def _rewrite(src, dst, edit_record=None, drop=(), add=None):
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w") as out:
        for name in z.namelist():
            data = z.read(name)
            if name == "workload.json.npy" and edit_record is not None:
                import io

                record = json.loads(bytes(np.lib.format.read_array(io.BytesIO(data))).decode())
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.frombuffer(json.dumps(edit_record(record)).encode(), np.uint8))
                data = buf.getvalue()
            if name not in drop:
                out.writestr(name, data)
        for name, data in (add or {}).items():
            out.writestr(name, data)
    return dst


def _layout(**changes):
    def edit(record):
        record["arrays"]["m"] = {**record["arrays"]["m"], **changes}
        return record
    return edit


@pytest.mark.parametrize("case", [
    ("bits 9", dict(edit_record=_layout(bits=9)), "bits must be 1..7"),
    ("bits on a float", dict(edit_record=lambda r: {**r, "arrays": {**r["arrays"], "w": {
        **r["arrays"]["w"], "bits": 2}}}), "bits must be 1..7 for a bool or unsigned"),
    ("shape too large", dict(edit_record=_layout(shape=[40, 40])), "packed bytes cannot hold"),
    ("bad dtype", dict(edit_record=_layout(dtype="<c16")), "unsupported dtype"),
    ("record keys", dict(edit_record=_layout(extra=1)), "must have shape, dtype and bits"),
    ("missing member", dict(drop=("a/m.npy",)), "do not match the manifest"),
    ("unlisted member", dict(add={"a/z.npy": b"x"}), "do not match the manifest"),
    ("raw shape differs", dict(edit_record=lambda r: {**r, "arrays": {**r["arrays"], "w": {
        **r["arrays"]["w"], "shape": [4, 16]}}}), "its record says"),
])
def test_damaged_array_layouts_are_refused_naming_the_array(tmp_path, case):
    _, kwargs, match = case
    bad = _rewrite(_good_file(tmp_path), tmp_path / "bad.npz", **kwargs)
    with pytest.raises(ValueError, match=match) as e:
        Workload.load(bad)
    assert "bad.npz" in str(e.value)


def test_format_2_files_still_load(tmp_path):
    op = {"name": "l", "target": "t", "role": "linear", "m": 1, "k": 4, "n": 4, "count": 1, "weight": "w",
          "mask": None, "block": None, "density": 1.0, "prune": None, "requested_density": None,
          "quant": {"scheme": "fixed:8", "w_format": "fixed:8:7", "alt_format": None, "act_format": None,
                    "act_scale": None},
          "codes": "c", "row_modes": None, "act_codes": None, "in_elements": None, "w_elements": None,
          "kind": "gemm"}
    record = {"format_version": 2, "ops": [op], "meta": {"model": "old"}}
    codes = np.arange(16, dtype=np.int64).reshape(4, 4)  # version 2 widened codes to int64
    path = tmp_path / "v2.npz"
    np.savez_compressed(path, **{"workload.json": np.frombuffer(json.dumps(record).encode(), np.uint8),
                                 "a/w": np.ones((4, 4), np.float32), "a/c": codes})
    w = Workload.load(path)
    assert w.meta["model"] == "old" and np.array_equal(w.arrays["c"], codes)


def test_saved_file_is_a_plain_npz_and_packs_masks(tmp_path):
    path = _good_file(tmp_path)
    with np.load(path) as data:  # numpy reads it: every member is an .npy
        assert data["a/m"].dtype == np.uint8 and data["a/m"].size == 1  # 4 mask bits in one byte
        assert data["a/w"].shape == (8, 8)
