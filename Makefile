# Beacon: `make demo` runs the portal with live data; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

# Tests run on PostgreSQL; pytest-django creates and drops test_<name>.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/beacon
TEST_ENV := DEBUG=1 DATABASE_URL=$(TEST_DATABASE_URL) LOG_DIR=$(CURDIR)/var/test-logs

.PHONY: help venv demo test lint bench lock clean

help:
	@echo "make demo   - install, migrate, seed and run the portal on http://$(HOST):$(PORT)/"
	@echo "make test   - run the whole test suite (PostgreSQL at TEST_DATABASE_URL)"
	@echo "make lint   - ruff + mypy"
	@echo "make bench  - run the benchmarks in bench/"
	@echo "make lock   - regenerate requirements/*.txt from *.in"

$(VENV)/.installed: requirements/base.txt requirements/dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements/dev.txt
	@touch $@

# uPlot from the npm registry (package-lock.json), copied into static/vendor/ (not committed).
VENDOR := static/vendor/uplot/uPlot.iife.min.js
$(VENDOR): package.json package-lock.json scripts/vendor_static.sh
	scripts/vendor_static.sh
	@touch $@

venv: $(VENV)/.installed $(VENDOR)

demo: venv
	PY=$(PY) HOST=$(HOST) PORT=$(PORT) scripts/demo.sh

test: venv
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

bench: venv
	@for script in bench/[!_]*.py; do echo "==> $$script"; DEBUG=1 $(PY) $$script || exit 1; done

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=1 $(VENV)/bin/mypy .
	cd agent && ../$(VENV)/bin/mypy beacon_agent  # the agent's own config: Python 3.9, strict defs

lock: venv
	cd requirements && ../$(VENV)/bin/uv pip compile -q --generate-hashes --python-version 3.11 base.in -o base.txt
	cd requirements && ../$(VENV)/bin/uv pip compile -q --generate-hashes --python-version 3.11 dev.in -o dev.txt

clean:
	rm -rf var/ logs/ staticfiles/ static/vendor/ node_modules/ .pytest_cache .mypy_cache .ruff_cache
