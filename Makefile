# Two commands do all set-up on a fresh machine (Python >= 3.11):
#   make demo   the main job on the embedded default (SQLite)
#   make test   the whole test suite, on SQLite and then on PostgreSQL
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: demo test test-sqlite test-postgresql lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/bpass demo

test: test-sqlite test-postgresql

test-sqlite: $(STAMP)
	./scripts/ensure-chromium
	BPASS_TEST_DATABASE=sqlite $(BIN)/pytest -n auto $(PYTEST_ARGS)

test-postgresql: $(STAMP)
	./scripts/ensure-chromium
	./scripts/pg-up
	BPASS_TEST_DATABASE=postgresql $(BIN)/pytest -n auto $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis demo
