# Every target creates .venv and installs what it needs, so a fresh machine needs only
# Python 3.11+, make and (for the PostgreSQL half of the tests) a PostgreSQL server.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv bytecode demo test test-fast lint fmt bench soak serve clean migration

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[dev]'
	touch $(STAMP)

# Where PYTHONDONTWRITEBYTECODE is set (as on CI), every process would compile every module
# it imports, ~1.5 s of CPU per `maitred` process the tests and the demo start: the packages
# are compiled at install (above) and our own sources here (only what changed since).
bytecode: venv
	$(BIN)/python -m compileall -q src tests bench > /dev/null

demo: bytecode
	$(BIN)/maitred demo --once

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src tests bench

test: lint bytecode
	$(BIN)/pytest

test-fast: bytecode
	$(BIN)/pytest -x -q -m "not slow"

fmt: venv
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

# make bench [BENCH_ARGS="P1 P6 --quick"]: every scenario by default.
bench: bytecode
	$(BIN)/python -m bench $(BENCH_ARGS)

# make soak: the reliability suite's long run, about 30 minutes, not part of make test. Random
# kill -9 of workers (SQLite, PostgreSQL) and repeated database restarts run SOAK_SECONDS each;
# the crash points and the receiver outage (at its soak length) run once. Prints the figures.
SOAK_SECONDS ?= 520
soak: bytecode
	MAITRED_SOAK_SECONDS=$(SOAK_SECONDS) $(BIN)/pytest -q --timeout=3600 \
		tests/reliability/test_crashes.py \
		tests/reliability/test_database_restart.py tests/reliability/test_outage.py

serve: venv
	$(BIN)/maitred serve

# Rewrite the initial migration from the models (allowed until the first release).
migration: venv
	$(BIN)/python -m maitred.db.regen_initial

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
