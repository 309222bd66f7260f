"""Spec strings for formats, shared by every command: ``fixed:8[:frac]``, ``ufixed:8[:frac]``,
``sp2:4[:m1[:m2]]``, ``posit:8[:es]``."""

from __future__ import annotations

from ._base import NumberFormat
from ._fixed import Fixed
from ._posit import Posit
from ._sp2 import SP2

# kind -> (constructor, parameter names in spec order, how many are required)
_KINDS = {
    "fixed": (lambda bits, frac=None: Fixed(bits, bits - 1 if frac is None else frac), ("bits", "frac"), 1),
    "ufixed": (
        lambda bits, frac=None: Fixed(bits, bits if frac is None else frac, signed=False),
        ("bits", "frac"),
        1,
    ),
    "sp2": (SP2, ("bits", "m1", "m2"), 1),
    "posit": (lambda n, es=2: Posit(n, es), ("n", "es"), 1),
}

FORMAT_KINDS = tuple(_KINDS)


def parse_format(spec: str) -> NumberFormat:
    """Build a format from a spec string, e.g. ``posit:8:2`` or ``sp2:4``.

    Defaults: fixed point has ``bits - 1`` fraction bits (values in [-1, 1)), unsigned fixed point ``bits``;
    SP2 splits its magnitude bits with ``m1 >= m2``; posits use the standard ``es = 2``.
    """
    if not isinstance(spec, str):
        raise TypeError(f"format spec must be a string, not {spec!r}")
    kind, *params = spec.strip().lower().split(":")
    if kind not in _KINDS:
        raise ValueError(f"unknown format kind {kind!r} in {spec!r}; choose from {', '.join(_KINDS)}")
    make, names, required = _KINDS[kind]
    if not required <= len(params) <= len(names):
        raise ValueError(f"format {spec!r}: {kind} takes {':'.join(names)} ({required} to {len(names)} numbers)")
    values = []
    for name, text in zip(names, params, strict=False):
        try:
            values.append(int(text))
        except ValueError:
            raise ValueError(f"format {spec!r}: {name} must be an integer, not {text!r}") from None
    return make(*values)
