"""The cycle-level simulator: the block-sparse GEMM engine (and, later, whole models)."""

from ._scalesim import DATAFLOWS, ScaleSimCycles, scalesim_cycles
from ._gemm import GemmTiming, dense_cycles, gemm_outputs, gemm_timing, random_block_mask, tile_schedule

__all__ = ["DATAFLOWS", "ScaleSimCycles", "scalesim_cycles", "GemmTiming", "dense_cycles", "gemm_outputs", "gemm_timing", "random_block_mask", "tile_schedule"]
