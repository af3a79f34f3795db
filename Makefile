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
