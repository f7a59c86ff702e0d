# The short verbs. Every target creates .venv with the Python on PATH (3.11+) if needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test test-postgres lint format migration bench serve clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

## Install Trofast and start it on SQLite with a generated demo shop (http://127.0.0.1:8000).
demo: $(VENV)/.installed
	$(BIN)/trofast demo --host $(HOST) --port $(PORT)

serve: $(VENV)/.installed
	$(BIN)/trofast serve --host $(HOST) --port $(PORT)

## Install the development dependencies and run the whole test suite.
## Set TROFAST_TEST_DATABASE_URL=postgresql://... to run it on PostgreSQL.
test: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

migration: $(STAMP)
	$(BIN)/alembic revision --autogenerate -m "$(m)"

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench.run_all $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .trofast .pytest_cache .mypy_cache .ruff_cache
