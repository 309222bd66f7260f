"""Whole-model simulation: every op of a `Workload` on an `AcceleratorConfig`.

GEMMs run on the block-sparse engine (the parity-verified timing model) tile by tile; weights stream from DRAM
in their compressed form (kept tile-blocks plus block indices); activations stay on chip between layers when
they fit the activation buffer (attention's K and V when they fit beside the other operand); with double
buffering an op's DRAM transfers overlap its own compute (prefetched while the engine works) and only the
excess stalls. Non-GEMM ops run on the vector unit. Each op yields cycles, stalls, utilization
and action counts; energy is counts x the cost tables (`hwsim.cost`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..arch import AcceleratorConfig, GemmShape, ceil_div
from ..workload import GemmOp, UnmappedOp, VectorOp, Workload
from ._gemm import gemm_timing

INDEX_BYTES_PER_BLOCK = 2  # idx memory: one K-block index per stored tile-block
PTR_BYTES = 4  # ptr memory: one per tile column


@dataclass
class OpResult:
    """Timing and action counts of one op."""

    name: str
    kind: str  # gemm, vector, unmapped
    op: str
    shape: str
    density: float
    fmt: str
    compute_cycles: int
    transfer_cycles: int
    stall_cycles: int
    macs: float  # kept multiply-accumulates
    pe_cycles: int  # PEs x compute cycles: the MAC slots the op occupies
    counts: dict[str, float] = field(default_factory=dict)  # actions: sram reads/writes, dram bytes, vector ops

    @property
    def cycles(self) -> int:
        return self.compute_cycles + self.stall_cycles

    @property
    def utilization(self) -> float:
        return self.macs / self.pe_cycles if self.pe_cycles else 0.0


def _hardware_block_mask(op: GemmOp, workload: Workload, shape: GemmShape, block_k: int, cols: int) -> np.ndarray:
    """The layer's kept elements re-blocked at the engine's granularity (block_k x the tile's columns).

    A tile-block is stored when any element under it is kept, so pruning blocks of any shape map onto the engine;
    only whole-block pruning aligned with block_k x cols skips as much as the pruning removed.
    """
    keep = np.ones((op.k, op.n), bool)
    if op.mask is not None:
        bk, bn = op.block
        mask = workload.arrays[op.mask]
        keep = np.repeat(np.repeat(mask, bk, 0), bn, 1)[: op.k, : op.n]
    kp, np_ = shape.k_blocks * block_k, shape.n_tiles * cols
    padded = np.zeros((kp, np_), bool)
    padded[: op.k, : op.n] = keep
    return padded.reshape(shape.k_blocks, block_k, shape.n_tiles, cols).any(axis=(1, 3))


def _gemm(op: GemmOp, workload: Workload, cfg: AcceleratorConfig) -> OpResult:
    arr, mem = cfg.array, cfg.memory
    engine = arr.engine()
    unit = engine.mac
    shape = GemmShape.of(engine, op.m, op.k, op.n)
    structured = op.mask is not None
    mask = _hardware_block_mask(op, workload, shape, arr.block_k, arr.cols) if structured else None
    timing = gemm_timing(engine, op.m, op.k, op.n, mask)
    compute = timing.cycles * op.count
    kp = shape.k_blocks * arr.block_k

    # working set of one tile: its K-sweep of weights (one tile column), of activations (R rows), its outputs
    copies = 2 if mem.double_buffer else 1
    act_weight = op.weight is None  # attention's QK^T / AV: the streamed "W" is an activation
    w_bits = unit.x_bits if act_weight else unit.w_bits
    need = {"weight_sram": copies * kp * arr.cols * w_bits / 8,
            "act_sram": copies * arr.rows * kp * unit.x_bits / 8,
            "out_sram": copies * arr.rows * arr.cols * unit.x_bits / 8}
    have = {"weight_sram": mem.weight_sram_kb, "act_sram": mem.act_sram_kb, "out_sram": mem.out_sram_kb}
    for buffer, bytes_needed in need.items():
        if bytes_needed > have[buffer] * 1024:
            raise ValueError(f"{op.name}: one {arr.rows}x{arr.cols} tile over K={op.k} needs "
                             f"{bytes_needed / 1024:.2f} KB of {buffer}"
                             f"{' (double-buffered)' if copies == 2 else ''}, which has {have[buffer]:g} KB")

    stored_blocks = int(timing.tile_blocks.sum())  # per tile column, summed
    tokens = int(timing.tile_tokens.sum())
    width = mem.sram_width_bits
    x_bytes = op.input_elements * unit.x_bits / 8
    y_bytes = op.m * op.n * unit.x_bits / 8 * op.count  # outputs are requantized to the activation width
    w_stream_reads = shape.m_tiles * tokens * arr.cols * w_bits / width * op.count
    counts = {
        "act_sram_reads": shape.m_tiles * tokens * arr.rows * unit.x_bits / width * op.count,
        "out_sram_writes": shape.m_tiles * shape.n_tiles * arr.rows * arr.cols * unit.x_bits / width * op.count,
        "dram_read_bytes": 0.0,
        "dram_write_bytes": 0.0,
        "in_bytes": x_bytes,
        "out_bytes": y_bytes,
    }
    if act_weight:
        # K or V was produced on chip a few ops earlier: it stays there when it fits beside the other operand
        second = (op.w_elements if op.w_elements is not None else op.k * op.n * op.count) * unit.x_bits / 8
        counts["act_sram_reads"] += w_stream_reads
        if x_bytes + second > mem.act_sram_kb * 1024:
            counts["dram_read_bytes"] += second
            counts["act_sram_writes"] = second * 8 / width
    else:
        w_bytes = stored_blocks * arr.block_k * arr.cols * w_bits / 8 * op.count
        if structured:
            w_bytes += (stored_blocks * INDEX_BYTES_PER_BLOCK + (shape.n_tiles + 1) * PTR_BYTES) * op.count
        counts["weight_sram_reads"] = w_stream_reads
        counts["weight_sram_writes"] = w_bytes * 8 / width  # filled from DRAM
        counts["dram_read_bytes"] += w_bytes
    macs = op.kept_macs
    fmt = op.w_format or ""
    return OpResult(op.name, "gemm", op.role, f"{op.m}x{op.k}x{op.n}" + (f" x{op.count}" if op.count > 1 else ""),
                    op.density, fmt, compute, 0, 0, macs, compute * engine.rows * engine.cols, counts)


def _vector(op: VectorOp, cfg: AcceleratorConfig) -> OpResult:
    cycles = cfg.vector.cycles(op.op, op.elements)
    x_bits = cfg.array.mac.unit.x_bits
    words = op.elements * x_bits / cfg.memory.sram_width_bits
    per = cfg.vector.cycles_per_element.get(op.op, cfg.vector.cycles_per_element["default"])
    counts = {"vector_ops": op.elements * per, "act_sram_reads": words, "out_sram_writes": words,
              "in_bytes": op.elements * x_bits / 8, "out_bytes": op.elements * x_bits / 8,
              "dram_read_bytes": 0.0, "dram_write_bytes": 0.0}
    return OpResult(op.name, "vector", op.op, str(op.elements), 1.0, "", cycles, 0, 0, 0.0, 0, counts)


def simulate_workload(workload: Workload, cfg: AcceleratorConfig, *, progress: bool = False) -> list[OpResult]:
    """Simulate every op in order; returns one `OpResult` per GEMM or vector op.

    Unmapped ops have no hardware to run on: a workload holding any is refused, naming them.
    """
    unmapped = [op for op in workload if isinstance(op, UnmappedOp)]
    if unmapped:
        names = ", ".join(sorted({op.target for op in unmapped}))
        raise ValueError(f"the workload has {len(unmapped)} unmapped ops ({names}); the accelerator cannot run them")
    ops = list(workload)
    if progress:
        from tqdm import tqdm

        ops = tqdm(ops, desc="simulating", unit="op", leave=False)
    results = [_gemm(op, workload, cfg) if isinstance(op, GemmOp) else _vector(op, cfg) for op in ops]
    _schedule_memory(results, cfg)
    return results


def _schedule_memory(results: list[OpResult], cfg: AcceleratorConfig) -> None:
    """Activation residency between consecutive ops, DRAM transfer time and the stalls it causes."""
    mem = cfg.memory
    act_capacity = mem.act_sram_kb * 1024
    per_cycle = cfg.dram_bytes_per_cycle
    latency = ceil_div(int(mem.dram_latency_ns * cfg.clock_mhz), 1000)
    resident = 0.0  # bytes of the previous op's output held on chip
    for r in results:
        c = r.counts
        if c["in_bytes"] > resident + 0.5:  # not (entirely) on chip: fetch the input from DRAM
            c["dram_read_bytes"] += c["in_bytes"]
            c["act_sram_writes"] = c.get("act_sram_writes", 0.0) + c["in_bytes"] * 8 / mem.sram_width_bits
        if c["out_bytes"] <= act_capacity:
            resident = c["out_bytes"]
        else:  # spills: written to DRAM, and the next op must read it back
            c["dram_write_bytes"] += c["out_bytes"]
            resident = 0.0
        dram = c["dram_read_bytes"] + c["dram_write_bytes"]
        r.transfer_cycles = int(np.ceil(dram / per_cycle)) + latency if dram > 0 else 0
        r.stall_cycles = max(0, r.transfer_cycles - r.compute_cycles) if mem.double_buffer else r.transfer_cycles
