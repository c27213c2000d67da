# Two commands on a fresh machine with Python 3.11: `make run` (the main job) and `make test`.
# Both create .venv and install the project from pyproject.toml on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test test-pg lint bench mutation clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m statetune.main_job

lint: $(STAMP)
	$(BIN)/ruff check statetune tests experiments
	$(BIN)/ruff format --check statetune tests experiments
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

# `make test` with a throwaway local PostgreSQL server (installed from Debian packages if
# missing), so the PostgreSQL study tests run instead of skipping: what .ci/run does.
test-pg:
	STATETUNE_REQUIRE_POSTGRES=1 scripts/with_pg_test_server.sh $(MAKE) test

bench: $(STAMP)
	$(BIN)/python experiments/pass_throughput.py
	$(BIN)/python experiments/parquet_throughput.py
	$(BIN)/python experiments/pass_memory.py
	$(BIN)/python experiments/finalize_latency.py
	$(BIN)/python experiments/incremental_cost.py
	$(BIN)/python experiments/hpo_speedup.py
	$(BIN)/python experiments/trial_parallelism.py
	$(BIN)/python experiments/class_moments_throughput.py
	$(BIN)/python experiments/classifier_speedup.py
	$(BIN)/python experiments/forecast_speedup.py
	$(BIN)/python experiments/series_pass_throughput.py

# Mutation testing (issue 17), not part of `make test`: tens of minutes; writes results/mutation.md.
mutation: $(STAMP)
	$(BIN)/python experiments/mutation/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
