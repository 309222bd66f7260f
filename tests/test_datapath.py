"""The format travels with the weights: format records, which MAC runs which format, and the MAC a workload gets."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hwsim.arch import AcceleratorConfig, MacConfig
from hwsim.formats import QUANT_SCHEMES, SCHEMES, Fixed, Posit, parse_format, parse_quant
from hwsim.mac import MAC_KINDS, MAC_UNITS, act_to_port_codes, make_mac, to_port_codes, weight_mode
from hwsim.sim import layer_datapath, mac_for_workload
from hwsim.workload import GemmOp, LayerFormat, Workload

# (MAC kind, params, weight format spec) that must run, and the value relation checked code by code
RUNS = [
    ("fixed", dict(w_bits=8), "fixed:8:7"), ("fixed", dict(w_bits=8), "fixed:4:3"),
    ("sp2", dict(w_bits=4), "sp2:4"), ("msq", dict(w_bits=4), "sp2:4"), ("msq", dict(w_bits=4), "fixed:4:3"),
    ("msq", dict(w_bits=6), "fixed:3:2"), ("posit_fixp", dict(n=4, es=1), "posit:4:1"),
    ("posit_fixp", dict(n=8, es=1), "posit:5:1"), ("posit_quire", dict(n=8, es=2), "posit:6:2"),
    ("posit_or_fixed", dict(n=4, es=1, fixed_bits=4), "posit:4:1"),
    ("posit_or_fixed", dict(n=4, es=1, fixed_bits=8), "fixed:6:5"),
]
REFUSED = [
    ("fixed", dict(w_bits=4), "fixed:8:7"), ("fixed", dict(w_bits=8), "sp2:4"), ("sp2", dict(w_bits=4), "sp2:6"),
    ("sp2", dict(w_bits=4), "fixed:4:3"), ("msq", dict(w_bits=4), "posit:4:1"),
    ("posit_fixp", dict(n=4, es=1), "posit:4:2"), ("posit_fixp", dict(n=4, es=1), "posit:6:1"),
    ("posit_fixp", dict(n=8, es=1), "fixed:8:7"), ("posit_or_fixed", dict(n=4, es=1, fixed_bits=4), "sp2:4"),
    ("posit_or_fixed", dict(n=4, es=1, fixed_bits=4), "fixed:6:5"), ("fixed", dict(w_bits=8), "ufixed:4:4"),
]


def _port_format(unit, mode):
    if unit.has_mode and mode == 0:
        return unit.fixed_format
    return unit.w_format


@pytest.mark.parametrize(("kind", "params", "spec"), RUNS)
def test_port_codes_keep_every_value_exactly(kind, params, spec):
    unit, fmt = make_mac(kind, **params), parse_format(spec)
    codes = np.arange(1 << fmt.bits)
    port, mode, shift = to_port_codes(unit, fmt, codes)
    assert mode == weight_mode(unit, fmt)
    assert port.min() >= 0 and port.max() < 1 << unit.w_bits
    pfmt = _port_format(unit, mode)
    got = pfmt.decode(port & ((1 << pfmt.bits) - 1))
    want = fmt.decode(codes) * 2.0**shift
    both_nan = np.isnan(got) & np.isnan(want)  # a posit NaR stays NaR
    np.testing.assert_array_equal(got[~both_nan], want[~both_nan])
    assert np.array_equal(np.isnan(got), np.isnan(want))


@pytest.mark.parametrize(("kind", "params", "spec"), REFUSED)
def test_formats_a_mac_cannot_read_are_refused(kind, params, spec):
    unit, fmt = make_mac(kind, **params), parse_format(spec)
    assert weight_mode(unit, fmt) is None
    with pytest.raises(ValueError, match=f"the {kind} MAC .* cannot run {spec}"):
        to_port_codes(unit, fmt, [0])


def test_every_mac_kind_says_what_it_runs_and_every_scheme_has_a_mac_that_runs_it():
    assert all("reads" in vars(MAC_UNITS.get(kind)) for kind in MAC_KINDS)  # its own rule, not inherited
    for name in QUANT_SCHEMES:
        kind = SCHEMES.get(name)
        values = {"bits": 4, "n": 4, "es": 1, "fraction": 0.5}
        spec = parse_quant(":".join([name] + [str(values[p]) for p, _ in kind.params]))
        mac_kind, params = spec.default_mac()
        unit = make_mac(mac_kind, **params, x_bits=8)
        modes = [weight_mode(unit, f) for f in spec.formats() if f is not None]
        assert None not in modes and len(set(modes)) == len(modes), name  # mixed rows use distinct modes


@pytest.mark.parametrize(("fmt", "bits_needed"), [(Fixed(8, 7), 8), (Fixed(8, 8, signed=False), 9),
                                                  (Fixed(4, 0), 4)])
def test_activation_codes_fit_a_port_of_the_stated_width(fmt, bits_needed):
    ok, narrow = make_mac("fixed", w_bits=8, x_bits=bits_needed), make_mac("fixed", w_bits=8, x_bits=bits_needed - 1)
    codes = np.arange(1 << fmt.bits)
    port, shift = act_to_port_codes(ok, fmt, codes)
    np.testing.assert_array_equal(ok.x_format.decode(port), fmt.decode(codes) * 2.0**shift)
    with pytest.raises(ValueError, match="cannot take"):
        act_to_port_codes(narrow, fmt, codes)
    with pytest.raises(ValueError, match="cannot take"):
        act_to_port_codes(make_mac("posit_quire", n=8, es=2), fmt, codes)


def test_layer_format_is_validated():
    LayerFormat(scheme="msq:4:0.5", w_format="sp2:4", alt_format="fixed:4:3")
    with pytest.raises(ValueError, match="alt_format None is not the alt format"):
        LayerFormat(scheme="msq:4:0.5", w_format="sp2:4")
    with pytest.raises(ValueError, match="w_format 'sp2:5' is not the w format of sp2:4"):
        LayerFormat(scheme="sp2:4", w_format="sp2:5")
    with pytest.raises(ValueError, match="unknown quantization scheme"):
        LayerFormat(scheme="msq4", w_format="sp2:4")
    with pytest.raises(ValueError, match="act_format must be fixed point"):
        LayerFormat(scheme="sp2:4", w_format="sp2:4", act_format="posit:8:2", act_scale=1.0)
    with pytest.raises(ValueError, match="act_scale must be a finite number > 0"):
        LayerFormat(scheme="sp2:4", w_format="sp2:4", act_format="fixed:8:7", act_scale=float("nan"))
    with pytest.raises(ValueError, match="codes but no quant record"):
        GemmOp(name="l", target="t", role="linear", m=1, k=2, n=2, weight="w", codes="c")


def _workload(scheme: str | None, act: str | None = None) -> Workload:
    quant = None
    if scheme is not None:
        spec = parse_quant(scheme)
        main, alt = spec.formats()
        quant = LayerFormat(scheme=str(spec), w_format=main.name, alt_format=None if alt is None else alt.name,
                            act_format=act,
                            act_scale=None if act is None else 0.5)
    ops = [GemmOp(name="fc", target="aten.linear", role="linear", m=4, k=64, n=32, weight="w", quant=quant)]
    return Workload(ops, {"w": np.zeros((64, 32), np.float32)})


@pytest.mark.parametrize(("scheme", "act", "kind", "params"), [
    ("fixed:8", None, "fixed", {"w_bits": 8, "x_bits": 8}),
    ("sp2:4", "fixed:8:7", "sp2", {"w_bits": 4, "x_bits": 8}),
    ("msq:4:0.5", "ufixed:8:8", "msq", {"w_bits": 4, "x_bits": 9}),
    ("posit:4:1", None, "posit_fixp", {"n": 4, "es": 1, "x_bits": 8}),
    ("posit+fixed:4:1:4", "fixed:6:5", "posit_or_fixed", {"n": 4, "es": 1, "fixed_bits": 4, "x_bits": 6}),
])
def test_the_default_accelerator_gets_the_mac_the_scheme_needs(scheme, act, kind, params):
    base = AcceleratorConfig()
    cfg, note = mac_for_workload(_workload(scheme, act), base)
    assert cfg.array.mac.kind == kind and note.startswith(f"MAC {kind}")
    assert {k: cfg.array.mac.params[k] for k in params} == params
    assert dataclasses.replace(cfg, array=base.array) == base  # nothing else changed
    d = layer_datapath(_workload(scheme, act).gemms[0], cfg)
    assert d.scheme == str(parse_quant(scheme))


def test_an_unquantized_workload_keeps_the_mac_and_runs_at_its_widths():
    base = AcceleratorConfig()
    cfg, note = mac_for_workload(_workload(None), base)
    assert cfg == base and "not quantized" in note
    d = layer_datapath(_workload(None).gemms[0], cfg)
    assert d.native and (d.w_bits, d.x_bits) == (cfg.array.mac.unit.w_bits, cfg.array.mac.unit.x_bits)


@pytest.mark.parametrize(("scheme", "act", "mac", "match"), [
    ("fixed:8", None, MacConfig(kind="sp2", params={"w_bits": 4}), r"layer fc: fixed:8:7 weights \(fixed:8\) "
                                                                   r"cannot run on the sp2 \(.*\) MAC"),
    ("posit:4:1", None, MacConfig(kind="posit_fixp", params={"n": 4, "es": 2}), "posit:4:1 weights"),
    ("msq:4:0.5", None, MacConfig(kind="sp2", params={"w_bits": 4}), "fixed:4:3 weights"),
    ("sp2:4", "ufixed:8:8", MacConfig(kind="sp2", params={"w_bits": 4, "x_bits": 8}),
     "ufixed:8:8 activations need a 9-bit"),
])
def test_an_explicit_mac_that_cannot_run_a_layer_is_refused(scheme, act, mac, match):
    cfg = dataclasses.replace(AcceleratorConfig(), array=dataclasses.replace(AcceleratorConfig().array, mac=mac))
    with pytest.raises(ValueError, match=match):
        layer_datapath(_workload(scheme, act).gemms[0], cfg)


def test_posit_nesting_is_what_the_rule_relies_on():
    small, big = Posit(5, 1), Posit(8, 1)
    codes = np.arange(1 << 5)
    np.testing.assert_array_equal(np.nan_to_num(small.decode(codes), nan=9.0),
                                  np.nan_to_num(big.decode(codes << 3), nan=9.0))
