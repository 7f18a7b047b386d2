# Beacon: `make demo` runs the portal with live data; `make test` runs the whole suite.
SHELL := /bin/bash
# Python >= 3.11 (scripts/check_python.sh says so in one line, and rebuilds a venv made by another version).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

# Tests run on PostgreSQL; pytest-django creates and drops test_<name>.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/beacon
TEST_ENV := DEBUG=1 DATABASE_URL=$(TEST_DATABASE_URL) LOG_DIR=$(CURDIR)/var/test-logs

# 1 when PYTHON was given (make venv PYTHON=python3.12): an existing venv of another version is rebuilt.
PYTHON_EXPLICIT := $(if $(filter command line environment,$(origin PYTHON)),1,0)

.PHONY: help venv demo manage test lint bench lock clean distclean

help:
	@echo "make demo   - install, migrate, seed and run the portal on http://$(HOST):$(PORT)/ (make demo PORT=8001)"
	@echo "make manage ARGS='createsuperuser' - manage.py with the demo's environment (var/demo.env)"
	@echo "make test   - run the whole test suite (PostgreSQL at TEST_DATABASE_URL)"
	@echo "make lint   - ruff + mypy"
	@echo "make bench  - run the benchmarks in bench/"
	@echo "make lock   - regenerate requirements/*.txt from *.in"
	@echo "make clean  - remove var/, logs, caches and the .venv (a fresh start)"

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

venv:
	@scripts/check_python.sh "$(PYTHON)" "$(VENV)" $(PYTHON_EXPLICIT)
	@$(MAKE) -s --no-print-directory $(VENV)/.installed $(VENDOR)

# The port is checked first: before the venv is built, nothing started, on any python3.
demo:
	@py=$$(for p in $(PYTHON) python3; do "$$p" -c '' >/dev/null 2>&1 && { echo "$$p"; break; }; done); \
	"$${py:-python3}" scripts/check_port.py "$(HOST)" "$(PORT)"
	@$(MAKE) --no-print-directory venv
	PY=$(PY) HOST=$(HOST) PORT=$(PORT) scripts/demo.sh

# manage.py as the demo runs it: var/demo.env (written by `make demo`), else DEBUG=1 on the embedded defaults.
manage: venv
	@set -a; if [ -f var/demo.env ]; then . var/demo.env; else DEBUG=1; fi; set +a; $(PY) manage.py $(ARGS)

test: venv
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

bench: venv
	@for script in bench/[!_]*.py; do echo "==> $$script"; DEBUG=1 $(PY) $$script || exit 1; done

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=1 $(VENV)/bin/mypy .
	cd agent && ../$(VENV)/bin/mypy beacon_agent  # the agent's own config: Python 3.9, strict defs
	cd clients/python && ../../$(VENV)/bin/mypy beacon_client  # standard library, Python 3.9

lock: venv
	cd requirements && ../$(VENV)/bin/uv pip compile -q --generate-hashes --python-version 3.11 base.in -o base.txt
	cd requirements && ../$(VENV)/bin/uv pip compile -q --generate-hashes --python-version 3.11 dev.in -o dev.txt

# A fresh start: also the venv (rebuilt by the next make venv/demo/test).
clean:
	rm -rf var/ logs/ staticfiles/ static/vendor/ node_modules/ .pytest_cache .mypy_cache .ruff_cache $(VENV)

distclean: clean
