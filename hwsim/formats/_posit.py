"""Posits: Posit Standard (2022) semantics, for any exponent size ``es``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .._util import as_code_array, as_float_array, check_int
from .._util.jit import lazy_njit
from ._base import MAX_TABLE_BITS, NumberFormat, as_rows, code_dtype
from ._kernels import OK, SETTLE_ROUNDS, UNSETTLED, row_square_sums

# float64 holds every posit value exactly while maxpos = 2**((n-2) * 2**es) stays a normal number.
_MAX_FLOAT64_SCALE = 1023


class PositFields(NamedTuple):
    """Decoded fields of posit codes, as a posit decoder in hardware produces them.

    value = (-1)**sign * 2**scale * (1 + frac / 2**frac_bits), where ``frac_bits = Posit.frac_bits`` is the
    widest fraction any code of the format has (shorter fractions are left-aligned, padded with zeros).
    ``scale = k * 2**es + e`` combines regime ``k`` and exponent ``e``. Zero and NaR are flagged; their
    other fields are 0.
    """

    sign: np.ndarray
    scale: np.ndarray
    frac: np.ndarray
    is_zero: np.ndarray
    is_nar: np.ndarray


@dataclass(frozen=True, slots=True)
class Posit(NumberFormat):
    """posit<n, es>: an n-bit posit with es exponent bits (es=2 is the 2022 standard; 0/1 the older papers).

    Negative values are the two's complement of their absolute value; ``1 0...0`` is NaR (decoded as nan).
    `encode` rounds to nearest in the encoding: between two neighbouring posits the boundary is the (n+1)-bit
    posit between them (their code with a 1 appended), and an exact tie goes to the even code. A non-zero value
    never rounds to zero (it becomes +-minpos); beyond maxpos it saturates to +-maxpos; NaN and +-inf give NaR.
    """

    n: int
    es: int

    def __post_init__(self) -> None:
        n = check_int("n", self.n, 2, 32)
        es = check_int("es", self.es, 0)
        if (n - 2) << es > _MAX_FLOAT64_SCALE:
            raise ValueError(
                f"es={es} is too large for posit<{n},{es}>: maxpos 2**{(n - 2) << es} overflows float64"
            )

    @property
    def bits(self) -> int:
        return self.n

    @property
    def name(self) -> str:
        return f"posit:{self.n}:{self.es}"

    @property
    def nar_code(self) -> int:
        return 1 << (self.n - 1)

    @property
    def max_scale(self) -> int:
        """log2 of maxpos: (n - 2) * 2**es."""
        return (self.n - 2) << self.es

    @property
    def maxpos(self) -> float:
        return math.ldexp(1.0, self.max_scale)

    @property
    def minpos(self) -> float:
        return math.ldexp(1.0, -self.max_scale)

    @property
    def frac_bits(self) -> int:
        """Widest fraction field of any code: n - 3 - es (sign, two regime bits, es exponent bits)."""
        return max(0, self.n - 3 - self.es)

    def row_scales(self, rows: np.ndarray) -> np.ndarray:
        """Row scale 2**round(log2(rms(row))) (1 for an all-zero row).

        Posits are densest around 1 (tapered precision: the fraction field is widest for regime k = 0), so a
        row's typical weight is put there rather than its max at maxpos; a power of two keeps the scale a shift
        in hardware and the scaling exact in floating point.
        """
        rows = as_rows(rows)
        rms = np.sqrt(row_square_sums(rows) / rows.shape[1]) if rows.shape[1] else np.zeros(rows.shape[0])
        with np.errstate(divide="ignore"):
            e = np.round(np.log2(np.where(rms > 0, rms, 1.0)))
        return np.ldexp(1.0, e.astype(np.int64))

    def code_fields(self, codes) -> dict[str, np.ndarray]:
        f = self.fields(codes)
        return {"sign": f.sign, "scale": f.scale, "frac": f.frac,
                "special": np.where(f.is_nar, "NaR", np.where(f.is_zero, "zero", ""))}

    def fields(self, codes) -> PositFields:
        """Sign, scale and fraction of each code (see `PositFields`)."""
        c = as_code_array(codes, self.n)
        flat = c.ravel()
        out = [np.empty(flat.size, dtype=np.int64) for _ in range(3)]
        _fields_kernel(flat, self.n, self.es, self.frac_bits, *out)
        sign, scale, frac = (a.reshape(c.shape) for a in out)
        return PositFields(sign, scale, frac, c == 0, c == self.nar_code)

    def decode(self, codes) -> np.ndarray:
        if self.n <= MAX_TABLE_BITS:
            return self.values()[as_code_array(codes, self.n)]
        f = self.fields(codes)
        return _fields_to_float(f, self.frac_bits)

    def values(self) -> np.ndarray:
        if self.n > MAX_TABLE_BITS:
            raise ValueError(f"{self.name} has 2**{self.n} codes; tables stop at {MAX_TABLE_BITS} bits")
        return _posit_table(self.n, self.es)

    def encode(self, x) -> np.ndarray:
        v = np.asarray(x)
        if v.dtype not in (np.float32, np.float64):
            v = as_float_array(v)
        flat = np.ascontiguousarray(v).ravel()
        out = np.empty(flat.size, dtype=np.int64)
        _encode_kernel(flat, self.n, self.es, out)
        return out.astype(code_dtype(self.n)).reshape(v.shape)


_TABLES: dict[tuple[int, int], np.ndarray] = {}


def _posit_table(n: int, es: int) -> np.ndarray:
    key = (n, es)
    if key not in _TABLES:
        fmt = Posit(n, es)
        table = _fields_to_float(fmt.fields(np.arange(1 << n, dtype=np.int64)), fmt.frac_bits)
        table.setflags(write=False)
        _TABLES[key] = table
    return _TABLES[key]


def _fields_to_float(f: PositFields, frac_bits: int) -> np.ndarray:
    mag = np.ldexp((np.int64(1) << frac_bits) + f.frac.astype(np.float64), f.scale - frac_bits)
    val = np.where(f.sign == 1, -mag, mag)
    val = np.where(f.is_zero, 0.0, val)
    return np.where(f.is_nar, np.nan, val)


@lazy_njit(cache=True, nogil=True, inline="always")
def _fields_one(c, n, es, frac_bits):  # pragma: no cover - numba
    """(sign, scale, frac) of one code (all 0 for zero and NaR)."""
    nb = n - 1  # bits after the sign
    mask_n = (np.int64(1) << n) - 1
    if c == 0 or c == np.int64(1) << nb:
        return np.int64(0), np.int64(0), np.int64(0)
    neg = (c >> nb) & 1
    if neg:
        c = (-c) & mask_n
    # Regime: a run of identical bits right after the sign, ended by the opposite bit (or the end).
    first = (c >> (nb - 1)) & 1
    pos = nb - 1
    run = 0
    while pos >= 0 and ((c >> pos) & 1) == first:
        run += 1
        pos -= 1
    k = run - 1 if first == 1 else -run
    rem = pos if pos > 0 else 0  # bits after the terminating regime bit
    rest = c & ((np.int64(1) << rem) - 1)
    if rem >= es:
        e = rest >> (rem - es)
        fb = rem - es
        f = rest & ((np.int64(1) << fb) - 1)
    else:
        # Exponent bits cut off by the end of the word read as zeros.
        e = rest << (es - rem)
        fb = 0
        f = np.int64(0)
    return neg, (k << es) + e, f << (frac_bits - fb)


@lazy_njit(cache=True, nogil=True)
def _fields_kernel(codes, n, es, frac_bits, sign_out, scale_out, frac_out):  # pragma: no cover - numba
    for i in range(codes.size):
        sign_out[i], scale_out[i], frac_out[i] = _fields_one(np.int64(codes[i]), n, es, frac_bits)


@lazy_njit(cache=True, nogil=True, inline="always")
def _decode_one(c, n, es, frac_bits):  # pragma: no cover - numba
    """`_fields_to_float` of one code."""
    if c == 0:
        return 0.0
    if c == np.int64(1) << (n - 1):
        return np.nan
    sign, scale, frac = _fields_one(c, n, es, frac_bits)
    mag = math.ldexp(np.float64(np.int64(1) << frac_bits) + np.float64(frac), scale - frac_bits)
    return -mag if sign == 1 else mag


@lazy_njit(cache=True, nogil=True, inline="always")
def _encode_one(v, n, es):  # pragma: no cover - numba
    """Posit code of the float64 ``v`` (see `Posit.encode`)."""
    nb = n - 1
    mask_n = (np.int64(1) << n) - 1
    if math.isnan(v) or math.isinf(v):
        return np.int64(1) << nb  # NaR
    if v == 0.0:
        return np.int64(0)
    max_r = (np.int64(1) << nb) - 1  # maxpos as the magnitude bits
    max_scale = np.int64(n - 2) << es
    neg = v < 0.0
    a = -v if neg else v
    m, e2 = math.frexp(a)  # a = m * 2**e2, 0.5 <= m < 1
    scale = np.int64(e2 - 1)
    f = np.int64(m * 9007199254740992.0) - (np.int64(1) << 52)  # the 52 fraction bits of 1.f
    if scale >= max_scale:
        r = max_r  # saturate, never NaR
    elif scale < -max_scale:
        r = np.int64(1)  # a non-zero value never rounds to zero
    else:
        k = scale >> es  # floor division
        e = scale - (k << es)
        if k >= 0:
            rlen = k + 2
            regime = ((np.int64(1) << (k + 1)) - 1) << 1  # k+1 ones, then a zero
        else:
            rlen = -k + 1
            regime = np.int64(1)  # -k zeros, then a one
        head_bits = (regime << es) | e
        avail = nb + 1 - (rlen + es)  # fraction bits that fit beside one guard bit
        if avail >= 0:
            head = (head_bits << avail) | (f >> (52 - avail))
            sticky = (f & ((np.int64(1) << (52 - avail)) - 1)) != 0
        else:
            head = head_bits >> (-avail)
            sticky = (head_bits & ((np.int64(1) << (-avail)) - 1)) != 0 or f != 0
        r = head >> 1
        if (head & 1) == 1 and (sticky or (r & 1) == 1):
            r += 1  # round to nearest, ties to even, on the bit string
        if r > max_r:
            r = max_r
        if r < 1:
            r = np.int64(1)
    return ((-r) & mask_n) if neg else r


@lazy_njit(cache=True, nogil=True)
def _encode_kernel(x, n, es, out):  # pragma: no cover - numba
    for i in range(x.size):
        out[i] = _encode_one(np.float64(x[i]), n, es)


_CACHE_BITS = 10  # posits up to this wide cache each code's float32 round trip per row (wider: too many codes)


@lazy_njit(cache=True, nogil=True, inline="always")
def _value(c, n, es, frac_bits, table):  # pragma: no cover - numba
    """Value of code ``c``: a lookup in ``table`` (`Posit.values`, what `Posit.decode` uses) when it has one."""
    return table[c] if table.size else _decode_one(c, n, es, frac_bits)


@lazy_njit(cache=True, nogil=True, inline="always")
def _settle(c, s, n, es, frac_bits, table):  # pragma: no cover - numba
    """(code, float32 value, status) that code ``c`` settles on when stored as float32(decode(c) * s) and
    re-encoded from float64(value) / s."""
    w = np.float32(_value(c, n, es, frac_bits, table) * s)
    for _ in range(SETTLE_ROUNDS):
        c2 = _encode_one(np.float64(w) / s, n, es)
        if c2 == c:
            return c, w, OK
        c = c2
        w = np.float32(_value(c, n, es, frac_bits, table) * s)
    return c, w, UNSETTLED


@lazy_njit(cache=True, nogil=True)
def store_kernel(rows, scale, select, n, es, frac_bits, table, codes, values, r0, r1):  # pragma: no cover - numba
    """`hwsim.formats._kernels.store_table` for posits: rows ``r0:r1`` where ``select``; ``table`` the value of
    every code, or empty to decode from the bits. Past the first encode a weight's outcome depends only on its
    code and the row's scale: cached per row (on first use) up to `_CACHE_BITS`."""
    cached = n <= _CACHE_BITS
    size = np.int64(1) << n if cached else 1
    row_of = np.full(size, -1)
    code_of = np.empty(size, np.int64)
    value_of = np.empty(size, np.float32)
    status = OK  # posits code NaN as NaR: never NAN
    for r in range(r0, r1):
        if not select[r]:
            continue
        s = scale[r]
        for k in range(rows.shape[1]):
            c = _encode_one(np.float64(rows[r, k]) / s, n, es)
            if cached:
                if row_of[c] != r:
                    row_of[c] = r
                    code_of[c], value_of[c], st = _settle(c, s, n, es, frac_bits, table)
                    status = max(status, st)
                codes[r, k] = code_of[c]
                values[r, k] = value_of[c]
            else:
                codes[r, k], values[r, k], st = _settle(c, s, n, es, frac_bits, table)
                status = max(status, st)
    return status


def round_scaled_int(fmt: Posit, q: int, lsb_exp: int) -> int:
    """Posit code of the exact value ``q * 2**lsb_exp`` (``q`` any Python int), rounded as `Posit.encode`.

    This is what a quire read-out computes: the accumulator is a wide integer with a fixed binary point, too
    wide for float64. It follows the same bit-string rounding as the encoder, on unbounded integers.
    """
    n, es = fmt.n, fmt.es
    q, lsb_exp = int(q), int(lsb_exp)
    if q == 0:
        return 0
    nb = n - 1
    mag = -q if q < 0 else q
    length = mag.bit_length()
    scale = length - 1 + lsb_exp
    if scale >= fmt.max_scale:
        r = (1 << nb) - 1
    elif scale < -fmt.max_scale:
        r = 1
    else:
        k, e = scale >> es, scale & ((1 << es) - 1)
        regime, rlen = (((1 << (k + 1)) - 1) << 1, k + 2) if k >= 0 else (1, -k + 1)
        frac_len = length - 1
        # the whole bit string: regime, exponent, fraction (everything below the leading 1 of mag)
        bits = (((regime << es) | e) << frac_len) | (mag - (1 << frac_len))
        total = rlen + es + frac_len
        drop = total - nb  # bits that do not fit beside the sign
        if drop <= 0:
            r = bits << -drop
        else:
            r = bits >> drop
            guard = (bits >> (drop - 1)) & 1
            sticky = (bits & ((1 << (drop - 1)) - 1)) != 0
            if guard and (sticky or r & 1):
                r += 1
        r = min(max(r, 1), (1 << nb) - 1)
    return ((1 << n) - r) % (1 << n) if q < 0 else r
