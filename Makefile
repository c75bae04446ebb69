# Two entry points (see README): `make run` and `make test`. Everything else is a step they use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.9

.PHONY: run test install lock dagster dash clean-data

# The venv is rebuilt only when the lock or the project metadata changes.
$(VENV)/.installed: requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version.split()[0]'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install -q --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	touch $@

install: $(VENV)/.installed

## The whole platform: embedded PostgreSQL when DATABASE_URL is unset, migrations, services.
run: install
	$(BIN)/ehb up

## The test suite against a real PostgreSQL (127.0.0.1:5432 when it answers, else an embedded one).
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Re-resolve pinned versions after editing pyproject.toml dependencies.
lock:
	$(BIN)/uv pip compile -q pyproject.toml --python-version 3.11 -o requirements.lock

clean-data:
	rm -rf data/pg data/warehouse data/exports
