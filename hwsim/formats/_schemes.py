"""Weight quantization schemes: which formats a layer's rows use, and the MAC that runs them by default.

Spec strings (a fraction is always the share of rows in the first format):

- ``fixed:B``: every row Fixed(B, B-1).
- ``sp2:B``: every row SP2(B).
- ``msq:B:F``: the SP2(B) share F of rows (row mode 1), the rest Fixed(B, B-1) (mode 0) (MSQ).
- ``posit:N[:ES]``: every row posit<N, ES> (ES defaults to the standard's 2).
- ``posit+fixed:N:ES:B[:F]``: the most sensitive share F of rows (default 0.5) in posit<N, ES> (mode 1), the
  rest in Fixed(B, B-1) (mode 0): the Posit4/FixP4 mixed computation of arXiv 2312.02210. Formerly spelled
  ``posit-fixp``, which read like the ``posit_fixp`` MAC kind (posit weights x fixed-point activations);
  the old spelling still parses, with a FutureWarning.

Each scheme is one `SchemeKind` entry in `SCHEMES`: its parameters, its formats and the MAC kind (with
parameters) that the default accelerator gets for it. Adding a scheme is one entry here plus, if no MAC runs
it yet, a MAC kind and its RTL.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ._base import NumberFormat
from ._fixed import Fixed
from ._posit import Posit
from ._registry import Registry
from ._sp2 import SP2
from ._spec import format_spec, spec_number


def fixed_weights(bits) -> Fixed:
    """Fixed(B, B-1): a weight row scaled onto [-1, 1) (B >= 2: Fixed(1, 0) has no positive level)."""
    if isinstance(bits, bool) or not isinstance(bits, int):
        raise TypeError(f"fixed-point bits must be an integer, not {bits!r}")
    if bits < 2:
        raise ValueError(f"fixed-point weights need at least 2 bits, not {bits}")
    return Fixed(bits, bits - 1)


def _msq_formats(s: QuantSpec) -> tuple[NumberFormat, NumberFormat]:
    if not 2 <= s.bits <= 11:  # msq_assign's own range
        raise ValueError(f"msq needs 2 <= bits <= 11, not {s.bits!r}")
    return SP2(s.bits), fixed_weights(s.bits)


@dataclass(frozen=True, slots=True)
class SchemeKind:
    """One quantization scheme: its spec parameters, formats and default MAC.

    ``params``: (field, kind) in spec order, kind ``int`` or ``fraction``; ``defaults``: values of optional
    trailing fields. ``formats(spec)`` returns (format of row mode 1 or the only format, the mode-0 format or
    None); building them rejects bad widths. ``mac(spec)`` returns (MAC kind, parameters without x_bits).
    """

    params: tuple[tuple[str, str], ...]
    usage: str
    formats: Callable[[QuantSpec], tuple[NumberFormat, NumberFormat | None]]
    mac: Callable[[QuantSpec], tuple[str, dict[str, int]]]
    defaults: tuple[tuple[str, object], ...] = ()
    sensitivity: bool = False  # rows ranked by sensitivity (mean |w * grad| when gradients are given)


SCHEMES: Registry[SchemeKind] = Registry("quantization scheme")
SCHEMES.register("fixed", SchemeKind(
    params=(("bits", "int"),), usage="fixed:BITS",
    formats=lambda s: (fixed_weights(s.bits), None),
    mac=lambda s: ("fixed", {"w_bits": s.bits})))
SCHEMES.register("sp2", SchemeKind(
    params=(("bits", "int"),), usage="sp2:BITS",
    formats=lambda s: (SP2(s.bits), None),
    mac=lambda s: ("sp2", {"w_bits": s.bits})))
SCHEMES.register("msq", SchemeKind(
    params=(("bits", "int"), ("fraction", "fraction")), usage="msq:BITS:SP2_FRACTION",
    formats=_msq_formats,
    mac=lambda s: ("msq", {"w_bits": s.bits})))
SCHEMES.register("posit", SchemeKind(
    params=(("n", "int"), ("es", "int")), usage="posit:N[:ES]", defaults=(("es", 2),),
    formats=lambda s: (Posit(s.n, s.es), None),
    mac=lambda s: ("posit_fixp", {"n": s.n, "es": s.es})))
SCHEMES.register("posit+fixed", SchemeKind(
    params=(("n", "int"), ("es", "int"), ("bits", "int"), ("fraction", "fraction")),
    usage="posit+fixed:N:ES:FIXED_BITS[:POSIT_FRACTION]", defaults=(("fraction", 0.5),),
    formats=lambda s: (Posit(s.n, s.es), fixed_weights(s.bits)),
    mac=lambda s: ("posit_or_fixed", {"n": s.n, "es": s.es, "fixed_bits": s.bits}),
    sensitivity=True))
SCHEMES.alias("posit-fixp", "posit+fixed",
              "the MAC kind posit_fixp is posit weights x fixed-point activations; this scheme mixes posit rows "
              "and fixed-point rows")

QUANT_SCHEMES = SCHEMES.names()


@dataclass(frozen=True, slots=True)
class QuantSpec:
    """A validated weight quantization scheme (see the module docstring); ``str()`` is its canonical spec.

    Fields a scheme does not take must be None; the checks run at construction, so an invalid spec never
    exists.
    """

    scheme: str
    bits: int | None = None  # fixed / sp2 / msq bits; the fixed rows of posit+fixed
    n: int | None = None  # posit width
    es: int | None = None
    fraction: float | None = None  # msq: SP2 rows; posit+fixed: posit (sensitive) rows

    def __post_init__(self) -> None:
        if not isinstance(self.scheme, str):
            raise TypeError(f"scheme must be a string, not {self.scheme!r}")
        object.__setattr__(self, "scheme", SCHEMES.resolve(self.scheme))
        kind = self.kind
        taken = {name for name, _ in kind.params}
        for name, default in kind.defaults:
            if getattr(self, name) is None:
                object.__setattr__(self, name, default)
        for name in ("bits", "n", "es", "fraction"):
            value = getattr(self, name)
            if name not in taken:
                if value is not None:
                    raise ValueError(f"{self.scheme} takes {kind.usage}: {name}={value!r} does not apply")
                continue
            if value is None:
                raise ValueError(f"{self.scheme} takes {kind.usage}: {name} is missing")
            typ = dict(kind.params)[name]
            if typ == "int" and (isinstance(value, bool) or not isinstance(value, int)):
                raise TypeError(f"{name} must be an integer, not {value!r}")
            if typ == "fraction":
                if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                        or not 0.0 <= value <= 1.0:
                    raise ValueError(f"fraction must lie in [0, 1], not {value!r}")
                object.__setattr__(self, name, float(value))
        kind.formats(self)  # the formats' own checks: sp2:1, posit es too large, fixed:1 ...

    @property
    def kind(self) -> SchemeKind:
        return SCHEMES.get(self.scheme)

    def formats(self) -> tuple[NumberFormat, NumberFormat | None]:
        """(format of row mode 1 or the only format, the mode-0 format of mixed schemes or None)."""
        return self.kind.formats(self)

    @property
    def mixed(self) -> bool:
        return self.formats()[1] is not None

    def default_mac(self) -> tuple[str, dict[str, int]]:
        """The MAC kind and parameters (all but x_bits) that run this scheme at its own widths."""
        return self.kind.mac(self)

    def __str__(self) -> str:
        values = []
        for name, typ in self.kind.params:
            v = getattr(self, name)
            values.append(f"{v:g}" if typ == "fraction" else str(v))
        return ":".join([self.scheme, *values])


def parse_quant(spec: str) -> QuantSpec:
    """Parse a quantization spec, e.g. ``msq:4:0.5`` or ``posit+fixed:4:1:4``."""
    if not isinstance(spec, str):
        raise TypeError(f"quant spec must be a string, not {spec!r}")
    name, *p = spec.strip().lower().split(":")
    try:
        scheme = SCHEMES.resolve(name)
    except ValueError as e:
        raise ValueError(f"{e} in {spec!r}") from None
    kind = SCHEMES.get(scheme)
    lo, hi = len(kind.params) - len(kind.defaults), len(kind.params)
    if not lo <= len(p) <= hi:
        raise ValueError(f"{scheme} takes {kind.usage}, not {spec!r}")
    values = {name: spec_number(text, name, spec, typ) for (name, typ), text in zip(kind.params, p, strict=False)}
    try:
        return QuantSpec(scheme, **values)
    except (TypeError, ValueError) as e:
        raise ValueError(f"quant {spec!r}: {e}") from None


def scheme_formats_spec(spec: QuantSpec) -> tuple[str, str | None]:
    """The `parse_format` specs of a scheme's (mode-1 or only, mode-0) formats."""
    main, alt = spec.formats()
    return format_spec(main), None if alt is None else format_spec(alt)
