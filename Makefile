# Two commands for students, CI and instructors alike:
#   make lab    create .venv if missing, install the workbook, open JupyterLab on notebooks/
#   make test   create .venv if missing, install with dev extras, run unit tests + nbval offline
# A headless server: make lab LAB_ARGS="--no-browser --ip=127.0.0.1"
# For instructors:
#   make warm   run every notebook once so helpers.core.generate's disk cache holds its pictures
#   make build  execute every notebook (full mode) into build/: .ipynb + .html handouts
#               (make build FAST=1: the quick fast-mode run the tests use)
#   make checkpoints  retrain what 01, 03, 09 and 11 load (data/checkpoints/): each notebook run from
#               scratch in full mode, its own cells saving the weights; then the card
#   make editions  student edition (no solutions, grading cells) + instructor edition (executed)
#   make grade SUBMISSIONS=<folder> OUT=<file.csv>  grade handed-in student editions with nbgrader
#   make slides  every notebook executed, then reveal.js slides in build/slides/
#   make lab LAB_LANGUAGE=en  English menus (Korean is the default)
#   make binder-check  the Dockerfile repo2docker (Binder, JupyterHub) would build, not building it
# For maintainers:
#   make colab-twin  Colab's package versions on Python 3.13 (constraints/colab.txt), the workbook
#               installed as the Colab set-up cell does, then unit tests, notebooks, real-backend tests
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
STAMP_INSTRUCTOR := $(VENV)/.installed-instructor

.PHONY: lab test pytest lint eval train-mini-sd train-mini-sd3 eval-sd3 train-controlnet eval-controlnet install install-dev clean-venv warm build browser colab-twin checkpoints

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# JupyterLab is the "lab" extra (Colab has its own front end, so it is not a core dependency).
$(STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) -e ".[lab]"
	touch $@

$(STAMP_DEV): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) -e ".[lab,instructor,dev]"
	touch $@ $(STAMP) $(STAMP_INSTRUCTOR)

# The instructor's kit (make editions, make grade) adds nbgrader to the lab install.
$(STAMP_INSTRUCTOR): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) -e ".[lab,instructor]"
	touch $@ $(STAMP)

install: $(STAMP) lab-settings
install-dev: $(STAMP_DEV)

lab: $(STAMP) lab-settings
	$(BIN)/jupyter lab notebooks/ $(LAB_ARGS)

# JupyterLab's menus in Korean (the ko-KR language pack) by default: jupyterlab-settings/overrides.json
# is copied into the venv's JupyterLab settings. make lab LAB_LANGUAGE=en: English menus. A language
# picked in JupyterLab's Settings → Language menu is kept per user and wins over both.
LAB_LANGUAGE ?= ko
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
.PHONY: lab-settings
lab-settings: $(STAMP)
	@mkdir -p $(dir $(LAB_OVERRIDES))
	@case "$(LAB_LANGUAGE)" in \
		ko) cp jupyterlab-settings/overrides.json $(LAB_OVERRIDES) ;; \
		en) sed 's/"ko_KR"/"en"/' jupyterlab-settings/overrides.json > $(LAB_OVERRIDES) ;; \
		*) echo "LAB_LANGUAGE must be ko or en, not $(LAB_LANGUAGE)" >&2; exit 1 ;; \
	esac
	@echo "JupyterLab menus: $(LAB_LANGUAGE) ($(LAB_OVERRIDES))"

test: $(STAMP_DEV) browser
	@$(MAKE) --no-print-directory pytest

# Unit tests and every notebook, offline and in fast mode, generation cache off; pytest's exit 5
# (nothing collected) fails like any other non-zero exit. -rs prints why a test was skipped.
# pytest-xdist runs WORKERS processes (default: one per core), each with TEST_THREADS torch
# threads, so that they do not fight over the cores; --dist loadscope keeps each notebook's cells,
# and each test module, in one worker, in order. WORKERS=0 runs everything in this process.
WORKERS ?= auto
TEST_THREADS ?= 1
XDIST := $(if $(filter 0,$(WORKERS)),,-n $(WORKERS) --dist loadscope)
pytest:
	@HF_HUB_OFFLINE=1 WORKBOOK_FAST=1 WORKBOOK_CACHE=off WORKBOOK_BROWSER_TEST=$(BROWSER) OMP_NUM_THREADS=$(TEST_THREADS) $(PYTEST) tests notebooks --nbval-lax $(XDIST) --durations=15 -rs; \
	status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests (exit 5); that is a failure" >&2; fi; \
	exit $$status

# The browser test (tests/test_browser.py) drives Debian's chromium through playwright. Install
# chromium (and a Korean font for readable screenshots) with apt where that is possible; else say
# why the test will be skipped. BROWSER=0 leaves the browser out (the test then skips, saying so).
BROWSER ?= 1
BROWSER_PACKAGES := chromium fonts-nanum
browser:
ifeq ($(BROWSER),0)
	@echo "browser test: off (BROWSER=0)"
else
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then \
		echo "browser test: using $$(command -v chromium || command -v chromium-browser)"; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "browser test will be skipped: chromium is not installed and there is no apt-get here"; \
	else \
		if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else \
			echo "browser test will be skipped: installing chromium needs root (sudo apt-get install $(BROWSER_PACKAGES))"; exit 0; fi; \
		echo "browser test: installing $(BROWSER_PACKAGES) with apt-get (once)"; \
		$$SUDO timeout 300 apt-get update -qq -o Acquire::http::Timeout=20 -o Acquire::Retries=1 && \
		DEBIAN_FRONTEND=noninteractive $$SUDO timeout 600 apt-get install -y -qq --no-install-recommends $(BROWSER_PACKAGES) >/dev/null \
		|| echo "browser test will be skipped: apt-get could not install chromium"; \
	fi
endif

# Before class: run every notebook (full mode unless FAST=1) on this machine's backend, so each
# helpers.generate call is answered from the disk cache (.cache/generations or $WORKBOOK_CACHE).
FAST ?= 0
NOTEBOOKS ?=
FAST_FLAG = $(if $(filter 1 yes true,$(FAST)),--fast,)
warm: $(STAMP)
	$(BIN)/python tools/run_notebooks.py warm $(FAST_FLAG) $(NOTEBOOKS)

# Handouts: every notebook executed (full mode; FAST=1 for the quick run) into build/ as .ipynb
# and .html with build/index.html; one progress line per notebook with its wall time. The cache
# is off here, so the handouts show real runs and real times.
build: $(STAMP)
	$(BIN)/python tools/run_notebooks.py build $(FAST_FLAG) $(NOTEBOOKS)

# Slides: every notebook executed like make build (FAST=1, NOTEBOOKS= the same), then written as a
# reveal.js slideshow with presenter mode's fonts to build/slides/<name>.slides.html
# (tools/slides.py). reveal.js and require.js are fetched once with npm pack from the npm registry
# into .cache/slides-js/ and copied to build/slides/lib/, so the slides then work offline.
.PHONY: slides
slides: $(STAMP)
	$(BIN)/python tools/slides.py --export $(FAST_FLAG) $(NOTEBOOKS)

# The checkpoints 01, 03, 09 and 11 load after their live training (tools/make_checkpoints.py): each notebook
# runs top to bottom in full mode with WORKBOOK_FROM_SCRATCH=1 WORKBOOK_SAVE_CHECKPOINTS=1, so the
# notebook's own training cells train the full length and save; then data/checkpoints/README.md is
# written with the measured times and the scores the same run measured. NOTEBOOKS=03 for one.
checkpoints: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python tools/make_checkpoints.py $(NOTEBOOKS)

# Editions from the one source in notebooks/ (tools/editions.py): build/editions/student/ (no
# solutions, a locked grading cell under each exercise, made by nbgrader, which also writes the
# gradebook build/course/) and build/editions/instructor/ (solutions open, executed in full mode;
# FAST=1 for fast mode). NOTEBOOKS=02 for one.
.PHONY: editions grade
editions: $(STAMP_INSTRUCTOR)
	HF_HUB_OFFLINE=1 $(BIN)/python tools/editions.py both $(FAST_FLAG) $(NOTEBOOKS)

# Grade handed-in student editions with nbgrader (tools/grade.py): SUBMISSIONS holds one folder per
# student with their .ipynb files; OUT gets one CSV row per student, notebook and exercise, with
# the score and the feedback. Each notebook runs in its own kernel, offline, in fast mode on the
# bundled model, each cell at most CELL_TIMEOUT seconds.
SUBMISSIONS ?=
OUT ?= build/grades.csv
CELL_TIMEOUT ?= 120
grade: $(STAMP_INSTRUCTOR)
	@if [ -z "$(SUBMISSIONS)" ]; then echo "make grade: say where the submissions are: make grade SUBMISSIONS=<folder> OUT=<file.csv>" >&2; exit 2; fi
	HF_HUB_OFFLINE=1 $(BIN)/python tools/grade.py "$(SUBMISSIONS)" "$(OUT)" --cell-timeout $(CELL_TIMEOUT)

# The bundled model's benchmark (minutes): adherence grid, people, variety, speed, memory;
# rewrites data/models/mini-sd/README.md and evaluation.json from what it measured.
eval: $(STAMP)
	HF_HUB_OFFLINE=1 WORKBOOK_CACHE=off $(BIN)/python -m helpers.training.evaluate --write-card

# Retrain the bundled model (about an hour on 2 CPU cores; re-run to resume from runs/mini-sd/).
train-mini-sd: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m helpers.training.train_mini_sd

# Retrain the bundled mini Stable Diffusion 3 (MMDiT + flow matching, on mini-sd's VAE; about 55 minutes
# on 2 CPU cores; re-run to resume from runs/mini-sd3/), then compare it with mini-sd and rewrite its card.
train-mini-sd3: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m helpers.training.train_mini_sd3

eval-sd3: $(STAMP)
	HF_HUB_OFFLINE=1 WORKBOOK_CACHE=off $(BIN)/python -m helpers.training.evaluate_sd3

# Retrain the bundled pose ControlNet on mini-sd (under an hour on 2 CPU cores; resumes from
# runs/mini-controlnet/), then measure it on unseen poses and rewrite its card.
train-controlnet: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m helpers.training.train_controlnet

eval-controlnet: $(STAMP)
	HF_HUB_OFFLINE=1 WORKBOOK_CACHE=off $(BIN)/python -m helpers.training.evaluate_controlnet --write-card

# SD 1.5 at full size without a GPU (a benchmark, not part of make test; about an hour on the busy
# 2-core machine): every real-backend call shape once, real architecture, random weights, float32,
# each in a fresh process (resumable: data/rehearsal_sd15.json), then data/t4_costs.json from it.
.PHONY: rehearse
rehearse: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python tools/rehearse_sd15.py
	$(BIN)/python tools/t4_costs.py

# The Colab twin (tools/colab_twin.py): a venv in .cache/colab-twin on Python 3.13 with Colab's
# versions, the workbook installed by the Colab set-up cell, then the tests. Skips, saying why,
# without Python 3.13; reuses the venv while its package set matches.
colab-twin:
	$(PYTHON) tools/colab_twin.py

# repo2docker's view of binder/ (what Binder, or a JupyterHub image built with repo2docker, gets):
# prints the Dockerfile it would build, without building (no Docker needed).
.PHONY: binder-check
binder-check: $(STAMP_DEV)
	$(BIN)/jupyter-repo2docker --no-build --debug --user-id 1000 --user-name jovyan .

lint: $(STAMP_DEV)
	$(BIN)/ruff check helpers tests tools notebooks

clean-venv:
	rm -rf $(VENV)
