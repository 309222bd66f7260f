"""Verification from the command line: the project's cocotb benches against generated RTL or a user's Verilog.

`verify_mac` drives a MAC unit's RTL on Icarus or Verilator with golden-model stimulus and reports the first
mismatch (cycle, port, expected, got, inputs); `verify_gemm` runs random GEMM problems on the whole engine (either
dataflow, N:M PEs) and checks Y bit for bit and the start-to-done cycles against `hwsim.sim`; `verify_lut` streams
inputs through a LUT network and checks every output against the quantized torch model. The benches (``tb_*.py``
here) are the ones the test suite runs.
"""

from ._run import VerifyResult, verify_gemm, verify_lut, verify_mac
from ._simulators import SIMULATORS, simulator_env

__all__ = ["SIMULATORS", "VerifyResult", "simulator_env", "verify_gemm", "verify_lut", "verify_mac"]
