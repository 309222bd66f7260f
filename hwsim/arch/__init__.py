"""Accelerator architecture contracts shared by the cycle model and the RTL."""

from ._engine import (
    ENGINE_PIPE,
    BlockSparseLayout,
    EngineConfig,
    EngineImages,
    GemmShape,
    ceil_div,
    check_block_mask,
    element_mask,
    engine_images,
    pack_lanes,
    tile_occupancy,
    unpack_lanes,
)

__all__ = [
    "ENGINE_PIPE",
    "BlockSparseLayout",
    "EngineConfig",
    "EngineImages",
    "GemmShape",
    "ceil_div",
    "check_block_mask",
    "element_mask",
    "engine_images",
    "pack_lanes",
    "tile_occupancy",
    "unpack_lanes",
]
