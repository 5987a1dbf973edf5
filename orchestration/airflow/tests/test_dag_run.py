"""`airflow dags test` of the whole DAG on DuckDB and the demo data.

No scheduler, no webserver: ``dags test`` runs every task in this process's
child against the SQLite metadata database the conftest migrated.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import published_builds, run

DAG_ID = "voucher_pipeline"
# A var of the project's own tests: no cleaning rule may reject more than this
# percent of a country's rows. At 0 the demo data (rules reject up to ~12 %)
# fails `no_rule_rejects_too_many_rows_per_country`; no project file changes.
FAILING_VARS = {"max_rejected_percent_per_rule": 0}
FAILING_TEST = "no_rule_rejects_too_many_rows_per_country"


def _artifact(name: str) -> dict:
    return json.loads((Path(os.environ["DBT_TARGET_PATH"]) / name).read_text())


def test_the_whole_dag_publishes_a_build() -> None:
    before = published_builds()
    result = run(["airflow", "dags", "test", DAG_ID], log="dags-test-passing.log")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert "state=success" in output
    after = published_builds()
    assert len(after) == len(before) + 1
    assert after[0].split()[1] == "current"

    # Every unit test of the project ran, and passed, in the build the DAG
    # published: cosmos renders no unit-test tasks, its one `dbt build` runs them.
    manifest, results = _artifact("manifest.json"), _artifact("run_results.json")
    assert results["args"]["which"] == "build"
    unit_tests = set(manifest["unit_tests"])
    ran = {
        r["unique_id"]: r["status"]
        for r in results["results"]
        if r["unique_id"].startswith("unit_test.")
    }
    assert unit_tests and ran == dict.fromkeys(unit_tests, "pass")
    assert results["metadata"]["invocation_id"] in after[0]


def test_a_failing_dbt_test_fails_the_dag_and_publishes_nothing() -> None:
    before = published_builds()
    result = run(
        ["airflow", "dags", "test", DAG_ID],
        env={"VOUCHER_DBT_VARS": json.dumps(FAILING_VARS)},
        log="dags-test-failing.log",
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-5000:]
    assert FAILING_TEST in output
    assert "state=failed" in output
    # publish never started, and the served build is the one served before.
    assert "starting task_id=publish " not in output
    assert "serving publish" not in output
    assert published_builds() == before
