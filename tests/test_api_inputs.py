"""Public constructors and entry points refuse bad arguments with ValueError/TypeError naming the parameter."""

from __future__ import annotations

import pytest

from hwsim import simulate
from hwsim.arch import AcceleratorConfig, ArrayConfig
from hwsim.workload import GemmOp, LutLayerOp, UnmappedOp, VectorOp, Workload


def _gemm(**kw):
    base = dict(name="l", target="linear", role="linear", m=1, k=4, n=4)
    return GemmOp(**{**base, **kw})


@pytest.mark.parametrize("build,error,match", [
    (lambda: AcceleratorConfig(array="big"), TypeError, "array must be a ArrayConfig"),
    (lambda: AcceleratorConfig(memory={}), TypeError, "memory must be a MemoryConfig"),
    (lambda: ArrayConfig(mac="sp2"), TypeError, "mac must be a MacConfig"),
    (lambda: _gemm(m=-1), ValueError, "m must be >= 1"),
    (lambda: _gemm(k=0), ValueError, "k must be >= 1"),
    (lambda: _gemm(n=2.5), TypeError, "n must be an integer"),
    (lambda: _gemm(count=True), TypeError, "count must be an integer"),
    (lambda: _gemm(role="conv3d"), ValueError, "role must be one of"),
    (lambda: _gemm(density=2.0), ValueError, "density must lie in"),
    (lambda: _gemm(density="half"), TypeError, "density must be a number"),
    (lambda: _gemm(block=(8,)), TypeError, "block must be a"),
    (lambda: _gemm(block=(8, 0)), ValueError, "block must be >= 1"),
    (lambda: _gemm(name=""), TypeError, "name must be a non-empty string"),
    (lambda: VectorOp(name="v", target="add", op="add", elements=-3), ValueError, "elements must be >= 0"),
    (lambda: UnmappedOp(name="u", target="x", elements=1.5), TypeError, "elements must be an integer"),
    (lambda: LutLayerOp(name="l", target="lut", mode="exact", neurons=1, fan_in=1, in_bits=1, out_bits=1, luts=0,
                        lut6=0, ffs=0, carry4=0, depth=0, lutcost=0.0), ValueError, "mode must be full or observed"),
    (lambda: Workload(5), TypeError, "ops must be an iterable"),
])
def test_constructors_refuse(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_entry_points_refuse():
    from hwsim.prune import prune
    from hwsim.quant import quantize

    with pytest.raises(TypeError, match="model must be a torch.nn.Module, not str"):
        prune("notamodel", "block:8x8:0.5")
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, not str"):
        quantize("notamodel", "fixed:8")
    with pytest.raises(ValueError, match="has no ops"):
        simulate(Workload([]))
    with pytest.raises(ValueError, match="every op of the workload is unmapped"):
        simulate(Workload([UnmappedOp(name="u", target="aten.foo", elements=4)]), allow_unmapped=True)


# ------------------------------------------------------------------------------------- workload files


def _saved(tmp_path):
    import numpy as np

    w = Workload([_gemm(k=8, n=8, weight="w", mask="m", block=(4, 4), density=0.5)],
                 {"w": np.ones((8, 8), np.float32), "m": np.array([[1, 0], [0, 1]], bool)}, {"model": "x"})
    return w, w.save(tmp_path / "good.npz")


def _with_manifest(tmp_path, record, arrays):
    import json

    import numpy as np

    path = tmp_path / "edited.npz"
    np.savez(path, **{"workload.json": np.frombuffer(json.dumps(record).encode(), np.uint8)},
             **{f"a/{k}": v for k, v in arrays.items()})
    return path


def _edits():
    import numpy as np

    w8, m2 = np.ones((8, 8), np.float32), np.array([[1, 0], [0, 1]], bool)

    def op(**kw):
        return lambda r: {**r, "ops": [{**r["ops"][0], **kw}]}

    keep = {"w": w8, "m": m2}
    return [
        ("manifest a list", lambda r: [1], keep, "manifest is a list"),
        ("ops not a list", lambda r: {**r, "ops": 5}, keep, "ops must be a list"),
        ("zero ops", lambda r: {**r, "ops": []}, keep, "has no ops"),
        ("op a string", lambda r: {**r, "ops": ["op"]}, keep, "op 0 is a str"),
        ("unknown kind", op(kind="fft"), keep, "unknown kind 'fft'"),
        ("NaN density", op(density=float("nan")), keep, "density must lie in"),
        ("m a string", op(m="x"), keep, "m must be an integer"),
        ("meta a list", lambda r: {**r, "meta": [1]}, keep, "meta must be a JSON object"),
        ("old version", lambda r: {**r, "format_version": 1}, keep, "has workload format 1"),
        ("mask shape", lambda r: r, {"w": w8, "m": np.ones((3, 3), bool)}, r"mask array 'm' has shape \(3, 3\)"),
        ("weight shape", lambda r: r, {"w": np.ones((5, 8), np.float32), "m": m2}, "weight array 'w' has shape"),
        ("weight NaN", lambda r: r, {"w": np.full((8, 8), np.nan, np.float32), "m": m2}, "non-finite"),
        ("array missing", lambda r: r, {"w": w8}, "refers to array 'm'"),
    ]


@pytest.mark.parametrize("edit", _edits(), ids=[e[0] for e in _edits()])
def test_damaged_workload_files_are_refused_naming_file_and_problem(tmp_path, edit):
    import json

    _, name, arrays, match = edit
    w, _ = _saved(tmp_path)
    path = _with_manifest(tmp_path, name(json.loads(w.to_json())), arrays)
    with pytest.raises(ValueError, match=match) as e:
        Workload.load(path)
    assert "edited.npz" in str(e.value)


@pytest.mark.parametrize("damage", ["truncated", "empty", "text"])
def test_unreadable_workload_files(tmp_path, damage):
    _, good = _saved(tmp_path)
    raw = good.read_bytes()
    bad = tmp_path / "bad.npz"
    bad.write_bytes({"truncated": raw[: len(raw) // 2], "empty": b"", "text": b"hello"}[damage])
    with pytest.raises(ValueError, match=r"'.*bad.npz' is not a hwsim workload file"):
        Workload.load(bad)


def test_good_workload_round_trips(tmp_path):
    w, path = _saved(tmp_path)
    back = Workload.load(path)
    assert back.ops == w.ops and (back.arrays["m"] == w.arrays["m"]).all()
