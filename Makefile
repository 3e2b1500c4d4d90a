# Two commands for students, CI and instructors alike:
#   make lab    create .venv if missing, install the workbook, open JupyterLab on notebooks/
#   make test   create .venv if missing, install with dev extras, run unit tests + nbval offline
# A headless server: make lab LAB_ARGS="--no-browser --ip=127.0.0.1"
#
# torch: constraints/cpu.txt pins the CPU wheel here. The pin is NOT in pyproject.toml, so
# Colab (pip install -e .) keeps its own CUDA torch.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONSTRAINTS := constraints/cpu.txt
PIP := $(BIN)/python -m pip install -c $(CONSTRAINTS)
PYTEST ?= $(BIN)/python -m pytest
LAB_ARGS ?=
# Stamps: reinstall only when pyproject.toml or the constraints change.
STAMP := $(VENV)/.installed
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: lab test pytest lint eval train-mini-sd install install-dev clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) -e .
	touch $@

$(STAMP_DEV): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) -e ".[dev]"
	touch $@ $(STAMP)

install: $(STAMP)
install-dev: $(STAMP_DEV)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/ $(LAB_ARGS)

test: $(STAMP_DEV)
	@$(MAKE) --no-print-directory pytest

# Unit tests and every notebook, offline and in fast mode; pytest's exit 5 (nothing collected)
# fails like any other non-zero exit.
pytest:
	@HF_HUB_OFFLINE=1 WORKBOOK_FAST=1 $(PYTEST) tests notebooks --nbval-lax --durations=15; \
	status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests (exit 5); that is a failure" >&2; fi; \
	exit $$status

# The bundled model's benchmark (minutes): adherence grid, people, variety, speed, memory;
# rewrites data/models/mini-sd/README.md and evaluation.json from what it measured.
eval: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m helpers.evaluate --write-card

# Retrain the bundled model (about an hour on 2 CPU cores; re-run to resume from runs/mini-sd/).
train-mini-sd: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m helpers.train_mini_sd

lint: $(STAMP_DEV)
	$(BIN)/ruff check helpers tests tools notebooks

clean-venv:
	rm -rf $(VENV)
