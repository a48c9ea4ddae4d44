# `make demo` and `make test` do all their own set-up: a .venv with the project and its extras.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= /tmp/trakt-demo-output
FORMATS_DEMO_OUT ?= /tmp/trakt-formats-demo
SQL_DEMO_OUT ?= /tmp/trakt-sql-demo
BUILTINS_DEMO_OUT ?= /tmp/trakt-builtins-demo
# pytest-xdist workers: CI's machine has 2 cores, and most tests wait on child processes,
# Spark or PostgreSQL. A test file stays on one worker (module fixtures start once);
# TEST_WORKERS=0 runs everything in this process.
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

.PHONY: demo demo-stream demo-formats demo-sql demo-builtins test test-fast lint typecheck bench bench-peers clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,excel,otel,sql,s3,spark]"
	touch $(STAMP)

demo: $(STAMP)
	PYTHONPATH=examples/multi_file_demo $(BIN)/python -m trakt.run_local \
	  --pipeline-file examples/multi_file_demo/pipeline.yaml \
	  --input-dir examples/multi_file_demo/input \
	  --output-dir $(DEMO_OUT)
	@echo "Demo output: $(DEMO_OUT)/final.csv (manifest: $(DEMO_OUT)/manifest.json)"

demo-stream: $(STAMP)
	PYTHONPATH=examples/stream_demo $(BIN)/python -m trakt.run_local \
	  --pipeline-file examples/stream_demo/pipeline.yaml \
	  --input-dir examples/stream_demo/input \
	  --output-dir /tmp/trakt-stream-demo --stream-chunk-size 10000
	@echo "Stream demo output: /tmp/trakt-stream-demo/ (final.csv, totals.csv, manifest.json)"

demo-formats: $(STAMP)
	PYTHONPATH=examples/formats_demo $(BIN)/python -m trakt.run_local \
	  --pipeline-file examples/formats_demo/pipeline.yaml \
	  --input-dir examples/formats_demo/input \
	  --output-dir $(FORMATS_DEMO_OUT)
	@echo "Formats demo output: $(FORMATS_DEMO_OUT)/ (orders_by_country/country=*/ Parquet, orders.jsonl, manifest.json)"

# CSV -> SQLite -> aggregated CSV: two pipelines, one database file (nothing to install).
demo-sql: $(STAMP)
	SQL_DEMO_DB=$(SQL_DEMO_OUT)/sales.db $(BIN)/python -m trakt.run_local \
	  --pipeline-file examples/sql_demo/load.yaml \
	  --input-dir examples/sql_demo/input --output-dir $(SQL_DEMO_OUT)/load
	SQL_DEMO_DB=$(SQL_DEMO_OUT)/sales.db $(BIN)/python -m trakt.run_local \
	  --pipeline-file examples/sql_demo/report.yaml \
	  --output-dir $(SQL_DEMO_OUT)/report
	@echo "SQL demo: database $(SQL_DEMO_OUT)/sales.db (table sales), report $(SQL_DEMO_OUT)/report/revenue_by_region.csv"

# Built-in steps only (filter, derive, join, select, aggregate): no Python step code.
demo-builtins: $(STAMP)
	$(BIN)/python -m trakt.run_local \
	  --pipeline-file examples/builtins_demo/pipeline.yaml \
	  --input-dir examples/builtins_demo/input \
	  --output-dir $(BUILTINS_DEMO_OUT) --stream-chunk-size 50
	@echo "Built-ins demo output: $(BUILTINS_DEMO_OUT)/ (enriched_orders.csv, revenue_by_country.csv, manifest.json)"

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(PYTEST)

# Everything but the tests marked `slow` (those that start CLI child processes), `postgres`
# (those that start a PostgreSQL server: `apt-get install -y postgresql`) and `browser` (those
# that open headless Chromium: `apt-get install -y chromium`) and `spark` (those that start
# Spark: Java 17, `apt-get install -y openjdk-17-jre-headless`).
test-fast: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(PYTEST) -m "not slow and not postgres and not browser and not spark"

# Every benchmark runs, whatever an earlier one found; the missed targets are listed at the end
# (a benchmark exits non-zero for a missed target or a failure) and make bench then fails.
BENCHMARKS := batch_vs_pandas stream_memory wide_columns formats lambda_memory sql_load input_hashes
bench: $(STAMP) bench-peers
	@missed=""; \
	for script in $(BENCHMARKS); do \
	  echo "== benchmarks/$$script.py"; \
	  $(BIN)/python benchmarks/$$script.py || missed="$$missed $$script"; \
	done; \
	echo "== benchmarks/side_by_side.py 1000000"; \
	$(BIN)/python benchmarks/side_by_side.py 1000000 || missed="$$missed side_by_side"; \
	if [ -n "$$missed" ]; then echo "make bench: missed a target or failed:$$missed"; exit 1; fi

# benchmarks/side_by_side.py's peers (DuckDB, Kedro): their own venv, never Trakt dependencies,
# with the pandas of Trakt's venv so that Kedro and the pandas step run the same pandas.
PEERS := .venv-peers
bench-peers: $(PEERS)/.installed

$(PEERS)/.installed: $(STAMP) benchmarks/peers-requirements.txt
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install --quiet --upgrade pip
	$(PEERS)/bin/python -m pip install --quiet -r benchmarks/peers-requirements.txt \
	  "pandas==$$($(BIN)/python -c 'import pandas; print(pandas.__version__)')"
	touch $@

clean:
	rm -rf $(VENV) $(PEERS) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
