# The two commands everyone uses: `make run` and `make test`. Everything installs itself into .venv on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
export PORT

.PHONY: run test lint typecheck static-checks pytest e2e bench chaos migrate demo emulators clean install

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## run: web on http://127.0.0.1:$(PORT), a Celery worker and beat, the provider emulators; data under var/
run: $(STAMP)
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py seed_demo
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py run_local --port $(PORT)

## test: lint, type-check and the whole pytest suite (Postgres/Redis when DATABASE_URL/CELERY_BROKER_URL are set)
test: $(STAMP) lint typecheck static-checks pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy studio generations billing

## static-checks: hadolint on the Dockerfile, `docker compose config` when the client exists (.ci/static-checks)
static-checks: $(STAMP)
	BIN=$(BIN) bash .ci/static-checks

pytest: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## bench: speed and memory goals, measured (never asserted by timed tests): the real paths side by side with
## references in one run (tests/benchmarks/realpaths.py) → docs/benchmarks.md + docs/benchmarks.json, < 30 min.
## Uses PostgreSQL when DATABASE_URL points at one (a throwaway <name>_bench database). BENCH_ONLY=holds,pages …
bench: $(STAMP)
	$(BIN)/python -m pytest tests/benchmarks --benchmark-enable --benchmark-only $(PYTEST_ARGS)
	timeout 1800 $(BIN)/python -m tests.benchmarks.realpaths

## chaos: a soak under faults (tests/chaos/soak.py; needs DATABASE_URL=postgres://… and redis-server), then the
## crash-safety trials, many more than CI runs, on Redis as in CI and production (CELERY_BROKER_URL, default the local
## redis-server). CHAOS_MINUTES (5), CHAOS_KILL_EVERY (60 s), CHAOS_TRIALS (100).
chaos: $(STAMP)
	timeout 1800 $(BIN)/python -m tests.chaos.soak
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0} CHAOS_TRIALS=$${CHAOS_TRIALS:-100} \
		timeout 1800 $(BIN)/python -m pytest tests/generations/e2e/test_crash_safety.py $(PYTEST_ARGS)

EMULATOR_PORT ?= 8765
emulators: $(STAMP)
	$(BIN)/python manage.py emulate_providers --host 127.0.0.1 --port $(EMULATOR_PORT)

migrate: $(STAMP)
	DEBUG=1 $(BIN)/python manage.py migrate

clean:
	rm -rf var/broker var/cache var/test-db.sqlite3*
