# The Makefile is the contract: CI calls `make test`, people call `make demo`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# A real Python 3.12: one on PATH, else the newest 3.12 that pyenv has (shims resolved).
PYTHON312 := $(shell python3.12 -c 'import sys; print(sys.executable)' 2>/dev/null || \
	PYENV_VERSION=$$(pyenv versions --bare 2>/dev/null | grep -E '^3\.12(\.|$$)' | tail -1) \
	pyenv which python 2>/dev/null)
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .venv-tools
DEMO_OUT ?= out/demo
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: help venv tools browser demo test lint typecheck validate unit integration e2e build deploy bench clean

help:
	@echo "make demo      run a simulated quarter of a subscription business and write a report"
	@echo "make test      lint, type check, validate the template, run every test"
	@echo "make lint | typecheck | validate | unit | integration | e2e | build | deploy | bench"

$(PY): pyproject.toml
	@test -n "$(PYTHON312)" || { echo "Python 3.12 not found (install it, or pyenv install 3.12)"; exit 1; }
	@test -x $(PY) || $(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(PY)

venv: $(PY)

# aws-sam-cli and cfn-lint live in their own environment: they pin versions of
# boto and friends that must not leak into the runtime dependencies.
$(TOOLS)/bin/sam: tools-requirements.txt | $(PY)
	@test -x $(TOOLS)/bin/python || $(PYTHON312) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q --upgrade pip
	$(TOOLS)/bin/python -m pip install -q -r tools-requirements.txt
	@touch $(TOOLS)/bin/sam

tools: $(TOOLS)/bin/sam

# Browser tests drive Debian's Chromium through Playwright (Playwright cannot download its
# own browsers here). Installed once, as root or through sudo.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "install Chromium (/usr/bin/chromium) for the browser tests"; exit 1; }
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null

browser: $(CHROMIUM)

lint: $(PY)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(PY)
	cd layers/common && ../../$(PY) -m mypy -p tenure
	$(PY) -m mypy local/tenure_local
	@# Each function is its own Lambda package (Lambda puts its folder on the path): check one by one.
	@for f in functions/*/; do (cd $$f && ../../$(PY) -m mypy --explicit-package-bases *.py) || exit 1; done

validate: tools
	$(TOOLS)/bin/sam validate --lint --region us-east-1 --template template.yaml
	$(TOOLS)/bin/cfn-lint template.yaml

unit: $(PY)
	$(PY) -m pytest tests/unit

integration: $(PY)
	$(PY) -m pytest tests/integration

e2e: $(PY)
	$(PY) -m pytest tests/e2e

test: lint typecheck validate browser
	$(PY) -m pytest -n 2 tests

demo: $(PY)
	$(VENV)/bin/tenure simulate examples/demo.yaml --out $(DEMO_OUT) --screenshot

bench: $(PY)
	$(VENV)/bin/tenure bench

build: tools
	PATH="$(dir $(PYTHON312)):$$PATH" $(TOOLS)/bin/sam build --template template.yaml

deploy: build
	$(TOOLS)/bin/sam deploy --guided

clean:
	rm -rf .aws-sam out .pytest_cache .mypy_cache .ruff_cache
