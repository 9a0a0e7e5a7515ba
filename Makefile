# Two commands for a fresh clone: `make run` (the app locally) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PYTEST_ARGS ?=
# Deploys package this virtualenv, built from requirements.txt alone (never the dev .venv: it would not fit Lambda),
# with the Python of the Lambda runtime (python3.13) so that Zappa packages the wheels built for it.
STAGE ?= dev
DEPLOY_VENV ?= .venv-deploy
DEPLOY_PYTHON ?= $(shell .ci/find-python 3.13)
ZAPPA := VIRTUAL_ENV=$(abspath $(DEPLOY_VENV)) PATH=$(abspath $(DEPLOY_VENV))/bin:$$PATH $(DEPLOY_VENV)/bin/zappa
PACKAGE ?= $(STAGE)-package.zip

.PHONY: run test lint format bench docs package check-package deploy update

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
	@test -n "$(DEPLOY_PYTHON)" || { echo "error: no working Python 3.13 for the python3.13 Lambda runtime: install it (pyenv install 3.13) or set DEPLOY_PYTHON=/path/to/python3.13" >&2; exit 1; }
	@test ! -x $(DEPLOY_VENV)/bin/python || $(DEPLOY_VENV)/bin/python -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null || rm -rf $(DEPLOY_VENV)
	test -x $(DEPLOY_VENV)/bin/python || $(DEPLOY_PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(DEPLOY_VENV)/bin/python -m pip install --quiet -r requirements.txt
	touch $@

# The Lambda package of STAGE (dev unless STAGE=...), from the runtime requirements only; prints its size.
package: $(DEPLOY_VENV)/.installed
	$(ZAPPA) package $(STAGE) --output $(PACKAGE)
	@$(DEPLOY_VENV)/bin/python -c "import os, sys; print(f'{sys.argv[1]}: {os.path.getsize(sys.argv[1]) / 1e6:.1f} MB')" $(PACKAGE)

# The package unpacked into an empty folder answers a WebSocket event under Python 3.13 with nothing else on the path.
check-package: package
	$(DEPLOY_PYTHON) .ci/check_package.py $(PACKAGE)

# zappa deploy / update from the same virtualenv (AWS credentials from your environment or profile).
deploy: $(DEPLOY_VENV)/.installed
	$(ZAPPA) deploy $(STAGE)

update: $(DEPLOY_VENV)/.installed
	$(ZAPPA) update $(STAGE)
