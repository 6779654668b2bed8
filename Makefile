# Portail de coordination — les deux commandes : `make run` et `make test`.
SHELL := /bin/bash
PYTHON ?= python3
# uv : celui du PATH, sinon celui installé par pip pour l'utilisateur.
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
VENV := .venv
PY := $(VENV)/bin/python
export XDG_RUNTIME_DIR ?= /tmp

.PHONY: run test install uv lint format migrations-check pytest bench browsers totp

uv:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 \
	  || $(PYTHON) -m pip install --quiet uv \
	  || $(PYTHON) -m pip install --user --quiet uv \
	  || $(PYTHON) -m pip install --user --quiet --break-system-packages uv

install: uv
	@$(UV) sync --frozen --quiet

## make run : installe, démarre PostgreSQL + Redis embarqués, migre, charge la démo,
## lance le serveur web, un worker Celery et Celery beat. Ctrl-C arrête tout.
run: install
	@$(PY) -m sandbox.stack run

## make test : toute la suite sur PostgreSQL et Redis réels, plus les vérifications de qualité.
test: install lint migrations-check pytest

lint:
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/djlint --check templates coordination cercle cahier_liaison ppa agenda --quiet

format:
	@$(VENV)/bin/ruff check --fix .
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/djlint --reformat templates coordination cercle cahier_liaison ppa agenda --quiet || true

migrations-check:
	@$(PY) -m sandbox.stack check-migrations

pytest:
	@$(VENV)/bin/pytest -n 2 $(PYTEST_ARGS)

## make bench SCALE=S|M|L : scénarios de performance (voir bench/README.md).
bench: install
	@$(PY) -m bench.run --scale $(or $(SCALE),S)

## make totp EMAIL=… : code TOTP courant d'un compte de démonstration.
totp: install
	@$(PY) -m sandbox.demo_totp $(EMAIL)
