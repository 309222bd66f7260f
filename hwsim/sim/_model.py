"""Whole-model simulation: every op of a `Workload` on an `AcceleratorConfig`.

GEMMs run on the block-sparse engine (the parity-verified timing model) tile by tile; weights stream from DRAM
in their compressed form (kept tile-blocks plus block indices); activations stay on chip between layers when
they fit the activation buffer (attention's K and V when they fit beside the other operand); with double
buffering an op's DRAM transfers overlap its own compute (prefetched while the engine works) and only the
excess stalls. Non-GEMM ops run on the vector unit.

Two passes, each a pure function returning records: every op on its own (`OpWork`: buffers fitted, compute
timed, the actions of its compute and of the traffic it needs whatever ran before), then the memory schedule
over the whole sequence (`MemoryTraffic`: which activations come from or go to DRAM, and the transfer and stall
cycles). Each `OpResult` is built from the two; energy is its `ActionCounts` x the cost tables (`hwsim.cost`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..arch import AcceleratorConfig, GemmShape, ceil_div, nm_group_tokens
from ..workload import GemmOp, UnmappedOp, VectorOp, Workload
from ._actions import ActionCounts
from ._datapath import layer_datapath
from ._gemm import gemm_timing

INDEX_BYTES_PER_BLOCK = 2  # idx memory: one K-block index per stored tile-block
PTR_BYTES = 4  # ptr memory: one per tile column


@dataclass(frozen=True, slots=True, kw_only=True)
class OpWork:
    """One op on its own, before the memory schedule: its compute time, and the actions of its compute and of the
    traffic it needs whatever ran before it (weights; attention's K/V when they do not fit on chip).

    ``in_bytes`` / ``out_bytes`` are residency bookkeeping, not actions: the sizes of its input and output
    activations, from which the schedule decides what stays on chip.
    """

    name: str
    kind: str  # gemm, vector
    op: str
    shape: str
    density: float
    fmt: str
    compute_cycles: int
    pe_cycles: int  # PEs x compute cycles: the MAC slots the op occupies
    actions: ActionCounts
    in_bytes: float
    out_bytes: float


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryTraffic:
    """What the memory schedule adds to one op: its activations' DRAM traffic and the time all its DRAM traffic
    takes."""

    input_from_dram: bool  # the input was not (entirely) on chip, so it was fetched
    output_to_dram: bool  # the output did not fit the activation buffer, so it spilled
    actions: ActionCounts  # DRAM bytes of the fetch / spill, activation-SRAM writes of the fetch
    transfer_cycles: int
    stall_cycles: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OpResult:
    """Timing and action counts of one op (`OpWork` with its `MemoryTraffic` applied)."""

    name: str
    kind: str  # gemm, vector
    op: str
    shape: str
    density: float
    fmt: str
    compute_cycles: int
    transfer_cycles: int
    stall_cycles: int
    pe_cycles: int  # PEs x compute cycles: the MAC slots the op occupies
    actions: ActionCounts  # everything the op did, its own work and its share of the schedule
    in_bytes: float  # input activation size (residency bookkeeping, not an action)
    out_bytes: float  # output activation size

    @classmethod
    def of(cls, work: OpWork, traffic: MemoryTraffic) -> OpResult:
        return cls(name=work.name, kind=work.kind, op=work.op, shape=work.shape, density=work.density,
                   fmt=work.fmt, compute_cycles=work.compute_cycles, transfer_cycles=traffic.transfer_cycles,
                   stall_cycles=traffic.stall_cycles, pe_cycles=work.pe_cycles,
                   actions=work.actions + traffic.actions, in_bytes=work.in_bytes, out_bytes=work.out_bytes)

    @property
    def cycles(self) -> int:
        return self.compute_cycles + self.stall_cycles

    @property
    def macs(self) -> float:
        """Kept multiply-accumulates."""
        return self.actions["pe_array", "mac"]

    @property
    def utilization(self) -> float:
        return self.macs / self.pe_cycles if self.pe_cycles else 0.0

    @property
    def dram_bytes(self) -> float:
        return self.actions["dram", "read_bytes"] + self.actions["dram", "write_bytes"]


class _Widths(NamedTuple):
    w_bits: int  # one streamed W element (an activation for attention's activation x activation GEMMs)
    x_bits: int  # one input activation
    out_bits: int  # one output element (requantized)


def _widths(op: GemmOp | VectorOp, cfg: AcceleratorConfig) -> _Widths:
    """Stored widths of an op's operands, the one place that decides them: a quantized GEMM's weight codes and
    input activation codes at their formats' widths (`layer_datapath`, which also refuses a MAC that cannot run
    the layer), anything unquantized at the MAC's own widths; outputs requantized to the MAC's activation
    width."""
    if isinstance(op, GemmOp):
        d = layer_datapath(op, cfg)
        return _Widths(d.w_bits, d.x_bits, d.out_bits)
    unit = cfg.array.mac.unit
    return _Widths(unit.x_bits, unit.x_bits, unit.x_bits)


def _hardware_block_mask(op: GemmOp, workload: Workload, shape: GemmShape, block_k: int, cols: int) -> np.ndarray:
    """The layer's kept elements re-blocked at the engine's granularity (block_k x the tile's columns).

    A tile-block is stored when any element under it is kept, so pruning blocks of any shape map onto the engine;
    only whole-block pruning aligned with block_k x cols skips as much as the pruning removed.
    """
    if op.mask is None:
        return np.ones((shape.k_blocks, shape.n_tiles), bool)
    bk, bn = op.block
    mask = workload.arrays[op.mask]
    # Interval overlap at block level (no element-level expansion): engine K-block i covers rows
    # [i*block_k, (i+1)*block_k), pruning block-row r covers [r*bk, (r+1)*bk) clipped to K; likewise columns.
    # a grouped convolution's mask is (groups, kb, nb): each group is its own GEMM with its own blocks
    rows = _overlap(shape.k_blocks, block_k, mask.shape[-2], bk, op.k)
    cols_ = _overlap(shape.n_tiles, cols, mask.shape[-1], bn, op.n)
    return (rows.astype(np.int64) @ mask.astype(np.int64) @ cols_.T.astype(np.int64)) > 0  # matmul broadcasts


def _overlap(n_engine: int, engine_size: int, n_prune: int, prune_size: int, extent: int) -> np.ndarray:
    """(n_engine, n_prune) booleans: engine interval i and pruning interval j share an index below ``extent``."""
    e_lo = np.arange(n_engine)[:, None] * engine_size
    p_lo = np.arange(n_prune)[None, :] * prune_size
    lo = np.maximum(e_lo, p_lo)
    hi = np.minimum(np.minimum(e_lo + engine_size, p_lo + prune_size), extent)
    return lo < hi


def _ws_m_chunk(op: GemmOp, cfg: AcceleratorConfig, kp: int, x_bits: int) -> int:
    """Rows of X a weight-stationary engine streams per pass: as many as the output buffer holds partial sums for
    (M x cols accumulators) and the activation buffer holds rows of X over all of K, at most M."""
    arr, mem = cfg.array, cfg.memory
    copies = 2 if mem.double_buffer else 1
    acc_bits = arr.mac.unit.acc_bits
    by_out = int(mem.out_sram_kb * 1024 * 8 // (copies * arr.cols * acc_bits))
    by_act = int(mem.act_sram_kb * 1024 * 8 // (copies * kp * x_bits))
    if min(by_out, by_act) < 1:
        buffer, need, have = (("out_sram", copies * arr.cols * acc_bits / 8, mem.out_sram_kb) if by_out < 1 else
                              ("act_sram", copies * kp * x_bits / 8, mem.act_sram_kb))
        raise ValueError(f"{op.name}: one row of X through a {arr.rows}x{arr.cols} weight-stationary array over "
                         f"K={op.k} needs {need / 1024:.2f} KB of {buffer}"
                         f"{' (double-buffered)' if copies == 2 else ''}, which has {have:g} KB")
    return min(op.m, by_out, by_act)


def _ws_timings(engine, op: GemmOp, chunk: int, mask) -> list:
    """The weight-stationary passes of one GEMM: M in chunks of ``chunk`` rows (at most two distinct sizes)."""
    full, rest = divmod(op.m, chunk)
    timing = gemm_timing(engine, chunk, op.k, op.n, mask)
    return [timing] * full + ([gemm_timing(engine, rest, op.k, op.n, mask)] if rest else [])


def _group_tokens(op: GemmOp, workload: Workload, engine) -> int | None:
    """N:M engines: tokens per group of nm_group k the layer's W needs (the most non-zero weights any group
    keeps: 2 for a 2:4-pruned layer), all of them for a W that is an activation or a pruned layer that says it
    keeps every weight (density 1: what `hwsim._simulate.dense_baseline` makes of a pruned layer, whose zeros
    are still in its arrays); None otherwise."""
    if engine.nm_group == 1:
        return None
    name = op.weight if op.weight in workload.arrays else op.codes if op.codes in workload.arrays else None
    if name is None or (op.prune and op.density >= 1.0):
        return engine.nm_group
    w = np.asarray(workload.arrays[name]).reshape(-1, op.k, op.n)  # (groups or 1, k, n)
    return max(nm_group_tokens(engine, g != 0) for g in w)


def _gemm(op: GemmOp, workload: Workload, cfg: AcceleratorConfig) -> OpWork:
    arr, mem = cfg.array, cfg.memory
    engine = arr.engine()
    ws = engine.dataflow == "ws"
    group_tokens = _group_tokens(op, workload, engine)
    shape = GemmShape.of(engine, op.m, op.k, op.n)
    structured = op.mask is not None
    mask = _hardware_block_mask(op, workload, shape, arr.block_k, arr.cols) if structured else None
    kp = shape.k_blocks * arr.block_k
    w_bits, x_bits, out_bits = _widths(op, cfg)
    # a stored weight, N:M with its position in its group (not in dense mode, every weight of each group streamed)
    w_lane = w_bits + (engine.idx_bits if group_tokens is not None and group_tokens < engine.nm_group else 0)
    chunk = _ws_m_chunk(op, cfg, kp, x_bits) if ws else None
    if mask is not None and mask.ndim == 3:  # grouped: every group timed with its own blocks, one after another
        groups, per_group = list(mask), 1  # the sums below already cover every group
    else:
        groups, per_group = [mask], op.count
    timings = [t for g in groups for t in (_ws_timings(engine, op, chunk, g) if ws else
                                           [gemm_timing(engine, op.m, op.k, op.n, g, group_tokens)])]
    passes = len(timings) // len(groups)  # WS: passes over M per group; OS: 1
    compute = sum(t.cycles for t in timings) * per_group
    stored_blocks = sum(int(t.tile_blocks.sum()) for t in timings) // passes  # per tile column, summed
    tokens = sum(int(t.tile_tokens.sum()) for t in timings)

    copies = 2 if mem.double_buffer else 1
    act_weight = op.weight is None  # attention's QK^T / AV: the streamed "W" is an activation
    if not ws:
        # working set of one tile: its K-sweep of weights (one tile column), of activations (R rows), its outputs
        need = {"weight_sram": copies * kp * arr.cols * w_bits / 8,
                "act_sram": copies * arr.rows * kp * x_bits / 8,
                "out_sram": copies * arr.rows * arr.cols * out_bits / 8}
        have = {"weight_sram": mem.weight_sram_kb, "act_sram": mem.act_sram_kb, "out_sram": mem.out_sram_kb}
        for buffer, bytes_needed in need.items():
            if bytes_needed > have[buffer] * 1024:
                raise ValueError(f"{op.name}: one {arr.rows}x{arr.cols} tile over K={op.k} needs "
                                 f"{bytes_needed / 1024:.2f} KB of {buffer}"
                                 f"{' (double-buffered)' if copies == 2 else ''}, which has {have[buffer]:g} KB")
    elif copies * kp * arr.cols * w_bits / 8 > mem.weight_sram_kb * 1024:
        raise ValueError(f"{op.name}: one tile column of W over K={op.k} needs "
                         f"{copies * kp * arr.cols * w_bits / 8 / 1024:.2f} KB of weight_sram"
                         f"{' (double-buffered)' if copies == 2 else ''}, which has {mem.weight_sram_kb:g} KB")

    width = mem.sram_width_bits
    x_bytes = op.input_elements * x_bits / 8
    y_bytes = op.m * op.n * out_bits / 8 * op.count
    counts = {("pe_array", "mac"): op.kept_macs}
    if ws:
        # per pass, each stored fold's R weight words are read once and each of its X rows once; every fold
        # writes M rows of partial sums (accumulator width) and all but a column's first read them back; the
        # last fold's write is the requantized output
        acc_bits = engine.mac.acc_bits
        folds = sum(int(np.maximum(t.tile_blocks, 1).sum()) for t in timings) // passes
        partial = (folds - shape.n_tiles * len(groups)) * op.m  # rows written, then read, at accumulator width
        w_stream_reads = passes * stored_blocks * arr.rows * arr.cols * w_bits / width * per_group
        act_reads = op.m * stored_blocks * arr.rows * x_bits / width * per_group
        counts["out_sram", "write"] = (partial * acc_bits + op.m * shape.n_tiles * len(groups) * out_bits
                                       ) * arr.cols / width * per_group
        counts["out_sram", "read"] = partial * arr.cols * acc_bits / width * per_group
    else:
        # a token streams one W word (N:M: each weight with its position in its group) and one X word (N:M: the
        # group's activations, read once for the group's tokens)
        x_words = tokens if group_tokens is None else tokens / group_tokens
        w_stream_reads = shape.m_tiles * tokens * arr.cols * w_lane / width * per_group
        act_reads = shape.m_tiles * x_words * arr.rows * engine.nm_group * x_bits / width * per_group
        counts["out_sram", "write"] = (shape.m_tiles * shape.n_tiles * arr.rows * arr.cols * out_bits / width
                                       * op.count)
    if act_weight:
        # K or V was produced on chip a few ops earlier: it stays there when it fits beside the other operand
        second = (op.w_elements if op.w_elements is not None else op.k * op.n * op.count) * x_bits / 8
        counts["act_sram", "read"] = act_reads + w_stream_reads
        if x_bytes + second > mem.act_sram_kb * 1024:
            counts["dram", "read_bytes"] = second
            counts["act_sram", "write"] = second * 8 / width
    else:
        w_bytes = stored_blocks * engine.block_tokens(group_tokens) * arr.cols * w_lane / 8 * per_group
        if structured:
            w_bytes += stored_blocks * INDEX_BYTES_PER_BLOCK * per_group + (shape.n_tiles + 1) * PTR_BYTES * op.count
        counts["act_sram", "read"] = act_reads
        counts["weight_sram", "read"] = w_stream_reads
        counts["weight_sram", "write"] = w_bytes * 8 / width  # filled from DRAM
        counts["dram", "read_bytes"] = w_bytes
    return OpWork(name=op.name, kind="gemm", op=op.role,
                  shape=f"{op.m}x{op.k}x{op.n}" + (f" x{op.count}" if op.count > 1 else ""), density=op.density,
                  fmt=op.w_format or "", compute_cycles=compute, pe_cycles=compute * engine.rows * engine.cols,
                  actions=ActionCounts(counts), in_bytes=x_bytes, out_bytes=y_bytes)


def _vector(op: VectorOp, cfg: AcceleratorConfig) -> OpWork:
    cycles = cfg.vector.cycles(op.op, op.elements)
    x_bits = _widths(op, cfg).x_bits
    words = op.elements * x_bits / cfg.memory.sram_width_bits
    per = cfg.vector.cycles_per_element.get(op.op, cfg.vector.cycles_per_element["default"])
    counts = {("vector", "element_cycle"): op.elements * per, ("act_sram", "read"): words,
              ("out_sram", "write"): words}
    return OpWork(name=op.name, kind="vector", op=op.op, shape=str(op.elements), density=1.0, fmt="",
                  compute_cycles=cycles, pe_cycles=0, actions=ActionCounts(counts),
                  in_bytes=op.elements * x_bits / 8, out_bytes=op.elements * x_bits / 8)


def op_work(workload: Workload, cfg: AcceleratorConfig, *, progress: bool = False) -> list[OpWork]:
    """Every op of ``workload`` on its own (the first pass). Unmapped ops are refused, naming them."""
    unmapped = [op for op in workload if isinstance(op, UnmappedOp)]
    if unmapped:
        names = ", ".join(sorted({op.target for op in unmapped}))
        raise ValueError(f"the workload has {len(unmapped)} unmapped ops ({names}); the accelerator cannot run them")
    luts = [op.name for op in workload if op.kind == "lut"]
    if luts:
        raise ValueError(f"the workload's LUT layers ({', '.join(luts[:3])}{', ...' if len(luts) > 3 else ''}) are "
                         "logic, not GEMMs: the MAC engine cannot run them (simulate the model with lut=)")
    ops = list(workload)
    if progress:
        from tqdm import tqdm

        ops = tqdm(ops, desc="simulating", unit="op", leave=False)
    return [_gemm(op, workload, cfg) if isinstance(op, GemmOp) else _vector(op, cfg) for op in ops]


def schedule_memory(work: Sequence[OpWork], cfg: AcceleratorConfig) -> list[MemoryTraffic]:
    """The memory schedule over ops run in order (the second pass): activation residency between consecutive
    ops, and the DRAM transfer time and the stalls it causes. Pure: returns one record per op."""
    mem = cfg.memory
    act_capacity = mem.act_sram_kb * 1024
    per_cycle = cfg.dram_bytes_per_cycle
    latency = ceil_div(int(mem.dram_latency_ns * cfg.clock_mhz), 1000)
    resident = 0.0  # bytes of the previous op's output held on chip
    out = []
    for w in work:
        extra = {}
        fetch = w.in_bytes > resident + 0.5  # not (entirely) on chip: fetch the input from DRAM
        if fetch:
            extra["dram", "read_bytes"] = w.in_bytes
            extra["act_sram", "write"] = w.in_bytes * 8 / mem.sram_width_bits
        spill = w.out_bytes > act_capacity  # written to DRAM, and the next op must read it back
        if spill:
            extra["dram", "write_bytes"] = w.out_bytes
        resident = 0.0 if spill else w.out_bytes
        traffic = ActionCounts(extra)
        total = w.actions + traffic
        dram = total["dram", "read_bytes"] + total["dram", "write_bytes"]
        transfer = int(np.ceil(dram / per_cycle)) + latency if dram > 0 else 0
        stall = max(0, transfer - w.compute_cycles) if mem.double_buffer else transfer
        out.append(MemoryTraffic(input_from_dram=fetch, output_to_dram=spill, actions=traffic,
                                 transfer_cycles=transfer, stall_cycles=stall))
    return out


def simulate_workload(workload: Workload, cfg: AcceleratorConfig, *, progress: bool = False) -> list[OpResult]:
    """Simulate every op in order; returns one `OpResult` per GEMM or vector op.

    Unmapped ops have no hardware to run on: a workload holding any is refused, naming them.
    """
    work = op_work(workload, cfg, progress=progress)
    return [OpResult.of(w, t) for w, t in zip(work, schedule_memory(work, cfg), strict=True)]


def repriced_gemm(work: Sequence[OpWork], index: int, op: GemmOp, arrays: Mapping[str, np.ndarray],
                  cfg: AcceleratorConfig) -> OpResult:
    """The result op ``index`` of a simulated workload (``work``: its `op_work`) would have as ``op`` instead,
    e.g. pruned to another block mask (``arrays`` holds ``op``'s mask), everything else as it is.

    Exact, not an estimate: an op's compute and traffic depend on the op alone, and its memory schedule only on
    the op before it (what that one left on chip), so `simulate_workload` of the workload with ``op`` in place
    gives this same record. Per-layer cost curves for sparsity allocation are built from it.
    """
    if not 0 <= index < len(work):
        raise ValueError(f"index {index} is outside the workload's {len(work)} ops")
    new = _gemm(op, _ArraysOnly(arrays), cfg)
    return OpResult.of(new, schedule_memory([*work[max(index - 1, 0):index], new], cfg)[-1])


@dataclass(frozen=True, slots=True)
class _ArraysOnly:
    """What `_gemm` reads of a workload: its arrays."""

    arrays: Mapping[str, np.ndarray]
