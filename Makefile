# The two commands a newcomer needs: `make run` (a local network + the DvP demo) and
# `make test` (lint, types, the whole suite). Each installs what it needs first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NET_DIR ?= .localnet

.PHONY: install native postgres proto lint typecheck test test-fast bench run down clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	@touch $@

# The core compiled with mypyc into .build/native (ADR 16). Incremental: a second or so when
# no core source changed; a full build is ~4 min on 2 cores. Nodes use it only while it
# matches the sources exactly, else they run the pure Python core.
native: $(STAMP)
	$(PY) scripts/build_native.py

install: $(STAMP) native

postgres:
	@bash scripts/ensure-postgres.sh

proto: install
	$(PY) proto/generate.py

lint: install
	$(VENV)/bin/ruff check services tests examples bench proto

typecheck: install
	$(VENV)/bin/mypy

# MINICANTON_NATIVE=1: the suite fails at once rather than silently testing the pure core.
test: install postgres lint typecheck
	MINICANTON_NATIVE=1 $(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not system"

bench: install postgres
	$(PY) -m bench

run: install postgres
	$(VENV)/bin/minicanton localnet up --dir $(NET_DIR)
	$(VENV)/bin/minicanton demo dvp --dir $(NET_DIR)

down: install
	$(VENV)/bin/minicanton localnet down --dir $(NET_DIR)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .build
