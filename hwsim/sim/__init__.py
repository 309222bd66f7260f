"""The cycle-level simulator: the block-sparse GEMM engine (and, later, whole models)."""

from ._gemm import GemmTiming, dense_cycles, gemm_outputs, gemm_timing, tile_schedule

__all__ = ["GemmTiming", "dense_cycles", "gemm_outputs", "gemm_timing", "tile_schedule"]
