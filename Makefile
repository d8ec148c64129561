# Everything a new machine needs is set up by these targets: a project-local uv
# (.tools, hash-pinned in requirements-bootstrap.txt) and the locked virtualenv (.venv,
# uv.lock). Update the lock with `make lock` after editing pyproject.toml.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
TOOLS := .tools
UV := $(TOOLS)/bin/uv
BIN := $(VENV)/bin
export UV_PROJECT_ENVIRONMENT := $(VENV)

export DBT_PROFILES_DIR := $(CURDIR)

.PHONY: demo test test-fast test-python soak check lint-python lint-imports lint-sql lint-dbt build bench lock clean

demo: $(VENV)/.installed
	$(BIN)/dyno-reports demo

test: $(VENV)/.installed
	$(MAKE) --no-print-directory check
	$(MAKE) --no-print-directory test-python

test-python: $(VENV)/.installed
	$(BIN)/pytest

# The edit loop: the tests that need no database, no Dagster run, no browser (seconds).
test-fast: $(VENV)/.installed
	$(BIN)/pytest -m "not db and not dagster and not browser and not slow"

# Fault-and-load soak for SOAK_MINUTES (default 5); see tests/soak/soak.py and docs/robustness.md.
soak: $(VENV)/.installed
	PYTHONPATH=tests/python $(BIN)/python tests/soak/soak.py

# The quality gates; pre-commit runs the same targets (.pre-commit-config.yaml).
check: lint-python lint-imports lint-sql lint-dbt
	$(BIN)/pre-commit validate-config .pre-commit-config.yaml

lint-python: $(VENV)/.installed
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

# The layers' import rules ([tool.importlinter] in pyproject.toml).
lint-imports: $(VENV)/.installed
	$(BIN)/lint-imports

lint-sql: $(VENV)/.installed profiles.yml
	$(BIN)/sqlfluff lint models tests/dbt macros
	$(BIN)/sqlfluff lint --templater placeholder orchestration/reports/sql orchestration/warehouse/sql bench/sql

lint-dbt: $(VENV)/.installed profiles.yml
	$(BIN)/dbt parse --quiet
	$(BIN)/dbt-bouncer run --config-file dbt-bouncer.yml

profiles.yml: profiles.example.yml
	cp profiles.example.yml profiles.yml

build: $(VENV)/.installed
	$(BIN)/dyno-reports build

# The scale benchmark (docs/performance.md); options: make bench BENCH_ARGS="--scale small".
bench: $(VENV)/.installed profiles.yml
	$(BIN)/python -m bench $(BENCH_ARGS)

lock: $(UV)
	$(UV) lock --python $(PYTHON)

$(UV): requirements-bootstrap.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		--no-deps -r requirements-bootstrap.txt
	touch $@

$(VENV)/.installed: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

clean:
	rm -rf $(VENV) $(TOOLS) target logs .pytest_cache .mypy_cache .ruff_cache
