"""Prune and quantization spec strings, shared by every command (a density is always the fraction kept).

prune: ``block:BKxBN:D[:pad]``, ``nm:N:M``, ``unstructured:D``, ``channel:D``
quant: ``fixed:B``, ``sp2:B``, ``msq:B:F`` (F = SP2 row fraction), ``posit:N[:ES]`` (ES defaults to 2),
       ``posit-fixp:N:ES:B[:F]`` (posit<N,ES> for the sensitive fraction F of rows, default 0.5;
       B-bit fixed point for the rest)
"""

from __future__ import annotations

from dataclasses import dataclass

PRUNE_METHODS = ("block", "nm", "unstructured", "channel")
QUANT_SCHEMES = ("fixed", "sp2", "msq", "posit", "posit-fixp")


@dataclass(frozen=True, slots=True)
class PruneSpec:
    method: str
    density: float  # fraction of weights kept (N/M for nm)
    block: tuple[int, int] | None = None
    pad: bool = False  # block: allow partial edge blocks when the block shape does not divide the weight
    n: int | None = None
    m: int | None = None

    def __str__(self) -> str:
        if self.method == "block":
            return f"block:{self.block[0]}x{self.block[1]}:{self.density:g}" + (":pad" if self.pad else "")
        if self.method == "nm":
            return f"nm:{self.n}:{self.m}"
        return f"{self.method}:{self.density:g}"


@dataclass(frozen=True, slots=True)
class QuantSpec:
    scheme: str
    bits: int | None = None  # fixed / sp2 / msq bits; the fixed part of posit-fixp
    n: int | None = None  # posit width
    es: int | None = None
    fraction: float | None = None  # msq: SP2 rows; posit-fixp: posit (sensitive) rows

    def __str__(self) -> str:
        if self.scheme in ("fixed", "sp2"):
            return f"{self.scheme}:{self.bits}"
        if self.scheme == "msq":
            return f"msq:{self.bits}:{self.fraction:g}"
        if self.scheme == "posit":
            return f"posit:{self.n}:{self.es}"
        return f"posit-fixp:{self.n}:{self.es}:{self.bits}:{self.fraction:g}"


def _num(text: str, what: str, spec: str, kind=float):
    try:
        return kind(text)
    except ValueError:
        raise ValueError(f"{what} must be a number in {spec!r}, not {text!r}") from None


def _fraction(text: str, what: str, spec: str) -> float:
    v = _num(text, what, spec)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{what} must lie in [0, 1] in {spec!r}, not {v:g}")
    return v


def parse_prune(spec: str) -> PruneSpec:
    """Parse a prune spec, e.g. ``block:32x32:0.5``."""
    if not isinstance(spec, str):
        raise TypeError(f"prune spec must be a string, not {spec!r}")
    method, *p = spec.strip().lower().split(":")
    if method not in PRUNE_METHODS:
        raise ValueError(f"unknown prune method {method!r} in {spec!r}; choose from {', '.join(PRUNE_METHODS)}")
    if method == "block":
        if len(p) not in (2, 3) or (len(p) == 3 and p[2] != "pad"):
            raise ValueError(f"block pruning takes block:BKxBN:DENSITY[:pad], not {spec!r}")
        bk, sep, bn = p[0].partition("x")
        if not sep:
            raise ValueError(f"block shape must look like 32x32 in {spec!r}, not {p[0]!r}")
        block = (_num(bk, "block rows", spec, int), _num(bn, "block columns", spec, int))
        if min(block) < 1:
            raise ValueError(f"block sides must be >= 1 in {spec!r}")
        return PruneSpec("block", _fraction(p[1], "density", spec), block, pad=len(p) == 3)
    if method == "nm":
        if len(p) != 2:
            raise ValueError(f"N:M pruning takes nm:N:M, not {spec!r}")
        n, m = _num(p[0], "N", spec, int), _num(p[1], "M", spec, int)
        if not 0 <= n <= m or m < 1:
            raise ValueError(f"N:M needs 0 <= N <= M and M >= 1 in {spec!r}")
        return PruneSpec("nm", n / m, n=n, m=m)
    if len(p) != 1:
        raise ValueError(f"{method} pruning takes {method}:DENSITY, not {spec!r}")
    return PruneSpec(method, _fraction(p[0], "density", spec))


def parse_quant(spec: str) -> QuantSpec:
    """Parse a quantization spec, e.g. ``msq:4:0.5`` or ``posit-fixp:4:1:8``."""
    if not isinstance(spec, str):
        raise TypeError(f"quant spec must be a string, not {spec!r}")
    scheme, *p = spec.strip().lower().split(":")
    if scheme not in QUANT_SCHEMES:
        raise ValueError(f"unknown quantization scheme {scheme!r} in {spec!r}; choose from {', '.join(QUANT_SCHEMES)}")
    shapes = {"fixed": (1, 1), "sp2": (1, 1), "msq": (2, 2), "posit": (1, 2), "posit-fixp": (3, 4)}
    lo, hi = shapes[scheme]
    if not lo <= len(p) <= hi:
        usage = {"fixed": "fixed:BITS", "sp2": "sp2:BITS", "msq": "msq:BITS:SP2_FRACTION", "posit": "posit:N[:ES]",
                 "posit-fixp": "posit-fixp:N:ES:FIXED_BITS[:POSIT_FRACTION]"}[scheme]
        raise ValueError(f"{scheme} takes {usage}, not {spec!r}")
    if scheme in ("fixed", "sp2"):
        return QuantSpec(scheme, bits=_num(p[0], "bits", spec, int))
    if scheme == "msq":
        return QuantSpec(scheme, bits=_num(p[0], "bits", spec, int), fraction=_fraction(p[1], "SP2 fraction", spec))
    if scheme == "posit":
        es = _num(p[1], "es", spec, int) if len(p) == 2 else 2  # the standard's es, as in parse_format
        return QuantSpec(scheme, n=_num(p[0], "n", spec, int), es=es)
    fraction = _fraction(p[3], "posit fraction", spec) if len(p) == 4 else 0.5
    return QuantSpec(scheme, n=_num(p[0], "n", spec, int), es=_num(p[1], "es", spec, int),
                     bits=_num(p[2], "fixed bits", spec, int), fraction=fraction)
