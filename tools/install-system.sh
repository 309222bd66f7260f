#!/usr/bin/env bash
# System tools the RTL tests need. Icarus Verilog comes from Debian when we are root and it is missing;
# otherwise we say what is missing and carry on (the RTL tests then skip with a printed reason).
set -euo pipefail
if command -v iverilog >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing iverilog (apt-get)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iverilog >/dev/null
else
    echo "note: iverilog is not installed and we are not root; RTL tests on Icarus will be skipped" >&2
fi
