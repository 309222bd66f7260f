"""The workload cache: a second identical request reads the captured workload (without torch for a registry model),
anything the workload depends on makes a new entry, and the cache never changes a result."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import hwsim
from hwsim.frontend._load import check_request
from hwsim.frontend._workload_cache import workload_for


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HWSIM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("HWSIM_WORKLOAD_CACHE_MB", raising=False)
    monkeypatch.delenv("HWSIM_WORKLOAD_CACHE_DIR", raising=False)
    return tmp_path / "cache" / "workloads"


def _same(a, b):
    assert [op for op in a] == [op for op in b]
    assert sorted(a.arrays) == sorted(b.arrays)
    for key in a.arrays:
        assert np.array_equal(a.arrays[key], b.arrays[key]), key


def test_registry_model_hit_equals_a_fresh_capture(cache, torch_one_thread):
    req = check_request(prune="block:16x16:0.5", quant="msq:4:0.5")
    first, prepared, status = workload_for("deit_tiny", req)
    assert status == "stored" and prepared is not None and len(list(cache.glob("deit_tiny-*.npz"))) == 1
    again, prepared, status = workload_for("deit_tiny", req)
    assert status == "hit" and prepared is None
    _same(first, again)
    fresh, _, status = workload_for("deit_tiny", req, cache=False)
    assert status == "off"
    _same(first, fresh)
    other, _, status = workload_for("deit_tiny", check_request(prune="block:16x16:0.25", quant="msq:4:0.5"))
    assert status == "stored" and len(list(cache.glob("*.npz"))) == 2
    assert other.kept_macs < first.kept_macs


def test_a_registry_hit_runs_without_torch(tmp_path):
    env = {"HWSIM_CACHE_DIR": str(tmp_path / "c"), "PATH": "/usr/bin:/bin"}
    code = textwrap.dedent("""
        import sys, hwsim
        r = hwsim.simulate("deit_tiny", quant="sp2:4")
        print(r.meta["workload_cache"], "torch" in sys.modules, r.totals["cycles"])
    """)
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            for _ in range(2)]
    (s1, t1, c1), (s2, t2, c2) = (r.stdout.split() for r in runs)
    assert (s1, t1) == ("stored", "True") and (s2, t2) == ("hit", "False") and c1 == c2


def test_a_model_with_data_is_keyed_by_its_weights(cache, torch_one_thread):
    req = check_request(quant="fixed:8", act_bits=8)
    first, _, status = workload_for("digits_mlp", req)
    assert status == "stored"
    again, _, status = workload_for("digits_mlp", req)
    assert status == "hit"
    _same(first, again)


def test_a_model_file_is_keyed_by_its_bytes_and_weights(cache, tmp_path, torch_one_thread):
    src = tmp_path / "m.py"

    def write(seed):
        src.write_text(textwrap.dedent(f"""
            import torch
            torch.manual_seed({seed})
            model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
            example_args = (torch.ones(1, 8),)
        """))

    req = check_request(quant="sp2:4")
    write(0)
    a, _, s1 = workload_for(str(src), req)
    _, _, s2 = workload_for(str(src), req)
    write(1)  # other weights
    b, _, s3 = workload_for(str(src), req)
    assert (s1, s2, s3) == ("stored", "hit", "stored")
    assert not np.array_equal(a.arrays[a.gemms[0].codes], b.arrays[b.gemms[0].codes])


def test_when_the_cache_does_not_apply(cache, torch_one_thread):
    import torch

    model = torch.nn.Sequential(torch.nn.Linear(4, 4))
    _, _, status = workload_for(model, check_request(quant="fixed:8"), example_args=(torch.ones(1, 4),))
    assert status == "module"
    r = hwsim.simulate("digits_mlp", quant="fixed:8", evaluate=True)
    assert r.meta["workload_cache"] == "evaluate"
    assert "workload    captured; not cached: evaluation needs the model itself" in r.summary()
    assert not cache.exists() or not list(cache.glob("digits_mlp-*"))
    with pytest.raises(TypeError, match="cache must be True or False"):
        workload_for("deit_tiny", check_request(), cache="yes")


def test_damaged_entries_are_captured_again_and_the_size_limit_evicts(cache, monkeypatch, torch_one_thread):
    req = check_request(quant="fixed:8")
    workload_for("deit_tiny", req)
    (entry,) = cache.glob("*.npz")
    entry.write_bytes(b"PK\x03\x04 damaged")
    _, _, status = workload_for("deit_tiny", req)
    assert status == "stored" and Workload_loads(entry)
    monkeypatch.setenv("HWSIM_WORKLOAD_CACHE_MB", str(1 / 2**20))  # 1 byte: only the newest entry stays
    workload_for("deit_tiny", check_request(quant="fixed:4"))
    (kept,) = cache.glob("*.npz")
    assert kept != entry
    monkeypatch.setenv("HWSIM_WORKLOAD_CACHE_MB", "lots")
    with pytest.raises(ValueError, match="HWSIM_WORKLOAD_CACHE_MB must be a number"):
        workload_for("deit_tiny", req)


def test_the_workload_cache_folder_can_be_set_on_its_own(cache, tmp_path, monkeypatch, torch_one_thread):
    own = tmp_path / "elsewhere"
    monkeypatch.setenv("HWSIM_WORKLOAD_CACHE_DIR", str(own))
    _, _, status = workload_for("deit_tiny", check_request(quant="fixed:8"))
    assert status == "stored" and len(list(own.glob("deit_tiny-*.npz"))) == 1 and not cache.exists()


def Workload_loads(path) -> bool:
    from hwsim.workload import Workload

    return len(Workload.load(path)) > 0


def test_cli_no_cache_captures_again(cache, tmp_path):
    from hwsim.cli import main

    args = ["simulate", "deit_tiny", "--quant", "fixed:8", "--out"]
    assert main([*args, str(tmp_path / "a")]) == 0
    assert main([*args, str(tmp_path / "b"), "--no-cache"]) == 0
    import json

    meta = [json.loads((tmp_path / d / "report.json").read_text())["meta"]["workload_cache"] for d in "ab"]
    assert meta == ["stored", "off"]


def test_cache_keys_cover_the_cost_data_and_the_rtl():
    """Cached workloads, curves and sweep identities key on `sources_digest`: it reads the cost model's data files
    and the RTL, not only hwsim's Python, so a recalibrated table or a changed PE cannot serve stale results."""
    from hwsim.frontend._workload_cache import source_files

    names = {f.relative_to(root).as_posix() for root, f in source_files()}
    assert {"cost/data/engine_overhead.yaml", "cost/data/cells_45nm.yaml", "gemm.py", "mac.py",
            "frontend/_workload_cache.py"} <= names
