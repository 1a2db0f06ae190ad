# The two commands: `make serve` and `make test`. Both install what they need on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= ./hub-data

.PHONY: serve test install install-test system-deps lint bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

# torch first, pinned: the CPU wheel is served locally, while an unpinned torch (pulled in by
# transformers) would download gigabytes of CUDA packages.
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

serve: $(VENV)/.installed
	$(BIN)/commonshub serve --data-dir $(DATA_DIR)

system-deps:
	scripts/install-system-deps.sh

lint: $(VENV)/.installed-test
	$(BIN)/ruff check commonshub tests bench
	$(BIN)/ruff format --check commonshub tests bench
	$(BIN)/mypy

test: $(VENV)/.installed-test system-deps lint
	$(BIN)/pytest

# The speed figures of bench/ (not part of `make test`): nginx and wrk are installed if missing.
# BENCH_ARGS is passed on, e.g. `make bench BENCH_ARGS="--only resolve --quick"`.
bench: $(VENV)/.installed-test
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)
