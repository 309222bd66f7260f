"""Spec strings for formats, shared by every command: ``fixed:8[:frac]``, ``ufixed:8[:frac]``,
``sp2:4[:m1[:m2]]``, ``posit:8[:es]``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ._base import NumberFormat
from ._fixed import Fixed
from ._posit import Posit
from ._registry import Registry
from ._sp2 import SP2


@dataclass(frozen=True, slots=True)
class FormatKind:
    """How one format kind is spelled: its constructor and its parameters in spec order."""

    make: Callable[..., NumberFormat]
    params: tuple[str, ...]
    required: int


FORMATS: Registry[FormatKind] = Registry("format kind")
FORMATS.register("fixed", FormatKind(lambda bits, frac=None: Fixed(bits, bits - 1 if frac is None else frac),
                                     ("bits", "frac"), 1))
FORMATS.register("ufixed", FormatKind(lambda bits, frac=None: Fixed(bits, bits if frac is None else frac,
                                                                    signed=False), ("bits", "frac"), 1))
FORMATS.register("sp2", FormatKind(SP2, ("bits", "m1", "m2"), 1))
FORMATS.register("posit", FormatKind(lambda n, es=2: Posit(n, es), ("n", "es"), 1))

FORMAT_KINDS = FORMATS.names()


def spec_number(text: str, what: str, spec: str, typ: str = "int"):
    """One number of a spec string, an integer for ``typ="int"``, else a float; ValueError naming the field and
    the spec. Every spec parser (formats, quantization, pruning) reads its numbers here; ranges are checked by
    the objects the numbers build (`QuantSpec`, `PruneSpec`, the formats)."""
    try:
        return int(text) if typ == "int" else float(text)
    except ValueError:
        raise ValueError(f"{what} must be {'an integer' if typ == 'int' else 'a number'}, not {text!r} "
                         f"(in {spec!r})") from None


def parse_format(spec: str) -> NumberFormat:
    """Build a format from a spec string, e.g. ``posit:8:2`` or ``sp2:4``.

    Defaults: fixed point has ``bits - 1`` fraction bits (values in [-1, 1)), unsigned fixed point ``bits``;
    SP2 splits its magnitude bits with ``m1 >= m2``; posits use the standard ``es = 2``.
    """
    if not isinstance(spec, str):
        raise TypeError(f"format spec must be a string, not {spec!r}")
    kind, *params = spec.strip().lower().split(":")
    try:
        entry = FORMATS.get(kind)
    except ValueError as e:
        raise ValueError(f"{e} in {spec!r}") from None
    if not entry.required <= len(params) <= len(entry.params):
        raise ValueError(f"format {spec!r}: {kind} takes {':'.join(entry.params)} "
                         f"({entry.required} to {len(entry.params)} numbers)")
    return entry.make(*(spec_number(text, name, spec) for name, text in zip(entry.params, params, strict=False)))


def format_spec(fmt: NumberFormat) -> str:
    """The shortest spec string that `parse_format` reads back to ``fmt``."""
    if isinstance(fmt, SP2):
        return f"sp2:{fmt.bits}" if fmt == SP2(fmt.bits) else f"sp2:{fmt.bits}:{fmt.m1}:{fmt.m2}"
    if isinstance(fmt, Posit):
        return f"posit:{fmt.n}:{fmt.es}"
    if isinstance(fmt, Fixed):
        return f"{'fixed' if fmt.signed else 'ufixed'}:{fmt.bits}:{fmt.frac}"
    raise TypeError(f"no spec string for {fmt!r}")
