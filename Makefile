# evalkit: `make help` lists the targets.
# Two commands matter on a fresh machine (only python3, pip and make needed):
#   make province   set up, generate the sample province and render every county report (HTML, PDF, Word), the
#                   province overview and the index into reports/sample-<year>-en/ (BATCH_ARGS="--lang zh" for Chinese)
#   make test       set up (including Debian's chromium and libreoffice-writer when missing) and run the whole test suite

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SAMPLE ?= data/sample
STAMP  := $(VENV)/.evalkit-installed

.DEFAULT_GOAL := help
.PHONY: help setup chromium libreoffice province sample validate indicators test test-fast audit lab bench bench-batch codebook clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  make %-10s %s\n", $$1, $$2}'

# A virtual environment that works (has pip), else a new one: `python3 -m venv`, or where that module
# is missing (Debian without python3-venv) virtualenv installed into a side folder with plain pip.
$(STAMP): pyproject.toml
	@$(BIN)/python -m pip --version >/dev/null 2>&1 || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV) 2>/dev/null && $(BIN)/python -m pip --version >/dev/null 2>&1; } || { echo "python3 -m venv is unavailable: using virtualenv"; rm -rf $(VENV) $(VENV).tools; $(PYTHON) -m pip install --quiet --target $(VENV).tools virtualenv && PYTHONPATH=$(VENV).tools $(PYTHON) -m virtualenv --quiet $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $@

setup: $(STAMP) ## create .venv and install evalkit with its test tools

$(SAMPLE)/dataset.json: $(STAMP) $(wildcard evalkit/synth.py evalkit/tables.toml evalkit/codes.toml)
	$(BIN)/evalkit synth $(SAMPLE)

sample: $(SAMPLE)/dataset.json ## generate the synthetic sample province into data/sample

validate: $(SAMPLE)/dataset.json ## validate the sample province (any folder: make validate SAMPLE=path)
	$(BIN)/evalkit validate $(SAMPLE)

reports/indicators.parquet: $(SAMPLE)/dataset.json $(wildcard evalkit/*.py evalkit/*.toml evalkit/measures/*.py)
	$(BIN)/evalkit indicators $(SAMPLE) -o $@

indicators: reports/indicators.parquet ## compute the indicator table of the sample province

# Headless Chromium prints the PDFs and runs the browser tests. Debian's package is installed when no
# Chromium is found (as root, or through sudo); anywhere else the message says what to install.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium: ## install Debian's chromium package when no Chromium is found (PDFs, browser tests)
	@if [ -n "$$EVALKIT_CHROMIUM" ] || command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	   || command -v google-chrome >/dev/null 2>&1; then echo "chromium: found"; \
	elif command -v apt-get >/dev/null 2>&1; then echo "chromium: installing Debian's chromium package"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium: not found and no apt-get here: install Chromium and set EVALKIT_CHROMIUM=/path/to/chrome" >&2; exit 1; fi

# LibreOffice converts the Word reports headless in the tests (tests/test_docx.py): Debian's libreoffice-writer is
# installed when no soffice is found, like Chromium.
libreoffice: ## install Debian's libreoffice-writer when no LibreOffice is found (the Word reports' tests)
	@if command -v soffice >/dev/null 2>&1 || command -v libreoffice >/dev/null 2>&1; then echo "libreoffice: found"; \
	elif command -v apt-get >/dev/null 2>&1; then echo "libreoffice: installing Debian's libreoffice-writer package"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libreoffice-writer >/dev/null; \
	else echo "libreoffice: not found and no apt-get here: install LibreOffice Writer (soffice) for the Word tests" >&2; exit 1; fi

BATCH_ARGS ?=
province: $(STAMP) $(SAMPLE)/dataset.json ## MAIN JOB: set up, then render every county report, the overview and the index
	@$(MAKE) --no-print-directory chromium || echo "province: no Chromium, so HTML reports only (no PDF)"
	$(BIN)/evalkit batch $(SAMPLE) $(BATCH_ARGS)

AUDIT ?= reports/audit
audit: $(STAMP) $(SAMPLE)/dataset.json chromium ## plant a corpus of 500+ personal-data values in a copy of the sample province, render it: zero leaks, scan recall >= 99% per category (tables in reports/audit.md)
	rm -rf $(AUDIT)
	$(BIN)/evalkit audit $(SAMPLE) $(AUDIT) --markdown $(AUDIT).md -- $(AUDIT_ARGS)

test: $(STAMP) $(SAMPLE)/dataset.json chromium libreoffice ## set up and run the whole test suite (pytest, doctests, notebooks, browser)
	$(BIN)/python -m pytest

test-fast: $(STAMP) $(SAMPLE)/dataset.json chromium libreoffice ## the test suite without the full-size province tests
	$(BIN)/python -m pytest -m "not slow"

BENCH_STAMP := $(VENV)/.evalkit-bench-installed
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	@touch $@

bench: $(BENCH_STAMP) ## run the benchmarks side by side with their baselines (record the output in bench/RESULTS.md)
	$(BIN)/python bench/measures.py $(BENCH_ARGS)

bench-batch: $(STAMP) $(SAMPLE)/dataset.json chromium ## time evalkit batch against the papermill + nbconvert loop
	$(BIN)/python bench/batch.py $(BENCH_ARGS)

# JupyterLab refuses to run as root (a container's or a VM's only user) unless told --allow-root: given when uid is 0.
# LAB_ARGS: more options (LAB_ARGS="--no-browser --port 8900").
LAB_ARGS ?=
lab: $(STAMP) ## open the notebooks (notebooks/) in JupyterLab, as root too
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

codebook: $(STAMP) ## regenerate the codebook section of data/README.md from evalkit/tables.toml
	$(BIN)/evalkit codebook --update data/README.md

clean: ## remove generated data, reports and caches (keeps .venv)
	rm -rf $(SAMPLE) reports/*/ reports/.cache reports/*.parquet .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
