# The front door. A fresh machine needs only `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV := $(or $(shell command -v uv 2>/dev/null),$(shell python3 -m site --user-base)/bin/uv)
RUN := $(UV) run --frozen
PYTEST_ARGS ?=

.PHONY: help install run migrate check test test-slow test-all lint fmt typecheck openapi client-check fuzz bench passwords clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(UV):
	@echo "uv not found; installing it with pip"
	python3 -m pip install --user --quiet uv || python3 -m pip install --user --quiet --break-system-packages uv

install: $(UV)  ## install the locked dependencies into .venv
	@$(UV) sync --frozen --quiet --compile-bytecode
	@# Bytecode up front: start-up stays fast even where PYTHONDONTWRITEBYTECODE is set.
	@$(RUN) python -m compileall -q domain application adapters entrypoints migrations

run: install  ## serve the API (embedded PostgreSQL unless DATABASE_URL is set)
	@$(RUN) todo serve

migrate: install  ## apply database migrations
	$(RUN) todo migrate

check: install  ## check configuration, database and schema
	$(RUN) todo check

lint: install  ## ruff, the layer contracts, and hadolint on the Dockerfile
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) lint-imports
	$(RUN) hadolint Dockerfile

typecheck: install  ## mypy, strict
	$(RUN) mypy

fmt: install  ## format and autofix
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

test: lint typecheck  ## lint, type-check and the default test suite
	$(RUN) pytest -m "not slow" $(PYTEST_ARGS)

test-slow: install  ## the slow suites (concurrency, load)
	$(RUN) pytest -m slow $(PYTEST_ARGS)

test-all: test test-slow  ## everything CI runs

openapi: install  ## write the OpenAPI document to openapi.json
	TODO_STORAGE=memory APP_ENV=test $(RUN) python -m entrypoints.openapi > openapi.json

client-check:  ## generate TypeScript types from openapi.json and type-check a client calling every operation (needs npm)
	cd clients/typescript && npm ci --no-audit --no-fund --loglevel=error && npm run --silent check

# Schemathesis against `todo serve` on PostgreSQL (the test database, as for `make test`), signed
# in as a fresh user, with every check on (--checks all) and the coverage, fuzzing and stateful
# phases. No check is excluded. Two operations are: logOut and logOutEverywhere, because they
# would end the session the whole run is signed in with (tests/api cover both). schemathesis.toml
# accepts 412 for a valid request whose If-Match names another version, and 400 for a generated
# password-reset token (the server issues them); tests/support/fuzz_hooks.py keeps requests meant
# to be valid within the rules OpenAPI cannot state (a server-signed cursor, aliases that must
# agree, order needing sort_by). CI's slow suite runs the same test with fewer examples.
FUZZ_EXAMPLES ?= 100
fuzz: install  ## Schemathesis, every check and phase, against a live server (FUZZ_EXAMPLES=100)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(RUN) pytest -m slow -p no:cacheprovider tests/integration/test_fuzz.py $(PYTEST_ARGS)

bench: install  ## benchmark the API against a raw-asyncpg floor (needs wrk)
	@command -v wrk >/dev/null || { echo "installing wrk"; apt-get install -y -qq wrk; }
	$(RUN) python -m bench

passwords: install  ## rebuild the common-password list from zxcvbn's
	$(RUN) python scripts/build_common_passwords.py

clean:  ## remove caches (keeps .data)
	rm -rf .pytest_cache .mypy_cache .ruff_cache
