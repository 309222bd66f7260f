"""Area and energy: synthesis with a pinned Yosys (and, later, ERT/ART cost tables)."""

from ._synth import FLOW_VERSION, AreaReport, cache_dir, mac_area, synthesize_verilog, yosys_version

__all__ = ["FLOW_VERSION", "AreaReport", "cache_dir", "mac_area", "synthesize_verilog", "yosys_version"]
