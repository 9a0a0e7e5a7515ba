# Two commands for a fresh clone: `make run` (the app locally) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PYTEST_ARGS ?=
# Deploys package this virtualenv, built from requirements.txt alone (never the dev .venv: it would not fit Lambda).
STAGE ?= dev
DEPLOY_VENV ?= .venv-deploy
ZAPPA := VIRTUAL_ENV=$(abspath $(DEPLOY_VENV)) PATH=$(abspath $(DEPLOY_VENV))/bin:$$PATH $(DEPLOY_VENV)/bin/zappa
PACKAGE ?= $(STAGE)-package.zip

.PHONY: run test lint format bench docs package deploy update

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

test: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Every benchmarks/bench_*.py in turn; each prints its figures (speed is measured here, never in tests).
bench: $(VENV)/.installed
	@set -e; for script in benchmarks/bench_*.py; do PYTHONPATH=. $(PY) $$script; done

# The docs site, warnings as errors (as CI builds it); open docs/_build/html/index.html.
docs: $(VENV)/.installed
	$(VENV)/bin/sphinx-build -W --keep-going -q -b html docs docs/_build/html

$(DEPLOY_VENV)/.installed: requirements.txt
	test -x $(DEPLOY_VENV)/bin/python || $(PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(DEPLOY_VENV)/bin/python -m pip install --quiet -r requirements.txt
	touch $@

# The Lambda package of STAGE (dev unless STAGE=...), from the runtime requirements only; prints its size.
package: $(DEPLOY_VENV)/.installed
	$(ZAPPA) package $(STAGE) --output $(PACKAGE)
	@$(DEPLOY_VENV)/bin/python -c "import os, sys; print(f'{sys.argv[1]}: {os.path.getsize(sys.argv[1]) / 1e6:.1f} MB')" $(PACKAGE)

# zappa deploy / update from the same virtualenv (AWS credentials from your environment or profile).
deploy: $(DEPLOY_VENV)/.installed
	$(ZAPPA) deploy $(STAGE)

update: $(DEPLOY_VENV)/.installed
	$(ZAPPA) update $(STAGE)
