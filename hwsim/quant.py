"""Quantization of torch models: fixed point, SP2, MSQ per row, posit, and the posit/fixed-point mix.

The public home of `hwsim.frontend.quantize`; see its docstring for the schemes and the spec strings.
"""

from .frontend import QUANT_SCHEMES, ActQuant, QuantInfo, QuantSpec, parse_quant, quant_info, quantize, requant

__all__ = ["QUANT_SCHEMES", "ActQuant", "QuantInfo", "QuantSpec", "parse_quant", "quant_info", "quantize", "requant"]
