"""Accelerator architecture: engine contracts shared by the cycle model and the RTL, and whole-accelerator
configs (YAML)."""

from ._config import (
    DEFAULT_VECTOR_CYCLES,
    AcceleratorConfig,
    ArrayConfig,
    MacConfig,
    MemoryConfig,
    VectorConfig,
    config_from_dict,
    dump_config,
    load_config,
)
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
    "DEFAULT_VECTOR_CYCLES",
    "ENGINE_PIPE",
    "AcceleratorConfig",
    "ArrayConfig",
    "BlockSparseLayout",
    "EngineConfig",
    "EngineImages",
    "GemmShape",
    "MacConfig",
    "MemoryConfig",
    "VectorConfig",
    "ceil_div",
    "check_block_mask",
    "config_from_dict",
    "dump_config",
    "element_mask",
    "engine_images",
    "load_config",
    "pack_lanes",
    "tile_occupancy",
    "unpack_lanes",
]
