"""Prune and quantization spec strings, shared by every command (a density is always the fraction kept).

prune: ``block:BKxBN:D[:pad]``, ``nm:N:M``, ``unstructured:D``, ``channel:D``, and the hardware-aware
       ``auto:METRIC=F[:BKxBN][:dp|:lpvit][:taylor|:output][:pad]`` (block pruning with per-layer densities
       chosen so that the simulated METRIC, latency, energy or macs, is at most F of the dense model's; see
       `hwsim.frontend._auto`)
quant: see `hwsim.formats` (``fixed:B``, ``sp2:B``, ``msq:B:F``, ``posit:N[:ES]``, ``posit+fixed:N:ES:B[:F]``);
       re-exported here for the front end.
"""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.formats import QUANT_SCHEMES, QuantSpec, parse_quant, spec_number

__all__ = ["PRUNE_METHODS", "QUANT_SCHEMES", "PruneSpec", "QuantSpec", "parse_prune", "parse_quant"]

PRUNE_METHODS = ("block", "nm", "unstructured", "channel", "auto")
AUTO_METRICS = ("latency", "energy", "macs")  # what an auto spec's budget limits, as a fraction of the dense model
AUTO_SOLVERS = ("dp", "lpvit")  # the allocation: RD_PRUNE's dynamic programme, LPViT's equal-slope search
AUTO_DISTORTIONS = ("taylor", "output")  # LPViT's Taylor estimate (default), RD_PRUNE's measured output change


@dataclass(frozen=True, slots=True)
class PruneSpec:
    """A validated prune spec (checked at construction, so an invalid one never exists); ``str()`` is canonical.

    ``nm`` derives its density from N and M; the other fields a method does not take must be left unset.
    """

    method: str
    density: float  # fraction of weights kept (N/M for nm)
    block: tuple[int, int] | None = None
    pad: bool = False  # block: allow partial edge blocks when the block shape does not divide the weight
    n: int | None = None
    m: int | None = None
    metric: str | None = None  # auto: what the budget (``density``, a fraction of the dense model's) limits
    solver: str | None = None  # auto: dp or lpvit
    distortion: str | None = None  # auto: taylor (default) or output

    def __post_init__(self) -> None:
        if self.method not in PRUNE_METHODS:
            raise ValueError(f"unknown prune method {self.method!r}; choose from {', '.join(PRUNE_METHODS)}")
        if self.method == "auto":
            if self.metric not in AUTO_METRICS:
                raise ValueError(f"auto pruning budgets one of {', '.join(AUTO_METRICS)}, not {self.metric!r}")
            if self.solver not in AUTO_SOLVERS:
                raise ValueError(f"auto pruning solves by {' or '.join(AUTO_SOLVERS)}, not {self.solver!r}")
            if self.distortion is None:
                object.__setattr__(self, "distortion", "taylor")
            if self.distortion not in AUTO_DISTORTIONS:
                raise ValueError(f"auto pruning measures distortion by {' or '.join(AUTO_DISTORTIONS)}, not "
                                 f"{self.distortion!r}")
            d = self.density
            if isinstance(d, bool) or not isinstance(d, int | float) or not 0.0 < d <= 1.0:
                raise ValueError(f"the {self.metric} budget must be a fraction of the dense model's in (0, 1], not "
                                 f"{d!r}")
        elif self.metric is not None or self.solver is not None or self.distortion is not None:
            raise ValueError(f"{self.method} pruning takes no budget metric, solver or distortion (those are auto's)")
        if self.method == "nm":
            n, m = self.n, self.m
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (n, m)) or m < 1 or not 1 <= n <= m:
                raise ValueError(f"N:M pruning needs integers 1 <= N <= M (N = 0 keeps no weight of any group), "
                                 f"not N={n!r}, M={m!r}")
            object.__setattr__(self, "density", n / m)
        elif self.n is not None or self.m is not None:
            raise ValueError(f"{self.method} pruning takes no N or M")
        d = self.density
        if isinstance(d, bool) or not isinstance(d, int | float) or not 0.0 <= d <= 1.0:  # also NaN
            raise ValueError(f"density must lie in [0, 1], not {d!r}")
        object.__setattr__(self, "density", float(d))
        if self.method == "block" or (self.method == "auto" and self.block is not None):
            b = self.block
            if not (isinstance(b, tuple | list) and len(b) == 2 and all(isinstance(v, int) and v >= 1 for v in b)):
                raise ValueError(f"block pruning needs a block shape (bk, bn) of integers >= 1, not {b!r}")
            object.__setattr__(self, "block", (int(b[0]), int(b[1])))
        elif self.method == "auto":
            pass  # no block: the engine's own (block_k x array columns), resolved against the accelerator
        elif self.block is not None or self.pad:
            raise ValueError(f"{self.method} pruning takes no block shape or pad")

    def __str__(self) -> str:
        if self.method == "block":
            return f"block:{self.block[0]}x{self.block[1]}:{self.density:g}" + (":pad" if self.pad else "")
        if self.method == "nm":
            return f"nm:{self.n}:{self.m}"
        if self.method == "auto":
            block = "" if self.block is None else f":{self.block[0]}x{self.block[1]}"
            return (f"auto:{self.metric}={self.density:g}{block}:{self.solver}"
                    + (":output" if self.distortion == "output" else "") + (":pad" if self.pad else ""))
        return f"{self.method}:{self.density:g}"


def parse_prune(spec: str) -> PruneSpec:
    """Parse a prune spec, e.g. ``block:32x32:0.5``."""
    if not isinstance(spec, str):
        raise TypeError(f"prune spec must be a string, not {spec!r}")
    method, *p = spec.strip().lower().split(":")
    if method not in PRUNE_METHODS:
        raise ValueError(f"unknown prune method {method!r} in {spec!r}; choose from {', '.join(PRUNE_METHODS)}")
    fields: dict = {}
    if method == "block":
        if len(p) not in (2, 3) or (len(p) == 3 and p[2] != "pad"):
            raise ValueError(f"block pruning takes block:BKxBN:DENSITY[:pad], not {spec!r}")
        bk, sep, bn = p[0].partition("x")
        if not sep:
            raise ValueError(f"block shape must look like 32x32 in {spec!r}, not {p[0]!r}")
        fields.update(block=(spec_number(bk, "block rows", spec), spec_number(bn, "block columns", spec)),
                      density=spec_number(p[1], "density", spec, "float"), pad=len(p) == 3)
    elif method == "auto":
        fields.update(_parse_auto(p, spec))
    elif method == "nm":
        if len(p) != 2:
            raise ValueError(f"N:M pruning takes nm:N:M, not {spec!r}")
        fields.update(n=spec_number(p[0], "N", spec), m=spec_number(p[1], "M", spec), density=0.0)
    else:
        if len(p) != 1:
            raise ValueError(f"{method} pruning takes {method}:DENSITY, not {spec!r}")
        fields["density"] = spec_number(p[0], "density", spec, "float")
    try:
        return PruneSpec(method, **fields)  # the range checks live in PruneSpec, once
    except ValueError as e:
        raise ValueError(f"prune {spec!r}: {e}") from None


def _parse_auto(parts: list[str], spec: str) -> dict:
    """The fields of ``auto:METRIC=F[:BKxBN][:dp|:lpvit][:taylor|:output][:pad]`` (the optional parts in any
    order)."""
    usage = (f"auto pruning takes auto:METRIC=F[:BKxBN][:dp|:lpvit][:taylor|:output][:pad] (METRIC "
             f"{', '.join(AUTO_METRICS)}), "
             f"not {spec!r}")
    if not parts or "=" not in parts[0]:
        raise ValueError(usage)
    metric, _, value = parts[0].partition("=")
    if metric not in AUTO_METRICS:
        raise ValueError(f"auto pruning budgets one of {', '.join(AUTO_METRICS)}, not {metric!r} in {spec!r}")
    fields = {"metric": metric, "density": spec_number(value, f"{metric} budget", spec, "float"), "solver": "dp"}
    seen = set()
    for part in parts[1:]:
        kind = "solver" if part in AUTO_SOLVERS else "distortion" if part in AUTO_DISTORTIONS else \
            "pad" if part == "pad" else "block" if "x" in part else None
        if kind is None or kind in seen:
            raise ValueError(usage)
        seen.add(kind)
        if kind in ("solver", "distortion"):
            fields[kind] = part
        elif kind == "pad":
            fields["pad"] = True
        else:
            bk, _, bn = part.partition("x")
            fields["block"] = (spec_number(bk, "block rows", spec), spec_number(bn, "block columns", spec))
    return fields
