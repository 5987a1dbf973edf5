# A thin veneer over commands you could type yourself; no logic hides here.
# make run       set up, generate demo data, load, dbt build, publish, serve the
#                API and the lookup page at http://127.0.0.1:$(PORT)/
# make pipeline  load -> dbt build -> publish, stopping at the first failure with
#                nothing published (DATA=..., DBT_TARGET=duckdb|postgres|spark,
#                COUNTRIES=Peru,China); spark installs the spark extra first
# make publish   publish the last dbt build, only if every node passed
# make rollback  serve the build published before the current one
# make test      the pipeline on DuckDB and PostgreSQL, then pytest (Spark too)

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DBT_TARGET ?= duckdb
DATA ?= build/demo/vouchers.parquet
DEMO_ROWS ?= 200000
COUNTRIES ?= Peru
PORT ?= 5000

export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DBT_PROFILES_DIR := $(CURDIR)
export DBT_TARGET
DBT := $(BIN)/dbt --no-version-check
COMMA := ,
DBT_VARS := '{"countries": ["$(subst $(COMMA),"$(COMMA) ",$(COUNTRIES))"]}'

.PHONY: setup setup-spark run pipeline demo-data load build publish rollback history serve test lint postgres clean docs docs-static report bench bench-pipeline

$(BIN)/activate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(BIN)/activate

# Apache Spark (dbt-spark's session method, pyspark's jars: about 400 MB), only
# for DBT_TARGET=spark and the tests; it needs a Java runtime (java on PATH).
$(VENV)/.spark-installed: pyproject.toml | setup
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $@

setup-spark: $(VENV)/.spark-installed

SPARK_SETUP := $(if $(filter spark,$(DBT_TARGET)),setup-spark)

build/demo/vouchers.parquet: | setup
	$(BIN)/python -m loader generate --rows $(DEMO_ROWS) --seed 42 --out $@

demo-data: build/demo/vouchers.parquet

load: setup $(SPARK_SETUP) $(if $(filter build/demo/vouchers.parquet,$(DATA)),demo-data)
	$(BIN)/python -m loader load $(DATA)

build: setup $(SPARK_SETUP)
	$(DBT) build --vars $(DBT_VARS)

# Write-audit-publish: the API serves only what `publish` accepted.
publish: setup
	$(BIN)/python -m serving publish

rollback: setup
	$(BIN)/python -m serving rollback

history: setup
	$(BIN)/python -m serving history

# Sequential on purpose: each step runs only if the one before succeeded.
pipeline:
	$(MAKE) load
	$(MAKE) build
	$(MAKE) publish

serve: setup
	$(BIN)/gunicorn --config api/gunicorn.conf.py api.asgi:app

run: pipeline serve

# The lineage site, raw source to API exposure; tracking is off (DO_NOT_TRACK).
DOCS_PORT ?= 8080
docs: setup
	$(DBT) docs generate
	$(DBT) docs serve --host 127.0.0.1 --port $(DOCS_PORT) --no-browser

# Lookup route vs a minimal Falcon app under the same server (needs wrk).
bench: setup
	$(BIN)/python benchmarks/bench_api.py
	$(BIN)/python benchmarks/bench_load.py

# The pipeline against a pandas script and one DuckDB query, 1M and 10M rows,
# DuckDB and PostgreSQL (ROWS="1000000" for a quicker look).
ROWS ?= 1000000 10000000
bench-pipeline: setup
	scripts/with-postgres.sh $(BIN)/python benchmarks/bench_pipeline.py --rows $(ROWS)

# Self-contained HTML data-quality and EDA report, from the marts only.
report: setup
	$(BIN)/python -m report --out build/report/index.html

docs-static: setup
	$(DBT) docs generate --static
	@echo "single-file site: target/static_index.html"

postgres: setup
	scripts/with-postgres.sh $(BIN)/python -m loader ensure-postgres

# Tests use their own warehouse so they never overwrite the one `make run` built.
test: export DUCKDB_PATH := build/test/voucher.duckdb
test: export PGDATABASE := voucher_test
test: setup setup-spark demo-data
	$(MAKE) pipeline DBT_TARGET=duckdb
	scripts/with-postgres.sh $(MAKE) pipeline DBT_TARGET=postgres
	$(BIN)/pytest --durations=30

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf build target logs warehouse
