# Catalog: `make run` serves the demo catalog, `make test` runs the fast suite, `make test-all`
# all of it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := catalog

.PHONY: run test test-all lint format requirements bench clean

run: $(VENV)/.run-deps
	FLASK_DEBUG=1 $(BIN)/flask db upgrade
	FLASK_DEBUG=1 $(BIN)/flask seed
	FLASK_DEBUG=1 $(BIN)/flask run --host 127.0.0.1 --port 5000

# The fast suite leaves out the tests marked slow (browser, faults, load, deploy, packaging...);
# test-all runs this same recipe with every test. One tier: make test PYTEST_MARKERS=slow.
PYTEST_MARKERS ?= not slow
# pytest-xdist: a worker process per core (PYTEST_WORKERS=0: all in one process). Tests in one
# xdist_group (the browser tests, the fault tests' cluster, the load test) share a worker.
PYTEST_WORKERS ?= auto

test: $(VENV)/.dev-deps lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup \
		$(if $(PYTEST_MARKERS),-m "$(PYTEST_MARKERS)") $(PYTEST_ARGS)

test-all:
	$(MAKE) test PYTEST_MARKERS=

lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.dev-deps
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Pinned requirements for the platform's buildpack, generated from pyproject.toml.
requirements: $(VENV)/.dev-deps
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --quiet \
		--custom-compile-command "make requirements" -o requirements.txt
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --quiet --extra dev \
		--custom-compile-command "make requirements" -o requirements-dev.txt

# Benchmark against PostgreSQL at BENCH_DATABASE_URL (README, "Benchmarks"); writes
# bench/RESULTS.md. A quick run: make bench SIZES=1000,100000. PROFILE=1 adds py-spy profiles.
SIZES ?= 1000,100000,1000000
bench: $(VENV)/.dev-deps
	$(BIN)/python -m bench --sizes $(SIZES) $(if $(PROFILE),--profile)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the pinned requirements change.
$(VENV)/.run-deps: requirements.txt | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements-dev.txt | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.run-deps

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
