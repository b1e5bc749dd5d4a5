# s360-mock: the two set-up commands are `make serve` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8360
ARGS   ?=

.PHONY: serve test lint unit install clean load

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (s360-mock needs Python 3.11: spyne 2.14 does not import on 3.12+)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Reinstall only when the project definition changed: fast when already installed.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/s360-mock serve --host $(HOST) --port $(PORT) $(ARGS)

# A headless locust run against a fresh simulator, thresholds and the audit (docs/load-testing.md).
# make load ARGS="--users 200 --duration 2m"   (later flags win)
LOAD_DEFAULTS ?= --users 50 --duration 60s
load: $(STAMP)
	$(BIN)/s360-mock load $(LOAD_DEFAULTS) $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check mock_server fixtures contract_tests load_tests tests benchmarks examples
	$(BIN)/ruff format --check mock_server fixtures contract_tests load_tests tests benchmarks examples
	$(BIN)/mypy mock_server/core mock_server/store

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
