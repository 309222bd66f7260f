"""Amaranth RTL of hwsim's hardware blocks (installed as ``hwsim.rtl``).

Each component mirrors one golden model in `hwsim.mac`; tests prove they agree bit for bit, cycle for cycle.
"""

from ._verilog import describe_ports, to_verilog, write_verilog
from .gemm import BlockSparseGemm, WeightStationaryGemm, gemm_component
from .lutnet import LutLayer, LutNetwork
from .mac import MacBase, NMPe, mac_component, pe_component
from .reference import RegisteredOp
from .sim import simulate_mac

__all__ = [
    "BlockSparseGemm",
    "LutLayer",
    "LutNetwork",
    "MacBase",
    "NMPe",
    "RegisteredOp",
    "WeightStationaryGemm",
    "describe_ports",
    "gemm_component",
    "mac_component",
    "pe_component",
    "simulate_mac",
    "to_verilog",
    "write_verilog",
]
