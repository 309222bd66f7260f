# Two commands set everything up on a fresh machine: `make demo` and `make test`.
# Both create .venv, install torch==2.13.0 first (the local CPU wheel: any other torch spec makes pip fetch
# GBs of CUDA), then hwsim with its dev extra, then the system tools. A second run is a quick no-op.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.hwsim-installed
TORCH := torch==2.13.0
# pip warns about every index folder this machine's pip.conf names but lacks; keep real errors only
PIP_FILTER := 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
DEMO_OUT ?= out/demo

.PHONY: all install system demo test lint bench clean

all: test

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null \
		|| $(PY) -m pip install -q $(TORCH) $(PIP_FILTER)
	$(PY) -m pip install -q -e '.[dev]' $(PIP_FILTER)
	@touch $(STAMP)

install: $(STAMP) system

system:
	@bash tools/install-system.sh

demo: install
	$(VENV)/bin/hwsim demo --out $(DEMO_OUT)

test: install
	$(PY) -m pytest -n 2 -q

lint: install
	$(VENV)/bin/ruff check hwsim rtl models tests benchmarks

bench: install
	$(PY) benchmarks/bench_formats.py

clean:
	rm -rf $(VENV) out build *.egg-info .pytest_cache .hypothesis .ruff_cache
