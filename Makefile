# Everyday commands. `make run` and `make test` set everything up on a fresh machine
# that has only Python 3.11 and make: pip installs uv, uv installs the locked
# environment into .venv, then the command runs.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .tools
UV := $(TOOLS)/bin/uv
STAMP := $(VENV)/.synced
export UV_PYTHON_DOWNLOADS := never
# Installed packages compiled to bytecode once, at install: where PYTHONDONTWRITEBYTECODE is set (as on
# this project's machines), every process would compile each module it imports again (seconds for Prefect).
export UV_COMPILE_BYTECODE := 1

# Prefect settings for this project: its own PREFECT_HOME, no telemetry, and a
# start-up timeout long enough for the ephemeral server on a fresh database.
export PREFECT_HOME := $(CURDIR)/.prefect
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120

.PHONY: setup run check test lint clean server deploy worker bench bench-scale bench-validate bench-hostile bench-catalogue bench-dask

WEB_STAMP := web/node_modules/.fetched-all

setup: $(STAMP) $(WEB_STAMP)

$(UV):  # uv lives in its own small venv, so `uv sync` never removes it
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "uv==0.13.9"

$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --python $(PYTHON)
	@touch $(STAMP)

$(WEB_STAMP): web/packages.json web/fetch.py  # the catalogue's front-end packages, from the npm registry
	$(PYTHON) web/fetch.py
	@touch $(WEB_STAMP)

run: setup  ## the main job on the bundled demo partners
	$(BIN)/partnerdata run

check: setup  ## check sources.yaml and the schemas without fetching
	$(BIN)/partnerdata check

test: setup  ## the whole test suite, slow tests included
	$(BIN)/python -m pytest

# The nightly schedule (see README.md): a Prefect server, the deployments, a worker.
# Each runs in the foreground; use three terminals, or run them as services.
PREFECT_PORT ?= 4200
server: setup  ## a Prefect server with its UI on http://127.0.0.1:$(PREFECT_PORT)
	$(BIN)/prefect server start --host 127.0.0.1 --port $(PREFECT_PORT)

deploy: setup  ## register the deployments of prefect.yaml with the server
	PREFECT_API_URL=http://127.0.0.1:$(PREFECT_PORT)/api $(BIN)/prefect work-pool inspect partnerdata >/dev/null 2>&1 || \
	  PREFECT_API_URL=http://127.0.0.1:$(PREFECT_PORT)/api $(BIN)/prefect work-pool create partnerdata --type process
	PREFECT_API_URL=http://127.0.0.1:$(PREFECT_PORT)/api $(BIN)/prefect work-pool set-concurrency-limit partnerdata 1
	PREFECT_API_URL=http://127.0.0.1:$(PREFECT_PORT)/api PARTNERDATA_PROJECT_DIR=$(CURDIR) $(BIN)/prefect --no-prompt deploy --all

worker: setup  ## a process worker that runs the scheduled and manual flow runs
	PREFECT_API_URL=http://127.0.0.1:$(PREFECT_PORT)/api $(BIN)/prefect worker start --pool partnerdata

bench: setup  ## the nightly flow on 1,000,000 records from 20 loopback HTTP sources, against the plain-pyarrow floor (prints figures)
	$(BIN)/python bench/scale.py

bench-scale: setup  ## make bench at 1,000,000 and at 5,000,000 records in one run, side by side (prints figures; about 20 minutes)
	$(BIN)/python bench/scale.py --rows 1000000 --compare-rows 5000000

bench-validate: setup  ## validation speed against frictionless-py on generated activity rows (prints figures)
	$(BIN)/python bench/validate.py

bench-hostile: setup  ## peak RSS and time of a run with each bomb and corrupt file, against the same run without it (prints figures)
	$(BIN)/python bench/hostile.py

bench-catalogue: setup  ## the catalogue build and the explorer in Chromium on a release of 1,000,000 activities: times, bytes, counts checked against duckdb (prints figures)
	$(BIN)/python bench/catalogue.py

bench-dask: setup  ## the demo run in-process against --dask-workers 2, and the cluster's start alone (prints figures)
	$(BIN)/python bench/dask.py

lint: setup  ## ruff (style, complexity, arguments), import-linter (the layers of README's Development section), mypy
	$(BIN)/ruff check src flows tests bench
	$(BIN)/ruff format --check src flows tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

clean:  ## remove what runs wrote (raw/, published/, reports/ keep their .gitkeep) and the benchmarks' data
	find raw published reports -mindepth 1 -not -name .gitkeep -exec rm -rf {} +
	rm -rf .bench
