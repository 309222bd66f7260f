"""Fuzzing what users type and write: spec strings, config mappings and workload manifests either give a valid
result or a clean ValueError/TypeError naming the problem, never another exception."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from hwsim.arch import config_from_dict
from hwsim.formats import parse_format, parse_quant
from hwsim.prune import parse_prune
from hwsim.workload import Workload

PIECES = st.sampled_from(["block", "nm", "unstructured", "channel", "fixed", "sp2", "msq", "posit", "posit+fixed",
                          "ufixed", "32x32", "8x", "x8", "0", "1", "-1", "0.5", "1e3", "nan", "inf", "pad", "", " ",
                          "4", "16", "99", "1e400", "0x10", "１"])
SPECS = st.one_of(st.lists(PIECES, min_size=1, max_size=5).map(":".join), st.text(max_size=20))


def _clean(fn, *args) -> None:
    try:
        fn(*args)
    except (ValueError, TypeError) as e:
        assert str(e), f"{fn.__name__}{args}: an empty error message"


@given(SPECS)
def test_spec_strings(spec):
    for fn in (parse_prune, parse_quant, parse_format):
        _clean(fn, spec)


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**12), st.floats(allow_nan=True),
                    st.text(max_size=8), st.lists(st.integers(0, 4), max_size=3))
KEYS = st.sampled_from(["name", "clock_mhz", "technology_nm", "array", "memory", "vector", "rows", "cols",
                        "block_k", "mac", "kind", "params", "w_bits", "x_bits", "weight_sram_kb", "dram_gbps",
                        "lanes", "cycles_per_element", "softmax", "bogus"])
CONFIGS = st.recursive(SCALARS, lambda inner: st.dictionaries(KEYS, inner, max_size=4), max_leaves=12)


@given(CONFIGS)
def test_config_mappings(data):
    _clean(config_from_dict, data)


OP_FIELDS = st.fixed_dictionaries({}, optional={
    "kind": st.sampled_from(["gemm", "vector", "unmapped", "lut", "fft", 3]),
    "name": st.one_of(st.text(max_size=4), st.integers()),
    "target": st.text(max_size=4), "role": st.sampled_from(["linear", "conv", "attn_qk", "x"]),
    "m": SCALARS, "k": SCALARS, "n": SCALARS, "count": SCALARS, "density": SCALARS, "elements": SCALARS,
    "weight": st.sampled_from(["w", "missing", None]), "mask": st.sampled_from(["m", None]),
    "block": st.one_of(st.none(), st.lists(st.integers(-1, 9), max_size=3), st.text(max_size=3)),
    "quant": st.one_of(st.none(), st.dictionaries(st.sampled_from(["scheme", "w_format", "x"]), SCALARS, max_size=2)),
    "op": st.text(max_size=6),
})


@given(st.one_of(st.lists(st.one_of(OP_FIELDS, SCALARS), max_size=3), SCALARS), st.one_of(st.just(2), SCALARS),
       st.one_of(st.just({}), SCALARS), st.booleans())
def test_workload_manifests(tmp_path_factory, ops, version, meta, as_object):
    path = tmp_path_factory.mktemp("fuzz") / "w.npz"
    record = {"format_version": version, "ops": ops, "meta": meta} if as_object else ops
    np.savez(path, **{"workload.json": np.frombuffer(json.dumps(record).encode(), np.uint8),
                      "a/w": np.ones((4, 4), np.float32), "a/m": np.ones((1, 1), bool)})
    _clean(Workload.load, path)
