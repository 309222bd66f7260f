"""Verification from the command line: the project's cocotb benches against generated RTL or a user's Verilog.

`verify_mac` drives a MAC unit's RTL on Icarus or Verilator with golden-model stimulus and reports the first
mismatch (cycle, port, expected, got, inputs); `verify_gemm` runs random GEMM problems on the whole engine and
checks Y bit for bit and the start-to-done cycles against `hwsim.sim`. The benches (``tb_*.py`` here) are the
ones the test suite runs.
"""

from ._run import VerifyResult, verify_gemm, verify_mac
from ._simulators import SIMULATORS, simulator_env

__all__ = ["SIMULATORS", "VerifyResult", "simulator_env", "verify_gemm", "verify_mac"]
