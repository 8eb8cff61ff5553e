# chainwatch — the front door. `make help` lists the targets; CI runs `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
DATA_DIR ?= $(or $(CHAINWATCH_DATA_DIR),../shared/data)
export CHAINWATCH_DATA_DIR := $(DATA_DIR)

.PHONY: help install run run-offline test test-fast lint format typecheck docs bench train dagster audit-verify audit-anchor dashboard-password clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

.venv/.installed: pyproject.toml uv.lock */pyproject.toml services/*/pyproject.toml tools/*/pyproject.toml | $(if $(findstring .tools,$(UV)),.tools/bin/uv)
	$(UV) sync --frozen
	touch $@

install: .venv/.installed ## Create .venv with every service and the dev tools (uv, locked)

run: install ## Run the whole system against live mempool.space (Ctrl-C stops it all)
	$(UV) run --frozen chainwatch-run

run-offline: install ## Run the whole system on recorded real data, no network needed
	$(UV) run --frozen chainwatch-run --offline

test: install ## Run the test suite (starts its own NATS and PostgreSQL)
	bash scripts/ensure-chromium.sh
	$(UV) run --frozen pytest

test-fast: install ## Unit tests only: no servers, no browser
	$(UV) run --frozen pytest -m "not integration"

lint: install ## ruff check and format check
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

format: install ## Apply ruff format and the safe fixes
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

typecheck: install ## mypy (strict on shared/)
	$(UV) run --frozen mypy shared services tools

docs: install ## Regenerate docs/schemas and docs/asyncapi.json from the wire models
	$(UV) run --frozen python -m chainwatch.shared.docgen docs

bench: install ## Benchmarks that print figures (see docs/benchmarks.md)
	$(UV) run --frozen python benchmarks/run_all.py

# Commands that talk to a running `make run` read its connections from var/chainwatch.env
# (or from DATABASE_URL and CHAINWATCH_NATS_URL when you set them for another deployment).
WITH_RUN_ENV := set -a; [ ! -f var/chainwatch.env ] || . var/chainwatch.env; set +a; \
	[ -n "$${DATABASE_URL:-}" ] || { echo "no running system: start make run (or set DATABASE_URL)" >&2; exit 1; };

train: install ## Train, evaluate and (if it passes the gates) promote the batch models now
	$(WITH_RUN_ENV) $(UV) run --frozen chainwatch-trainer train

dagster: install ## The Dagster UI (http://127.0.0.1:3000), daemon, schedule and retrain sensor
	$(WITH_RUN_ENV) $(UV) run --frozen chainwatch-trainer serve

audit-verify: install ## Walk the audit trail's hash chain; name the first broken row (ANCHOR=SEQ:HASH)
	$(WITH_RUN_ENV) $(UV) run --frozen chainwatch-audit verify $(if $(ANCHOR),--anchor $(ANCHOR))

audit-anchor: install ## Print the audit chain's head (SEQ:HASH) to keep outside the database
	$(WITH_RUN_ENV) $(UV) run --frozen chainwatch-audit anchor

dashboard-password: install ## A new generated password for the dashboard's admin (printed once)
	$(WITH_RUN_ENV) $(UV) run --frozen chainwatch-dashboard set-password admin --generate

clean: ## Remove local state (var/), caches and test artifacts; keeps .venv
	rm -rf var test-artifacts .pytest_cache .mypy_cache .ruff_cache
