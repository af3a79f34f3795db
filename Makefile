# The two commands: `make demo` and `make test`. Both set up .venv on first use.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo stop status test test-fast lint format clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 needed, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

## Run the demo: dev server + Web UI (8233), reference services, worker, two campaigns.
demo: setup
	$(BIN)/python -m devstack demo

## Stop what `make demo` left running.
stop: setup
	$(BIN)/python -m devstack down

status: setup
	$(BIN)/python -m devstack status

## The whole suite: unit, workflow (time-skipping server) and integration (real dev server).
test: setup
	$(BIN)/python -m pytest

## Unit and workflow tests only.
test-fast: setup
	$(BIN)/python -m pytest tests/unit tests/workflow

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean: stop
	rm -rf .run

## The benchmark on its own stack: CampaignWorkflow vs the floor vs plain asyncio (a few minutes).
## Options go in BENCH_ARGS, e.g. make bench BENCH_ARGS="--workers 2 --json". See docs/performance.md.
.PHONY: bench
bench: setup
	$(BIN)/python -m bench $(BENCH_ARGS)

## The REST API (FastAPI, OpenAPI at /docs) over the stack's Temporal: 127.0.0.1:8800 by default.
.PHONY: gateway
gateway: setup
	$(BIN)/python -m rest_gateway

## The reliability suite at full size (200 + 100 + 100 campaigns, 2000 examples per property,
## 100 per API operation): a quarter of an hour on 2 cores. Figures: test-artifacts/. See
## docs/reliability.md. (`make test` runs the same suite at CI size.)
.PHONY: reliability
reliability: setup
	@mkdir -p test-artifacts
	RELIABILITY_SCALE=full RELIABILITY_FIGURES=test-artifacts/reliability-figures.jsonl \
		$(BIN)/python -m pytest tests/reliability -p no:cacheprovider
