# `make run` / `make test` install what they need first: into the active virtualenv if one is active,
# else into .venv (torch 2.14.1 / torchvision 0.29.1 are pinned because that is what this project is tested on).
SHELL := /bin/bash
VENV ?= $(if $(VIRTUAL_ENV),$(VIRTUAL_ENV),.venv)
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.iconip-zoo-installed
PYTEST_ARGS ?=
export PYTHONUNBUFFERED := 1

.PHONY: help install install-fonts run test test-slow lint results bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(PYTHON) -m pip install --quiet -e ".[dev]"
	@touch $@

install: $(STAMP)  ## create/refresh the environment

# Open CJK fonts for the SAFont experiments (datamodules/fonts.py); Debian packages, installed as root or via sudo.
FONT_PACKAGES := fontconfig fonts-wqy-zenhei fonts-arphic-ukai fonts-arphic-uming fonts-lxgw-wenkai
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
install-fonts:  ## the Debian font packages the font-transfer datamodule renders
	@if dpkg -s $(FONT_PACKAGES) >/dev/null 2>&1; then echo "fonts already installed"; \
	else $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(FONT_PACKAGES) \
	  || ($(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(FONT_PACKAGES)); fi

run: $(STAMP)  ## the embedded offline demo (PyramNet on synthetic shapes)
	$(PYTHON) run.py

test: $(STAMP)  ## the default test suite (offline, CPU)
	$(PYTHON) -m pytest -m "not slow" $(PYTEST_ARGS)

test-slow: $(STAMP)  ## the long end-to-end checks
	$(PYTHON) -m pytest -m slow $(PYTEST_ARGS)

lint: $(STAMP)  ## ruff lint + format check
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

results: $(STAMP)  ## tables from the run records in results/runs/ (+ local logs/) into docs/results.md and docs/papers/
	$(PYTHON) run.py task=results results.write_pages=true hydra.run.dir=logs/.results hydra.output_subdir=null

bench: $(STAMP)  ## throughput, memory and framework overhead: records in results/bench/, tables in docs/benchmarks.md
	$(PYTHON) -m zoo.workflow.benchmarks

clean:  ## remove caches and logs (not the environment)
	rm -rf .cache logs .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +
