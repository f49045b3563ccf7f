# Two commands do all the set-up on a fresh machine:
#   make demo   create .venv, install csmoe with the versions of constraints.txt, run the workflow
#               on the embedded default (config/config.yaml)
#   make test   same install, then the test suite (slow tests excluded; `make test-all`;
#               the SLURM integration test: `make test-slurm`)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= 2
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: install lock demo test test-all test-slurm fuzz lint format bench-index clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the project file or the locked versions change.
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --constraint constraints.txt -e ".[dev]"
	touch $@

install: $(STAMP)

# A fresh resolve of pyproject.toml's ranges (newest versions), frozen into constraints.txt.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e ".[dev]"
	{ sed -n '1,3p' constraints.txt; .lock-venv/bin/python -m pip freeze --exclude-editable; } \
		> constraints.txt.tmp && mv constraints.txt.tmp constraints.txt
	rm -rf .lock-venv

demo: install
	$(BIN)/snakemake --cores $(CORES)

test: install
	$(BIN)/python -m pytest

test-all: install
	$(BIN)/python -m pytest -m "not slurm"

# The workflow on a real single-node SLURM cluster (needs root: installs slurm-wlm with
# apt when missing, starts and stops the daemons itself).
test-slurm: install
	$(BIN)/python -m pytest -m slurm tests/test_slurm.py

lint: install
	$(BIN)/ruff check csmoe tests
	$(BIN)/ruff format --check csmoe tests
	$(BIN)/snakefmt --check Snakefile workflow
	$(BIN)/snakemake --lint

format: install
	$(BIN)/ruff format csmoe tests
	$(BIN)/ruff check --fix csmoe tests
	$(BIN)/snakefmt Snakefile workflow

# Every workflow output (results/ keeps its README), built input, log and benchmark.
clean:
	find results -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
	rm -rf resources logs benchmarks .snakemake

# The slow fuzz run: 1,000 mutated inputs per format, JSON summary in fuzz-summary.json.
fuzz: install
	FUZZ_SUMMARY=fuzz-summary.json $(BIN)/python -m pytest -m slow -s tests/test_fuzz.py
