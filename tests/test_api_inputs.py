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
