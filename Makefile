# Two commands on a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAM := .pulse/tools/sam/bin/sam
PORT ?= 3000

.PHONY: run test lint typecheck unit install openapi sam-validate sam-build bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Start embedded services, migrate, load the demo org once, create the demo admin, serve :3000.
run: $(STAMP)
	$(BIN)/python -m pulse.local.dev --port $(PORT)

## Lint, format check, types and the whole test suite.
test: $(STAMP) lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

openapi: $(STAMP)
	$(BIN)/pulse openapi

$(SAM):
	$(PYTHON) -m venv .pulse/tools/sam
	.pulse/tools/sam/bin/pip install --quiet aws-sam-cli

sam-validate: $(SAM)
	$(SAM) validate --lint

sam-build: $(SAM)
	$(SAM) build

bench: $(STAMP)
	$(BIN)/python -m bench.cold_start

clean:
	rm -rf $(VENV) .aws-sam .mypy_cache .ruff_cache .pytest_cache
