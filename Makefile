# A thin veneer over commands you could type yourself; no logic hides here.
# make run       set up, generate demo data, load, dbt build, publish, serve the
#                API and the lookup page at http://127.0.0.1:$(PORT)/
# make pipeline  load -> source freshness -> dbt build -> publish, stopping at
#                the first failure with nothing published (DATA=... appends
#                each new file, REPLACE=1 replaces raw with DATA,
#                DBT_TARGET=duckdb|postgres|spark|spark_cluster,
#                SERVE_TARGET=duckdb|postgres (where a Spark build is
#                published; default duckdb), COUNTRIES=Peru,China,
#                FRESHNESS_STRICT=1: a stale source fails instead of warning);
#                spark installs the spark extra first
# make publish   publish the last dbt build, only if every node passed, and
#                print what it answers (python -m serving summary)
# make rollback  serve the build published before the current one
# make test      lint, the pipeline on DuckDB and PostgreSQL, dbt-quality, the
#                Airflow DAG (make airflow-test), then pytest (Spark too)
# make spark-cluster  a local Spark standalone cluster for
#                DBT_TARGET=spark_cluster, on 127.0.0.1: master :7077 (UI
#                :8090), two workers, a Thrift server on :10000 whose Hive
#                metastore is in PostgreSQL; make spark-cluster-stop stops it
#                (scripts/spark_cluster.py start|stop|status)

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DBT_TARGET ?= duckdb
# Files, folders (their *.parquet* files) or globs; each new file is appended.
DATA ?= build/demo
REPLACE ?=
DEMO_ROWS ?= 200000
DEMO_DAYS ?= 4
COUNTRIES ?= Peru
PORT ?= 5000

export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DBT_PROFILES_DIR := $(CURDIR)
export DBT_TARGET
DBT := $(BIN)/dbt --no-version-check
COMMA := ,
FRESHNESS_STRICT ?=
# The same vars for freshness and build, so dbt's partial parse is reused.
DBT_VARS := '{"countries": ["$(subst $(COMMA),"$(COMMA) ",$(COUNTRIES))"]$(if $(filter 1,$(FRESHNESS_STRICT)),$(COMMA) "raw_freshness_strict": true)}'

.PHONY: setup setup-spark spark-cluster spark-cluster-stop run pipeline demo-data load build publish rollback history serve test lint postgres clean docs docs-static report bench bench-pipeline

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

SPARK_SETUP := $(if $(filter spark spark_cluster,$(DBT_TARGET)),setup-spark)

# The cluster outlives make; its pids, logs and work folders are under
# build/spark (SPARK_CLUSTER_DIR). PostgreSQL holds its metastore.
spark-cluster: setup-spark
	scripts/with-postgres.sh $(BIN)/python scripts/spark_cluster.py start

spark-cluster-stop: setup
	$(BIN)/python scripts/spark_cluster.py stop

# The demo data as daily files, so the quick start appends several loads.
build/demo/.generated: | setup
	$(BIN)/python -m loader generate --rows $(DEMO_ROWS) --seed 42 --days $(DEMO_DAYS) --out build/demo
	touch $@

demo-data: build/demo/.generated

load: setup $(SPARK_SETUP) $(if $(filter build/demo,$(DATA)),demo-data)
	$(BIN)/python -m loader load $(if $(filter 1,$(REPLACE)),--replace) $(DATA)

build: setup $(SPARK_SETUP)
	$(DBT) build --vars $(DBT_VARS)

# Write-audit-publish: the API serves only what `publish` accepted.
publish: setup
	$(BIN)/python -m serving publish
	$(BIN)/python -m serving summary

rollback: setup
	$(BIN)/python -m serving rollback

history: setup
	$(BIN)/python -m serving history

# Sequential on purpose: each step runs only if the one before succeeded.
# Freshness after the load: the dbt vars say how old the newest load may be;
# past the warning threshold it warns, past the error one (or the warning one
# with FRESHNESS_STRICT=1) it fails and nothing is built.
pipeline:
	$(MAKE) load
	$(DBT) source freshness --vars $(DBT_VARS)
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

# The pipeline against a pandas script and one DuckDB query, 1,000 rows (the
# fixed cost), 1M and 10M, DuckDB and PostgreSQL (ROWS="1000000" for a
# quicker look).
ROWS ?= 1000 1000000 10000000
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
# Two pytest processes (the machine's two cores), each test file whole in one
# (loadfile: module fixtures such as the Spark cluster start once); each
# process has its own PostgreSQL databases (tests/conftest.py). The Airflow
# tests (their own virtualenv and warehouse) run in the background beside
# pytest rather than minutes before it; their output follows pytest's, and
# either failing fails the target.
TEST_WORKERS ?= 2
AIRFLOW_TEST_LOG := build/airflow-test.log
test: export DUCKDB_PATH := build/test/voucher.duckdb
test: export PGDATABASE := voucher_test
test: lint setup setup-spark demo-data
	$(MAKE) pipeline DBT_TARGET=duckdb
	$(MAKE) dbt-quality DBT_TARGET=duckdb
	scripts/with-postgres.sh $(MAKE) pipeline DBT_TARGET=postgres
	$(MAKE) airflow-test > $(AIRFLOW_TEST_LOG) 2>&1 & airflow=$$!; \
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --durations=30; pytest=$$?; \
	wait $$airflow; airflow=$$?; \
	echo "make airflow-test (run beside pytest, exit $$airflow):"; \
	cat $(AIRFLOW_TEST_LOG); \
	[ $$pytest -eq 0 ] && [ $$airflow -eq 0 ]

# Airflow in its own virtualenv (it pins hundreds of libraries the product must
# not meet), from the committed constraints; `orchestration/airflow/airflow.sh
# freeze` re-resolves requirements.txt and rewrites them.
AIRFLOW_VENV := .venv-airflow
$(AIRFLOW_VENV)/bin/activate: orchestration/airflow/requirements.txt orchestration/airflow/constraints.txt
	PYTHON=$(PYTHON) orchestration/airflow/airflow.sh setup
	touch $@

# The DAG's integrity test, then `airflow dags test` of the whole DAG on DuckDB
# and the demo data, passing and with a failing dbt test (SQLite metadata
# database, warehouse and dbt target under build/airflow/; no scheduler).
.PHONY: airflow airflow-test
airflow: $(AIRFLOW_VENV)/bin/activate

airflow-test: airflow setup demo-data
	orchestration/airflow/airflow.sh run pytest orchestration/airflow/tests --durations=5

# The dbt project's own hygiene, on the warehouse the last build wrote
# (make pipeline first).
# dbt-score lints the manifest (thresholds in pyproject's [tool.dbt-score]);
# dbt-coverage reads the catalog: every column the warehouse holds must be
# declared and described (1.0), and at least this share of them tested (a
# ratchet at today's 32.7%: raise it as tests are added). Its own target
# path, so the build's run_results.json stays the one `publish` audits.
DBT_QUALITY_PATH ?= build/dbt-quality
DBT_COVERAGE := $(BIN)/dbt-coverage compute --run-artifacts-dir $(DBT_QUALITY_PATH)
.PHONY: dbt-quality
dbt-quality: setup
	@# Without a build there is no catalog to read (and dbt-duckdb hangs on a
	@# warehouse file whose folder does not exist): say so instead.
	@$(BIN)/python -c 'import pathlib, sys; from dwh.settings import setting; \
	    path = setting("DUCKDB_PATH"); duckdb = setting("DBT_TARGET") == "duckdb"; \
	    sys.exit(duckdb and not pathlib.Path(path).is_file() and \
	    f"make dbt-quality: no build in {path}; run make pipeline first")'
	$(DBT) docs generate --target-path $(DBT_QUALITY_PATH)
	$(BIN)/dbt-score lint --manifest $(DBT_QUALITY_PATH)/manifest.json
	$(DBT_COVERAGE) doc --cov-report $(DBT_QUALITY_PATH)/coverage-doc.json --cov-fail-under 1.0
	$(DBT_COVERAGE) test --cov-report $(DBT_QUALITY_PATH)/coverage-test.json --cov-fail-under 0.32

# Python (ruff) and SQL (sqlfluff, .sqlfluff: rendered by dbt on the duckdb
# target, into an in-memory DuckDB so no warehouse file is opened); make test
# runs it first. `sqlfluff fix PATH` rewrites a file to the style.
lint: export DUCKDB_PATH := :memory:
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint models tests analyses

clean:
	rm -rf build target logs warehouse
