"""The voucher pipeline as an Airflow 3 DAG, daily: the steps of `make pipeline`.

load -> freshness -> dbt (an astronomer-cosmos task group) -> publish

- ``load``: ``python -m loader load $VOUCHER_DATA`` (appends each new file of
  that file, folder or glob as its own load, atomically; known files are skipped).
- ``freshness``: ``dbt source freshness`` on the raw source, from the load
  metadata: past the error threshold (dbt vars) the run stops before the
  build; a warning shows in the task's log. After the load, as in
  `make pipeline`: before the first load there is no table to check, and a
  stale source must not block the load that refreshes it.
- ``dbt``: the dbt project rendered by cosmos, one task per seed and model
  and one per model's tests (and per test that reads several models), with
  retries. Cosmos's WATCHER execution mode: one ``dbt build`` of the whole
  project (the ``dbt_producer_watcher`` task) whose per-node results the
  other tasks report. One build on purpose: ``publish`` audits
  ``run_results.json`` and publishes only a full ``dbt build`` in which every
  node passed, unit tests included (cosmos renders no unit-test tasks; the
  build runs them all).
- ``publish``: ``python -m serving publish``, only when every dbt task
  succeeded; the API picks the new build up by itself.

Every command runs from the product's virtualenv (``.venv``, ``make setup``)
in the product's directory, with the settings `make pipeline` reads from the
environment of the Airflow worker (``DBT_TARGET``, ``DUCKDB_PATH``, ``PG*``,
``DBT_TARGET_PATH``, ...); relative paths are made absolute against the
product's directory, since cosmos runs dbt from a temporary copy of it.
``VOUCHER_DATA`` names the Parquet file, ``VOUCHER_DBT_VARS`` dbt vars as JSON.
"""

from __future__ import annotations

import json
import os
import shlex
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, TriggerRule
from cosmos import (
    DbtTaskGroup,
    ExecutionConfig,
    ProfileConfig,
    ProjectConfig,
    RenderConfig,
)
from cosmos.constants import (
    ExecutionMode,
    InvocationMode,
    LoadMode,
    TestBehavior,
    TestIndirectSelection,
)

# The product's checkout: this file lives in orchestration/airflow/dags/ (a
# symlink into Airflow's dags folder resolves back here).
PROJECT_DIR = Path(
    os.environ.get("VOUCHER_PROJECT_DIR") or Path(__file__).resolve().parents[3]
)
VENV_BIN = PROJECT_DIR / ".venv" / "bin"
DBT = VENV_BIN / "dbt"
DATA = os.environ.get("VOUCHER_DATA", "build/demo")
# dbt vars as a JSON object, e.g. '{"countries": ["Peru", "China"]}'.
DBT_VARS: dict = json.loads(os.environ.get("VOUCHER_DBT_VARS") or "{}")
RETRIES = int(os.environ.get("VOUCHER_DBT_RETRIES", "2"))
RETRY_DELAY = timedelta(
    seconds=int(os.environ.get("VOUCHER_RETRY_DELAY_SECONDS", "300"))
)

# Paths the product reads relative to its directory, with its defaults.
_PATHS = {
    "DUCKDB_PATH": "warehouse/voucher.duckdb",
    "SPARK_WAREHOUSE": "warehouse/spark",
    "DBT_TARGET_PATH": "target",
    "DBT_LOG_PATH": "logs",
}


def _absolute(value: str) -> str:
    path = Path(value)
    return str(path if path.is_absolute() else PROJECT_DIR / path)


ENV = {
    **{
        name: _absolute(os.environ.get(name) or default)
        for name, default in _PATHS.items()
    },
    "DBT_TARGET": os.environ.get("DBT_TARGET", "duckdb"),
    "DBT_PROFILES_DIR": str(PROJECT_DIR),
    # No calls home from dbt: no usage statistics, no version check.
    "DO_NOT_TRACK": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DBT_VERSION_CHECK": "false",
}
VARS_FLAG = f"--vars {shlex.quote(json.dumps(DBT_VARS))}" if DBT_VARS else ""


def _command(task_id: str, command: str) -> BashOperator:
    """A product command run in its directory, the worker's environment plus ENV."""
    return BashOperator(
        task_id=task_id,
        bash_command=command,
        cwd=str(PROJECT_DIR),
        env=ENV,
        append_env=True,
    )


with DAG(
    dag_id="voucher_pipeline",
    description="Parquet -> raw -> dbt build (audited) -> serving",
    schedule="15 3 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    # One run at a time: two builds on one warehouse would refuse each
    # other's publish (the audit wants the latest invocation).
    max_active_runs=1,
    tags=["voucher-selection"],
) as dag:
    load = _command("load", f"{VENV_BIN}/python -m loader load {shlex.quote(DATA)}")
    freshness = _command("freshness", f"{DBT} source freshness {VARS_FLAG}")

    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            dbt_project_path=PROJECT_DIR,
            env_vars=ENV,
            dbt_vars=DBT_VARS,
            install_dbt_deps=False,
            # Cosmos's partial-parse cache looks for the manifest in its
            # temporary copy, not in DBT_TARGET_PATH, and fails the import.
            partial_parse=False,
        ),
        profile_config=ProfileConfig(
            profile_name="voucher_selection",
            target_name=ENV["DBT_TARGET"],
            profiles_yml_filepath=PROJECT_DIR / "profiles.yml",
        ),
        # dbt lives in the product's virtualenv, not Airflow's: cosmos must
        # run it as a subprocess, both to render (dbt ls) and to execute.
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER,
            invocation_mode=InvocationMode.SUBPROCESS,
            dbt_executable_path=DBT,
            # A model's test task, retried, runs that model's tests only.
            test_indirect_selection=TestIndirectSelection.CAUTIOUS,
            # The build is not retried: a second `dbt build` after a failed
            # one is a new run of the DAG (the node tasks retry their nodes).
            setup_operator_args={"retries": 0},
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_LS,
            invocation_mode=InvocationMode.SUBPROCESS,
            dbt_executable_path=DBT,
            test_behavior=TestBehavior.AFTER_EACH,
            # A test that reads several models (the cleaning reconciles, every
            # variant has a mode) is its own task after all of them, so a
            # model's test task holds that model's tests only.
            should_detach_multiple_parents_tests=True,
        ),
        operator_args={"retries": RETRIES, "retry_delay": RETRY_DELAY},
    )
    publish = _command("publish", f"{VENV_BIN}/python -m serving publish")

    # The first node tasks start once the build has finished, whatever its
    # outcome, and report each node's result from it: with the default
    # wiring they watch the build while it runs, which deadlocks wherever
    # tasks run one at a time (`airflow dags test`, a single worker slot)
    # and a node task happens to start before the build. They still need
    # the freshness check to have passed.
    producer = dag.get_task(f"{dbt.group_id}.dbt_producer_watcher")
    for task in dbt.get_roots():
        if task is not producer:
            task.trigger_rule = TriggerRule.ALL_DONE_MIN_ONE_SUCCESS
            [freshness, producer] >> task

    load >> freshness >> dbt >> publish
