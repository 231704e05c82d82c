# Two commands on a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAM := .pulse/tools/sam/bin/sam
PORT ?= 3000

.PHONY: run test lint typecheck unit install openapi sam-validate sam-build bench bench-cold-start bench-dora bench-github bench-seed-large clean bench-portfolio bench-import bench-executive bench-ingest-http

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

## sam build, then bytecode for every function and layer and Lambda's size limit (pulse.local.artifacts).
sam-build: $(SAM) $(STAMP)
	$(SAM) build
	$(BIN)/python -m pulse.local.artifacts .aws-sam/build

bench: bench-cold-start

## Cold start of every function (fresh process: import + first invocation) against bare FastAPI + Mangum.
bench-cold-start: $(STAMP)
	$(BIN)/python -m bench.cold_start $(BENCH_ARGS)

## Ingest over HTTP: 5 MB NDJSON batches (records/s) and signed GitHub webhooks (p50) through the handler.
bench-ingest-http: $(STAMP)
	$(BIN)/python -m bench.ingest_http $(BENCH_ARGS)

## DORA summary latency on the small and large demo orgs (seeds pulse_bench_<scale> once).
bench-dora: $(STAMP)
	$(BIN)/python -m bench.dora $(BENCH_ARGS)

## GitHub analytics latency (PR page + summary, insights, contributors) on the demo orgs.
bench-github: $(STAMP)
	$(BIN)/python -m bench.github $(BENCH_ARGS)

## Portfolio /teams, /alignment, /projects latency, uncached, on the small and large demo orgs.
bench-portfolio: $(STAMP)
	$(BIN)/python -m bench.portfolio $(BENCH_ARGS)

## Executive cards (uncached, cached), risks, trends, report and cold starts on the demo orgs.
bench-executive: $(STAMP)
	$(BIN)/python -m bench.executive $(BENCH_ARGS)

## pulse seed-demo --scale large into a fresh database (budget 180 s), against generation alone.
bench-seed-large: $(STAMP)
	$(BIN)/python -m bench.seed_demo --scale large $(BENCH_ARGS)

## pulse import of a generated 1,000,000-line file into a fresh database, against row-by-row inserts.
bench-import: $(STAMP)
	$(BIN)/python -m bench.import_throughput $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .aws-sam .mypy_cache .ruff_cache .pytest_cache
