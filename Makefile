# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
# The pages' front-end packages (package.json, its lock): `npm ci` copies their built files
# into static/vendor/ (static/src/vendor.mjs), which Django serves.
NPM_STAMP := node_modules/.installed

# The services this machine runs for tests: PostgreSQL, RabbitMQ and Redis on loopback.
TEST_ENV := DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ipaas} \
	CELERY_BROKER_URL=$${TEST_BROKER_URL:-amqp://guest:guest@127.0.0.1:5672//} \
	CACHE_URL=$${TEST_CACHE_URL:-rediscache://127.0.0.1:6379/1}

.PHONY: help run test lint format migrate demo broker-folders clean chromium

# `make run` starts Procfile.dev under honcho with the virtualenv's tools first on PATH, and
# points openstacksdk at the clouds.yaml that cloudsim writes. Unbuffered output keeps each
# process's lines in step in honcho's interleaved log.
LOCAL_ENV := PATH="$(CURDIR)/$(BIN):$$PATH" PYTHONUNBUFFERED=1 \
	OS_CLIENT_CONFIG_FILE="$(CURDIR)/var/clouds.yaml"

help:
	@echo "make run    install, migrate, seed the demo and start cloudsim, the portal on"
	@echo "           http://127.0.0.1:8000, a Celery worker and beat (Ctrl-C stops them all)"
	@echo "make test   install, lint and run the whole test suite (PostgreSQL, RabbitMQ, Redis)"
	@echo "make format ruff-format the code"

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(VENV)/bin/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(RUNTIME_STAMP) $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# The browser tests drive Debian's Chromium: Playwright cannot download its own browsers here.
chromium:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

migrate: $(RUNTIME_STAMP)
	mkdir -p var
	$(BIN)/python manage.py migrate --no-input

# The seed needs no cloud: cloudsim is only started afterwards, by `run`.
demo: migrate
	$(BIN)/python manage.py seed_demo

broker-folders: $(RUNTIME_STAMP)
	$(BIN)/python scripts/broker_folders.py

run: demo broker-folders $(NPM_STAMP)
	@echo
	@echo "  IPAAS portal:   http://127.0.0.1:8000   (sign in as demo / demo)"
	@echo "  Operator admin: http://127.0.0.1:8000/admin/"
	@echo "                  (make a login: .venv/bin/python manage.py createsuperuser)"
	@echo "  Demo API client id and secret: var/demo-client.json"
	@echo "  Local cloud: cloudsim on http://127.0.0.1:8774, its clouds.yaml in var/clouds.yaml"
	@echo "  Ctrl-C stops everything."
	@echo
	$(LOCAL_ENV) exec $(BIN)/honcho start -f Procfile.dev

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint $(NPM_STAMP) chromium
	@# makemigrations --check reads the migration history of a real database.
	psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='ipaas'" | grep -q 1 \
		|| createdb -h 127.0.0.1 -U postgres ipaas
	$(TEST_ENV) $(BIN)/python manage.py check --fail-level WARNING
	$(TEST_ENV) $(BIN)/python manage.py makemigrations --check --dry-run
	@# conformance/ needs the real cloud too: make test-openstack runs it.
	$(TEST_ENV) $(BIN)/python -m pytest --ignore=conformance

format: $(DEV_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache node_modules static/vendor

# The real OpenStack of realcloud/ (Keystone, Glance, Placement, Nova with the fake driver,
# Neutron): one per machine, under $(REALCLOUD_HOME), installed there once. Needs root.
REALCLOUD_HOME ?= /opt/ipaas-realcloud
export REALCLOUD_HOME

.PHONY: realcloud-up realcloud-down test-openstack

realcloud-up:
	bash realcloud/up.sh

realcloud-down:
	bash realcloud/down.sh

# The conformance suite on both clouds. The cloud is started when it is not running, and left
# running for the next run; the lock keeps two runs from sharing its devel project at once.
test-openstack: $(DEV_STAMP) realcloud-up
	flock $(REALCLOUD_HOME)/tests.lock env $(TEST_ENV) \
		REALCLOUD_CLOUDS_YAML=$(REALCLOUD_HOME)/clouds.yaml $(BIN)/python -m pytest conformance
