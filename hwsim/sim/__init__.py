"""The cycle-level simulator: the block-sparse GEMM engine (and, later, whole models)."""

from ._gemm import GemmTiming, dense_cycles, gemm_outputs, gemm_timing, random_block_mask, tile_schedule
from ._scalesim import DATAFLOWS, ScaleSimCycles, scalesim_cycles

__all__ = [
    "DATAFLOWS",
    "GemmTiming",
    "ScaleSimCycles",
    "dense_cycles",
    "gemm_outputs",
    "gemm_timing",
    "random_block_mask",
    "scalesim_cycles",
    "tile_schedule",
]
