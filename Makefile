# Spoke: the two commands are `make run` and `make test`. Everything else is for developers.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format worker stack bench bench-quick migrations-check e2e screenshots clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "Spoke needs Python 3.11 ($(PYTHON) not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

## run: install, migrate, load the demo data and serve on http://$(HOST):$(PORT) (SQLite, no Redis)
run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver $(HOST):$(PORT)

## test: the whole suite (set DATABASE_URL / REDIS_URL to run it on PostgreSQL and Redis)
test: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

## lint: ruff (lint + format check) and mypy
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## worker: an RQ worker with the scheduler (needs REDIS_URL)
worker: $(VENV)/.installed
	@test -n "$$REDIS_URL" || { echo "Set REDIS_URL (e.g. redis://127.0.0.1:6379/0): without it jobs run in the web process."; exit 1; }
	$(PY) manage.py rqworker --with-scheduler sends imports default

## stack: the production topology on this machine: uvicorn web processes and RQ workers from the
## Procfile, run by honcho, on PostgreSQL and Redis (WORKERS=n for more workers; see docs/deploying.md)
WORKERS ?= 1
stack: $(VENV)/.installed
	@test -n "$$DATABASE_URL" || { echo "make stack needs DATABASE_URL (PostgreSQL), e.g. export DATABASE_URL=postgres://postgres@127.0.0.1:5432/spoke"; exit 1; }
	@test -n "$$REDIS_URL" || { echo "make stack needs REDIS_URL, e.g. export REDIS_URL=redis://127.0.0.1:6379/0"; exit 1; }
	$(PY) manage.py migrate --noinput
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" PORT=$(PORT) BIND_HOST=$(HOST) $(VENV)/bin/honcho start -c worker=$(WORKERS) web worker

## bench: the benchmark suite on PostgreSQL + Redis (its own database spoke_bench, Redis db 15; ~15 min) → docs/benchmarks.md
## (options: make bench BENCH_ARGS="--only sends --redis-db 3"; see manage.py bench --help)
bench: $(VENV)/.installed
	@test -n "$$DATABASE_URL" -a -n "$$REDIS_URL" || { echo "Set DATABASE_URL (postgres://…) and REDIS_URL (redis://…): the benchmark runs on PostgreSQL and Redis, in a database of its own."; exit 1; }
	$(PY) manage.py bench $(BENCH_ARGS)

## bench-quick: every scenario tiny, a smoke run (not a measurement; the report goes to a temporary folder)
bench-quick: $(VENV)/.installed
	@test -n "$$DATABASE_URL" -a -n "$$REDIS_URL" || { echo "Set DATABASE_URL (postgres://…) and REDIS_URL (redis://…): the benchmark runs on PostgreSQL and Redis, in a database of its own."; exit 1; }
	$(PY) manage.py bench --quick $(BENCH_ARGS)

## migrations-check: fail when a model changed without a migration
migrations-check: $(VENV)/.installed
	$(PY) manage.py makemigrations --check --dry-run

## screenshots: run the browser tests and save the README's screenshots to docs/screenshots/
screenshots: $(VENV)/.installed
	SPOKE_SCREENSHOTS=1 $(PY) -m pytest tests_e2e $(PYTEST_ARGS)

## e2e: only the browser tests
e2e: $(VENV)/.installed
	$(PY) -m pytest tests_e2e $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 media staticfiles
