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

.PHONY: help venv tools browser demo test test-deep chaos lint typecheck validate scan lock unit integration e2e build deploy bench bench-full docs clean

help:
	@echo "make demo      run a simulated quarter of a subscription business and write a report"
	@echo "make test      lint, type check, validate the template, run every test"
	@echo "make lint | typecheck | validate | scan | unit | integration | e2e | build | deploy | bench | bench-full"
	@echo "make docs      write the parameter table of docs/deploy.md from template.yaml (CHECK=1: compare)"
	@echo "make lock      re-resolve the hash-locked requirements (requirements.lock, tools.lock, layer)"
	@echo "make test-deep the property tests at depth (HYPOTHESIS_PROFILE=deep)"
	@echo "make chaos     replay a 100-customer scenario calm and under SEEDS seeds of faults"

# Everything installs from hash-checked locks (`make lock` writes them): a release that was
# replaced or tampered with on the index fails the install instead of running. A lock is the
# whole closure, so pip installs it as listed (--no-deps: pip's resolver refuses hashed pins
# that a dependency asks for with extras, pypa/pip#9644) and `pip check` proves it complete.
# The project itself goes in last, without resolving again and with the locked setuptools.
#
# The locks are installed by uv (itself hash-checked from tools.lock, the one package pip
# installs): it fetches in parallel and took a clean install of requirements.lock from 6.5
# minutes with pip to 18 seconds here. pip stays the fallback when uv cannot reach an index
# that pip's own configuration can.
UV := $(TOOLS)/bin/uv
LOCK_INSTALL = $(UV) pip install -q --python $(1) --require-hashes --no-deps -r $(2) \
	|| $(1) -m pip install -q --require-hashes --no-deps -r $(2)
$(UV): tools.lock
	@test -n "$(PYTHON312)" || { echo "Python 3.12 not found (install it, or pyenv install 3.12)"; exit 1; }
	@test -x $(TOOLS)/bin/python || $(PYTHON312) -m venv $(TOOLS)
	awk '/^uv==/ {on = 1} on {print} on && !/\\$$/ {exit}' tools.lock > $(TOOLS)/uv.lock.txt
	$(TOOLS)/bin/python -m pip install -q --require-hashes --no-deps -r $(TOOLS)/uv.lock.txt
	@touch $(UV)

$(PY): pyproject.toml requirements.lock | $(UV)
	@test -x $(PY) || $(PYTHON312) -m venv $(VENV)
	$(call LOCK_INSTALL,$(PY),requirements.lock)
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	$(PY) -m pip check -q
	@touch $(PY)

venv: $(PY)

# aws-sam-cli, cfn-lint and checkov live in their own environment: they pin versions of
# boto and friends that must not leak into the runtime dependencies.
$(TOOLS)/bin/sam: tools.lock | $(UV)
	$(call LOCK_INSTALL,$(TOOLS)/bin/python,tools.lock)
	$(TOOLS)/bin/python -m pip check -q
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

# One cache for every run: each function's check reads the layer's analysis instead of making
# its own (the layer was checked again by each of the eight, about 20 s of CPU each).
typecheck: export MYPY_CACHE_DIR := $(CURDIR)/.mypy_cache
typecheck: $(PY)
	cd layers/common && ../../$(PY) -m mypy -p tenure
	$(PY) -m mypy local/tenure_local
	@# Each function is its own Lambda package (Lambda puts its folder on the path): check one by one.
	@for f in functions/*/; do (cd $$f && ../../$(PY) -m mypy --explicit-package-bases *.py) || exit 1; done

validate: tools
	$(TOOLS)/bin/sam validate --lint --region us-east-1 --template template.yaml
	$(TOOLS)/bin/cfn-lint template.yaml

# checkov on the template; every check it skips is listed with its reason in .checkov.yaml.
scan: tools
	$(TOOLS)/bin/checkov --config-file .checkov.yaml
	@echo "checkov skipped $$(grep -cE '^  - CKV_' .checkov.yaml) checks, each for the reason beside it in .checkov.yaml"

# Re-resolve the locks from their inputs: pyproject.toml (runtime + dev) -> requirements.lock,
# tools-requirements.txt -> tools.lock, pyproject's runtime dependencies less boto3 (the Lambda
# runtime has it) -> layers/common/requirements.txt at the versions the tests ran. Universal:
# one lock serves x86_64 and aarch64 machines (and the arm64 layer), each pin carrying the
# hash of every file of its release.
UV_COMPILE := $(TOOLS)/bin/uv pip compile --quiet --universal --python-version 3.12 \
	--generate-hashes --upgrade --custom-compile-command "make lock"
lock: tools
	printf 'pip>=24\nsetuptools>=69\n' | $(UV_COMPILE) pyproject.toml - --extra dev -o requirements.lock
	$(UV_COMPILE) tools-requirements.txt -o tools.lock
	$(TOOLS)/bin/python -c 'import tomllib; print(*(d for d in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"] if not d.lower().startswith(("boto3", "botocore"))), sep="\n")' \
		| $(UV_COMPILE) - --constraint requirements.lock -o layers/common/requirements.txt

# tests/unit/test_deploy_auth.py runs SAM CLI's own deploy check, from the tools environment.
unit: $(PY) tools
	$(PY) -m pytest tests/unit

integration: $(PY)
	$(PY) -m pytest tests/integration

e2e: $(PY)
	$(PY) -m pytest tests/e2e

# Whole files go to the workers, in collection order, each as a worker frees up: a module's
# simulation (its module-scoped fixture) then runs once, and the long integration files are
# spread over both workers while the short unit files fill the end. xdist's default `load`
# hands out the first quarter of the tests in one block per worker, which put every long
# simulation of tests/integration on the same worker, one after the other.
PYTEST_DIST := -n 2 --dist loadfile --no-loadscope-reorder
test: lint typecheck validate scan browser
	$(PY) -m pytest $(PYTEST_DIST) --durations=12 tests

# The property and fuzz tests with many more examples and longer stateful runs (minutes).
test-deep: $(PY)
	HYPOTHESIS_PROFILE=deep $(PY) -m pytest -n 2 tests/unit

# Chaos replay (docs/reliability.md): the calm run, then SEEDS seeded runs under every kind of
# fault, each compared with the calm one; exit 1 if any ended differently. On the memory
# engine (the same handlers over in-process adapters: ~30 s a seed for 100 customers);
# CHAOS_ENGINE=dynamodb-local replays the faults through DynamoDB Local (~30 minutes a seed).
SEEDS ?= 3
CHAOS_SCENARIO ?= examples/mixed-100.yaml
CHAOS_ENGINE ?= memory
chaos: $(PY)
	$(VENV)/bin/tenure chaos run $(CHAOS_SCENARIO) --seeds $(SEEDS) --engine $(CHAOS_ENGINE) --out out/chaos

demo: $(PY)
	$(VENV)/bin/tenure simulate examples/demo.yaml --out $(DEMO_OUT) --screenshot

# bench: under 10 minutes on 2 cores (tables of 2,000 and 20,000 subscriptions); bench-full:
# the issues' 10,000 and 100,000 (about 20 minutes). Both write out/bench/bench.json.
bench: $(PY)
	$(VENV)/bin/tenure bench

bench-full: $(PY)
	$(VENV)/bin/tenure bench --full

# Lambda runs the code read-only from a zip dated 1980: bytecode written with the source's
# timestamp would never match, so each cold start would compile every module it imports
# again. Hash-based bytecode, not checked against the source, is used as it is.
build: tools
	PATH="$(dir $(PYTHON312)):$$PATH" $(TOOLS)/bin/sam build --template template.yaml
	$(PYTHON312) -m compileall -q -j 0 --invalidation-mode unchecked-hash .aws-sam/build

deploy: build
	$(TOOLS)/bin/sam deploy --guided

# The parameter table of docs/deploy.md comes from template.yaml; CHECK=1 only compares.
docs: $(PY)
	$(PY) -m tenure_local.stack.deploy_docs $(if $(CHECK),--check)

clean:
	rm -rf .aws-sam out .pytest_cache .mypy_cache .ruff_cache
