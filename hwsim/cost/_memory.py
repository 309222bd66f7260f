"""Memory energies and areas from Horowitz's 45 nm table with size scaling: SRAM reads by size and width, DRAM
per bit, SRAM area from the 6T bitcell."""

from __future__ import annotations

import math

import numpy as np

from ._data import CELLS, HOROWITZ, data_view


def _sram_anchors() -> tuple[np.ndarray, np.ndarray]:
    anchors = data_view(HOROWITZ)["sram_64bit_read_pj"]
    sizes = sorted(anchors, key=float)
    return np.array([float(k) for k in sizes]), np.array([float(anchors[k]) for k in sizes])


def sram_read_energy_pj(kbytes: float, bits: int = 64) -> float:
    """Energy (pJ) of one ``bits``-wide read from an SRAM of ``kbytes`` KB, from Horowitz's three anchors.

    Per 64-bit read the energy is interpolated piecewise linearly in log(energy) against log(size) -- a power law
    between neighbouring anchors (exponent 0.5 from 8 to 32 KB, 0.46 from 32 KB to 1 MB) -- so it hits 8 KB
    10 pJ, 32 KB 20 pJ and 1 MB 100 pJ exactly. Below 8 KB and above 1 MB the nearest segment's exponent is
    extended. The access width scales the energy linearly (bits / 64): wordline and sense-amplifier energy
    per bit, which ignores the shared decoder (an approximation for widths far from 64).
    """
    if not kbytes > 0 or not bits > 0:
        raise ValueError(f"SRAM size and width must be positive, got {kbytes} KB, {bits} bits")
    kb, pj = _sram_anchors()
    lx, ly = np.log(kb), np.log(pj)
    x = math.log(kbytes)
    i = int(np.clip(np.searchsorted(lx, x) - 1, 0, len(lx) - 2))  # segment, extended at both ends
    slope = float((ly[i + 1] - ly[i]) / (lx[i + 1] - lx[i]))
    j = i if abs(x - lx[i]) <= abs(x - lx[i + 1]) else i + 1  # power law from the nearer end: anchors exact
    per64 = float(pj[j]) * (kbytes / float(kb[j])) ** slope
    return per64 * bits / 64.0


def sram_area_mm2(kbytes: float) -> float:
    """Area (mm^2) of a ``kbytes`` KB SRAM: bits x 45 nm 6T bitcell area / array efficiency (an estimate, see
    data/cells_45nm.yaml)."""
    if not kbytes > 0:
        raise ValueError(f"SRAM size must be positive, got {kbytes} KB")
    s = data_view(CELLS)["sram"]
    return kbytes * 1024 * 8 * float(s["bitcell_um2"]) / float(s["array_efficiency"]) * 1e-6


def dram_energy_pj_per_bit(bound: str | None = None) -> float:
    """DRAM access energy per bit (pJ) from Horowitz's 1.3-2.6 nJ per 64-bit access: ``"low"`` 20, ``"mid"`` 30
    (the default we take) or ``"high"`` 40 pJ/bit."""
    d = data_view(HOROWITZ)["dram_pj_per_bit"]
    bound = bound or d["taken"]
    if bound not in ("low", "mid", "high"):
        raise ValueError(f"bound must be 'low', 'mid' or 'high', not {bound!r}")
    return float(d[bound])
