# The two commands of the README: `make run` and `make test`. Everything else is a helper of theirs.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv
PY := .venv/bin/python
UV := $(shell command -v uv 2>/dev/null || echo .venv-tools/bin/uv)

.PHONY: run test install install-dev migrate demo lint format run-distributed

$(UV):
	python3 -m venv .venv-tools && .venv-tools/bin/pip install -q uv

# --inexact: `make run` keeps what `make test` installed (the test dependencies) and the reverse.
install: $(UV)
	@$(UV) sync --frozen --inexact --no-dev -p python3.11 -q

install-dev: $(UV)
	@$(UV) sync --frozen --inexact -p python3.11 -q

# collectstatic compresses every file (half a minute): only when a static file or the locked dependencies changed.
STATIC_DIR := $(or $(STATIC_ROOT),$(or $(VAR_DIR),var)/static)
STATIC_SOURCES := uv.lock $(shell find static msgplatform invoicing -path '*static/*' -type f 2>/dev/null)

$(STATIC_DIR)/staticfiles.json: $(STATIC_SOURCES)
	@$(PY) manage.py collectstatic --noinput -v 0

migrate: $(STATIC_DIR)/staticfiles.json
	@mkdir -p var
	@$(PY) manage.py migrate --noinput -v 0

demo:
	@$(PY) manage.py demo_data

# Fresh machine -> running product with demo data, web server, Celery worker and scheduler.
run: install migrate demo
	@$(PY) manage.py demo_data --logins-only
	@echo "Open http://127.0.0.1:8000  (Ctrl-C stops everything)"
	@exec .venv/bin/honcho -f Procfile.embedded start

# The distributed set-up on this machine: PostgreSQL + Redis (override the variables to point elsewhere).
DIST_ENV = DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/msgbilling} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0} CACHE_URL=$${CACHE_URL:-redis://127.0.0.1:6379/1}
run-distributed: install
	@psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE msgbilling" 2>/dev/null || true
	$(DIST_ENV) $(PY) manage.py migrate --noinput
	$(DIST_ENV) $(PY) manage.py collectstatic --noinput -v 0
	$(DIST_ENV) $(PY) manage.py demo_data
	@$(PY) manage.py demo_data --logins-only
	$(DIST_ENV) exec .venv/bin/honcho -f Procfile.distributed start

test: install-dev
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install-dev
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format: install-dev
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .
