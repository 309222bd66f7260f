"""An exact posit oracle written from the definition (bit strings and fractions), independent of hwsim."""

from __future__ import annotations

import bisect
import functools
import math
from fractions import Fraction


def posit_value(code: int, n: int, es: int) -> Fraction | None:
    """Exact value of an n-bit posit code; None for NaR."""
    if code == 0:
        return Fraction(0)
    if code == 1 << (n - 1):
        return None
    negative = (code >> (n - 1)) & 1
    if negative:
        code = (1 << n) - code  # two's complement magnitude
    body = format(code, f"0{n}b")[1:]
    lead = body[0]
    run = len(body) - len(body.lstrip(lead))
    k = run - 1 if lead == "1" else -run
    rest = body[run + 1 :]
    exponent = int(rest[:es].ljust(es, "0"), 2) if es else 0  # truncated exponent bits read as 0
    frac_bits = rest[es:]
    frac = Fraction(int(frac_bits, 2), 1 << len(frac_bits)) if frac_bits else Fraction(0)
    value = Fraction(2) ** (k * (1 << es) + exponent) * (1 + frac)
    return -value if negative else value


@functools.lru_cache(maxsize=64)
def positive_table(n: int, es: int) -> tuple[list[Fraction], list[Fraction]]:
    """Values of codes 1 .. 2**(n-1)-1 (ascending) and the (n+1)-bit midpoints between neighbours."""
    values = [posit_value(c, n, es) for c in range(1, 1 << (n - 1))]
    mids = [posit_value((c << 1) | 1, n + 1, es) for c in range(1, (1 << (n - 1)) - 1)]
    return values, mids


def posit_encode(x: float | Fraction, n: int, es: int) -> int:
    """Posit code of x: nearest in the encoding, ties to even, never zero for non-zero x, saturating."""
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return 1 << (n - 1)
    if x == 0:
        return 0
    values, mids = positive_table(n, es)
    a = abs(Fraction(x))
    if a >= values[-1]:
        c = len(values)
    elif a <= values[0]:
        c = 1
    else:
        i = bisect.bisect_right(values, a) - 1  # values[i] <= a < values[i+1]
        lo, hi = i + 1, i + 2  # their codes
        if a == values[i] or a < mids[i]:
            c = lo
        elif a > mids[i]:
            c = hi
        else:
            c = lo if lo % 2 == 0 else hi
    return ((1 << n) - c) % (1 << n) if x < 0 else c
