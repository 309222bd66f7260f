"""The whole block-sparse engine (`hwsim.rtl.gemm_component`, either dataflow) as a design: its parameters, its
synthesized size with every PE counted (the flows flatten the hierarchy), and the cost model's PE-array area beside
it.

The engine's memories (xmem, wmem, idx, ptr, mode, bias, ymem) are register files of the depths given here, not
SRAM macros: synth_xilinx maps them to LUTRAM (RAM32M/RAM64M cells), the gate flow to flip-flops. The cost model
prices on-chip buffers as SRAM separately (`hwsim.cost.cost_tables`), so the comparison that says how good the
model's PE-array term is takes the engine without them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .._util import cache_path, read_cached, write_cached
from ._area import AreaReport, synthesize_verilog
from ._yosys import FLOW_VERSION, rtl_fingerprint, yosys_version

__all__ = ["ENGINE_DEPTHS", "EngineArea", "default_engine_depths", "engine_area", "engine_component"]

ENGINE_DEPTHS = ("x_depth", "w_depth", "idx_depth", "max_n_tiles", "y_depth")


def engine_component(cfg, depths: dict, *, check_only: bool = False):
    """The engine of ``cfg`` (`BlockSparseGemm` or `WeightStationaryGemm`, by its dataflow) and ``depths``; bad
    depths raise ValueError. ``check_only``: the component only checks the depths and is never elaborated, so it
    is marked used (Amaranth would warn about it otherwise)."""
    from ..rtl.gemm import gemm_component

    dut = gemm_component(cfg, **depths)
    if check_only:
        dut._MustUse__silence = True
    return dut


def default_engine_depths(cfg) -> dict[str, int]:
    """Memory depths of an engine that holds a problem of 4 K-blocks x 4 N-tiles x 4 M-tiles (M = 4 x rows),
    every block stored: small enough to synthesize in seconds, large enough that every counter and address path
    is exercised. (A weight-stationary xmem holds M words per K-block, its ymem M per tile column; an N:M xmem one
    word per group.)"""
    k_blocks, n_tiles, m_tiles = 4, 4, 4
    m = m_tiles * cfg.rows
    x_words = k_blocks * m if cfg.dataflow == "ws" else k_blocks * cfg.block_k // cfg.nm_group
    return {"x_depth": x_words, "w_depth": k_blocks * n_tiles * cfg.block_k,
            "idx_depth": k_blocks * n_tiles, "max_n_tiles": n_tiles, "y_depth": n_tiles * m}


@dataclass(frozen=True)
class EngineArea:
    """Synthesized engine beside its PEs: ``report`` (both flows), the PE's own report, and the gate flow's cell
    area of the engine and of one PE (Nangate X1 cells, as the cost model prices the PE array)."""

    rows: int
    cols: int
    block_k: int
    block_n: int
    mac: dict
    depths: dict
    report: AreaReport
    pe: AreaReport
    cell_area_um2: float
    pe_cell_area_um2: float
    dataflow: str = "os"
    nm_group: int = 1

    @property
    def pes(self) -> int:
        return self.rows * self.cols

    @property
    def pe_array_um2(self) -> float:
        """The cost model's PE-array area: PEs x one PE's cell area."""
        return self.pes * self.pe_cell_area_um2

    @property
    def model_um2(self) -> float:
        """The cost model's calibrated engine area: the PE-array term x `engine_overhead` (memories excluded)."""
        from ._engine_overhead import engine_overhead

        return self.pe_array_um2 * engine_overhead(self.dataflow, self.pes, self.nm_group)

    @property
    def lutram(self) -> int:
        return sum(n for cell, n in self.report.fpga_cells.items() if cell.startswith("RAM"))

    def to_dict(self) -> dict:
        out = asdict(self)
        out.update(pes=self.pes, pe_array_um2=self.pe_array_um2, model_um2=self.model_um2, lutram=self.lutram)
        return out


def engine_area(cfg, *, depths: dict | None = None, use_cache: bool = True) -> EngineArea:
    """Synthesize the engine of ``cfg`` (an `hwsim.arch.EngineConfig`) with the pinned Yosys, flattened, so every
    PE is counted; ``depths`` (default `default_engine_depths`) size its memories. Cached like `mac_area`."""
    from ._area import mac_area
    from ._cells import netlist_area_um2
    from ._synthesis import mac_netlist

    depths = {**default_engine_depths(cfg), **(depths or {})}
    unknown = sorted(set(depths) - set(ENGINE_DEPTHS))
    if unknown:
        raise ValueError(f"unknown engine depth {unknown[0]!r}; the engine takes {', '.join(ENGINE_DEPTHS)}")
    mac = {"kind": cfg.mac.kind, **cfg.mac.params()}
    design = {"rows": cfg.rows, "cols": cfg.cols, "block_k": cfg.block_k, "block_n": cfg.block_n, "mac": mac,
              "depths": depths}
    if cfg.dataflow != "os":  # (the OS cache keys stay as they were)
        design["dataflow"] = cfg.dataflow
    if cfg.nm_group > 1:
        design["nm_group"] = cfg.nm_group
    path = cache_path("area", "engine", {**design, "yosys": yosys_version(), "flow": FLOW_VERSION,
                                         "rtl": rtl_fingerprint()})
    cached = read_cached(path, use_cache)
    report = cell_area = None
    if cached is not None:
        try:
            report, cell_area = AreaReport(**cached["report"]), float(cached["cell_area_um2"])
        except (KeyError, TypeError):
            pass
    if report is None:
        from ..rtl import to_verilog
        from ._synthesis import synthesize_netlist

        dut = engine_component(cfg, depths)  # refuses bad depths before Yosys runs
        verilog = to_verilog(dut, "gemm")
        report = synthesize_verilog(verilog, "gemm", design="gemm", params=design)
        cell_area = netlist_area_um2(synthesize_netlist(verilog, "gemm"))
        write_cached(path, {"report": report.to_dict(), "cell_area_um2": cell_area}, use_cache)
    pe_cell = netlist_area_um2(mac_netlist(cfg.mac, use_cache=use_cache, nm_group=cfg.nm_group))
    return EngineArea(cfg.rows, cfg.cols, cfg.block_k, cfg.block_n, mac, depths, report,
                      mac_area(cfg.mac, use_cache=use_cache, nm_group=cfg.nm_group), cell_area, pe_cell, cfg.dataflow,
                      cfg.nm_group)
