# Fellesplan. `make run` serves with SQLite and demo data; `make test` runs everything.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export FELLESPLAN_DATABASE_URL ?= sqlite+aiosqlite:///./data/fellesplan.db

.PHONY: install run test lint typecheck openapi bench bench-large clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	mkdir -p data
	$(BIN)/fellesplan db upgrade
	$(BIN)/fellesplan demo
	$(BIN)/fellesplan dev-tokens
	$(BIN)/fellesplan serve

lint: install
	$(BIN)/ruff check app tests bench

typecheck: install
	$(BIN)/mypy

test: install lint typecheck
	scripts/with-postgres.sh $(BIN)/pytest -q -n 2 --dist loadgroup -p no:cacheprovider

openapi: install
	$(BIN)/python -m app.openapi > openapi/openapi.json

bench: install
	$(BIN)/python -m bench run --scale 100k

bench-large: install
	$(BIN)/python -m bench run --scale 1m

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
