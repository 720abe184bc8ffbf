# Two commands do all set-up on a fresh machine (Python >= 3.11):
#   make demo   the main job on the embedded default (SQLite)
#   make test   the whole test suite, on SQLite and then on PostgreSQL
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make demo` installs the package as a user would (`pip install .`, no extras, no editable
# mode); the test and lint targets install it editable with the dev extra. Once the dev
# install is there, the demo runs from it.
RUNTIME_STAMP := $(VENV)/.runtime-stamp
DEV_STAMP := $(VENV)/.dev-stamp
SOURCES := $(shell find signing passport api cli samples schemas -type f -not -path '*/__pycache__/*' 2>/dev/null)
DEMO_STAMP := $(if $(wildcard $(DEV_STAMP)),$(DEV_STAMP),$(RUNTIME_STAMP))
PYTEST_ARGS ?=
PORT ?=

.PHONY: demo test test-sqlite test-postgresql lint bench check-install clean

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUNTIME_STAMP): pyproject.toml $(SOURCES) | $(VENV)/bin/python
	$(BIN)/pip install --quiet .
	@touch $(RUNTIME_STAMP)

$(DEV_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e '.[dev]'
	@rm -f $(RUNTIME_STAMP)
	@touch $(DEV_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/bpass demo $(if $(PORT),--port $(PORT))

test: test-sqlite test-postgresql

test-sqlite: $(DEV_STAMP)
	./scripts/ensure-chromium
	BPASS_TEST_DATABASE=sqlite $(BIN)/pytest -n auto $(PYTEST_ARGS)

test-postgresql: $(DEV_STAMP)
	./scripts/ensure-chromium
	./scripts/pg-up
	BPASS_TEST_DATABASE=postgresql $(BIN)/pytest -n auto $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(DEV_STAMP)
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

# `pip install .` without extras, in a fresh virtual environment, runs init, demo and verify.
check-install:
	PYTHON=$(PYTHON) ./scripts/check-install

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis .import_linter_cache demo build
