"""The DAG imports cleanly and has the shape the pipeline needs."""

from __future__ import annotations

import os

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.utils.trigger_rule import TriggerRule

DAG_ID = "voucher_pipeline"


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])


@pytest.fixture(scope="module")
def dag(dagbag: DagBag):
    assert not dagbag.import_errors, dagbag.import_errors
    return dagbag.dags[DAG_ID]


def test_no_import_errors(dagbag: DagBag) -> None:
    assert dagbag.import_errors == {}
    assert DAG_ID in dagbag.dags


def test_daily_without_catchup(dag) -> None:
    assert dag.schedule == "15 3 * * *"  # daily, 03:15 UTC
    assert dag.catchup is False
    assert dag.max_active_runs == 1


def test_load_then_freshness_then_dbt_then_publish(dag) -> None:
    load, freshness, publish = (
        dag.get_task(t) for t in ("load", "freshness", "publish")
    )
    assert load.upstream_task_ids == set()
    assert freshness.upstream_task_ids == {"load"}
    dbt_tasks = {t.task_id for t in dag.tasks if t.task_id.startswith("dbt.")}
    # Every dbt task waits for the freshness check (directly or through
    # another dbt task); publish waits for every dbt task to succeed.
    assert all(
        "freshness" in dag.get_task(t).get_flat_relative_ids(upstream=True)
        for t in dbt_tasks
    )
    assert dbt_tasks <= publish.get_flat_relative_ids(upstream=True)
    assert publish.trigger_rule == TriggerRule.ALL_SUCCESS
    assert publish.downstream_task_ids == set()


def test_each_model_runs_and_tests_as_a_task_with_retries(dag) -> None:
    ids = {t.task_id for t in dag.tasks}
    models = ("stg_raw__vouchers", "int_vouchers_validated", "voucher_segment_modes")
    for model in models:
        assert {f"dbt.{model}.run", f"dbt.{model}.test"} <= ids
    assert "dbt.segment_definitions.seed" in ids
    node_tasks = [
        t
        for t in dag.tasks
        if t.task_id.startswith("dbt.")
        and t.task_id.rsplit(".", 1)[-1] in ("run", "test", "seed")
    ]
    assert node_tasks and all(t.retries >= 1 for t in node_tasks)


def test_one_full_dbt_build_runs_every_node(dag) -> None:
    # The publish step publishes only one full `dbt build` (unit tests
    # included), so the producer builds the whole project, nothing excluded.
    producer = dag.get_task("dbt.dbt_producer_watcher")
    assert producer.base_cmd == ["build"]
    assert not producer.select and not producer.exclude
    assert producer.upstream_task_ids == {"freshness"}
    assert producer.retries == 0


def test_node_tasks_start_after_the_build(dag) -> None:
    # Else a node task that starts first waits for a build that never starts
    # where tasks run one at a time (`airflow dags test`, one worker slot).
    producer = "dbt.dbt_producer_watcher"
    for task_id in ("dbt.stg_raw__vouchers.run", "dbt.segment_definitions.seed"):
        task = dag.get_task(task_id)
        assert task.upstream_task_ids == {"freshness", producer}
        assert task.trigger_rule == TriggerRule.ALL_DONE_MIN_ONE_SUCCESS
