# The quick start is two commands: `make dev` and `make test`. Each bootstraps .venv on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
# Hide pip's notes about package mirrors this machine lacks; keep its progress lines.
# (The grep sits in a group that always succeeds, so pipefail still reports pip's own failure.)
PIP_FILTER := { grep -v --line-buffered -E 'is ignored: it is neither a file|^ +(Downloading|Using cached|Obtaining)' || true; }

.PHONY: dev test lint synth bench clean

# uv installs the ~110 packages in ~15 s where pip takes ~90 s (same versions); pip stays in the
# venv for the Lambda bundling (infra/healthcoach_infra/bundling.py).
$(STAMP): pyproject.toml
	@echo "==> bootstrapping $(VENV) (first run takes under a minute)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv 2>&1 | $(PIP_FILTER)
	$(BIN)/uv pip install --python $(BIN)/python -e '.[dev]'
	@touch $(STAMP)
	@echo "==> $(VENV) ready"

dev: $(STAMP) ## run the whole system locally: WebSockets, AWS emulator, token issuer, demo page
	$(BIN)/hc-realtime dev

# The JavaScript packages (browser client, React bindings, Node producer): `npm ci` from their
# lockfiles, again only when a lockfile changes. Their tests build them first.
CLIENT_PACKAGES := web react node
clients/%/node_modules/.package-lock.json: clients/%/package-lock.json
	cd clients/$* && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null

test: $(STAMP) $(CLIENT_PACKAGES:%=clients/%/node_modules/.package-lock.json) ## every test tier: unit, functional, integration (incl. browser), infra; the JS packages
	scripts/ensure-chromium
	for package in $(CLIENT_PACKAGES); do echo "==> clients/$$package: npm test"; (cd clients/$$package && NODE_OPTIONS=--test-reporter=dot npm test --silent) || exit 1; done
	$(BIN)/python -m pytest

lint: $(STAMP) ## ruff + mypy (strict)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Synth needs a Cognito pool and client; without yours it uses clearly fake example ids, so the
# template can be inspected on any machine. `npx aws-cdk deploy` has no such defaults: it refuses.
synth: STAGE_NAME ?= dev
synth: USER_POOL_ID ?= us-east-1_EXAMPLE00
synth: USER_POOL_CLIENT_ID ?= exampleclientid0000000000
synth: $(STAMP) ## write the CloudFormation template to cdk.out/ (no AWS credentials needed)
	@echo "==> synth: stage=$(STAGE_NAME) userPool=$(USER_POOL_ID) client=$(USER_POOL_CLIENT_ID)"
	STAGE_NAME=$(STAGE_NAME) USER_POOL_ID=$(USER_POOL_ID) USER_POOL_CLIENT_ID=$(USER_POOL_CLIENT_ID) \
		$(BIN)/python infra/app.py
	@echo "==> template: cdk.out/$$(ls cdk.out | grep -m1 '\.template\.json$$')"

bench: $(STAMP) ## benchmarks: writes bench/results.json and bench/results.md
	$(BIN)/python -m bench

# Against the local stack of a `make dev` in another terminal, or a deployed stage:
#   make smoke ARGS="--ws-url wss://... --bus-arn arn:aws:events:... --token-command '...'"
.PHONY: smoke
smoke: $(STAMP) ## connect, emit, receive, miss two events, resume; exit 1 with the reason if a step fails
	$(BIN)/python -m healthcoach_realtime.smoke $(ARGS)

clean:
	rm -rf $(VENV) cdk.out .pytest_cache .mypy_cache .ruff_cache
