"""The cycle-level simulator: the block-sparse GEMM engine, and whole workloads on an accelerator (engine,
memory schedule, vector unit), reporting what each op did as `ActionCounts` for the cost model."""

from ._actions import ACTIONS, ActionCounts, check_action
from ._datapath import (
    LayerDatapath,
    activation_gemm_note,
    compression_notes,
    compression_table,
    layer_datapath,
    mac_for_workload,
    mac_text,
)
from ._gemm import GemmTiming, dense_cycles, gemm_outputs, gemm_timing, random_block_mask, tile_schedule
from ._model import MemoryTraffic, OpResult, OpWork, op_work, repriced_gemm, schedule_memory, simulate_workload
from ._scalesim import DATAFLOWS, ScaleSimCycles, scalesim_cycles

__all__ = [
    "ACTIONS",
    "DATAFLOWS",
    "ActionCounts",
    "GemmTiming",
    "LayerDatapath",
    "MemoryTraffic",
    "OpResult",
    "OpWork",
    "ScaleSimCycles",
    "activation_gemm_note",
    "check_action",
    "compression_notes",
    "compression_table",
    "dense_cycles",
    "gemm_outputs",
    "gemm_timing",
    "layer_datapath",
    "mac_for_workload",
    "mac_text",
    "op_work",
    "random_block_mask",
    "repriced_gemm",
    "scalesim_cycles",
    "schedule_memory",
    "simulate_workload",
    "tile_schedule",
]
