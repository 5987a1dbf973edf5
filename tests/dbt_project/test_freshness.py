"""Source freshness of raw.vouchers (models/staging/_raw__sources.yml): the
newest ``_loaded_at`` against the dbt vars' thresholds, on DuckDB.

A fresh load passes; a load older than the warning threshold warns (exit 0);
older than the error threshold, or past the warning with
``raw_freshness_strict``, it errors (exit 1). The loads are aged by moving
``_loaded_at`` back, as an old load would have stamped it.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.conftest import BIN, REPO_ROOT, Pipeline

ROWS = 2000


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> Pipeline:
    """A DuckDB warehouse with one small load."""
    work = tmp_path_factory.mktemp("freshness")
    pipeline = Pipeline.on_duckdb(work)
    pipeline.load(pipeline.generate(rows=ROWS, seed=5))
    return pipeline


def age_load(pipeline: Pipeline, days: float) -> None:
    """Make the current load look ``days`` old (naive UTC, as the loader writes)."""
    loaded_at = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days)
    with duckdb.connect(pipeline.env["DUCKDB_PATH"]) as connection:
        connection.execute("update raw.vouchers set _loaded_at = ?", [loaded_at])


def freshness(
    pipeline: Pipeline, target_path: Path | None = None, **dbt_vars: object
) -> tuple[int, str, str]:
    """Run `dbt source freshness`; its exit code, raw.vouchers' status, output."""
    env = dict(pipeline.env)
    if target_path is not None:
        env["DBT_TARGET_PATH"] = str(target_path)
    command = [str(BIN / "dbt"), "--no-version-check", "source", "freshness"]
    if dbt_vars:
        command += ["--vars", json.dumps(dbt_vars)]
    result = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    sources = json.loads(Path(env["DBT_TARGET_PATH"], "sources.json").read_text())
    (status,) = [
        entry["status"]
        for entry in sources["results"]
        if entry["unique_id"] == "source.voucher_selection.raw.vouchers"
    ]
    return result.returncode, status, result.stdout


@pytest.mark.parametrize(
    ("days", "dbt_vars", "expected"),
    [
        pytest.param(0, {}, (0, "pass"), id="a fresh load passes"),
        pytest.param(2, {}, (0, "warn"), id="past the warning threshold warns"),
        pytest.param(
            2,
            {"raw_freshness_strict": True},
            (1, "error"),
            id="strict fails past the warning threshold",
        ),
        pytest.param(4, {}, (1, "error"), id="past the error threshold fails"),
    ],
)
def test_the_age_of_the_newest_load_decides(pipeline, days, dbt_vars, expected):
    age_load(pipeline, days=days)
    code, status, output = freshness(pipeline, **dbt_vars)
    assert (code, status) == expected, output


def test_the_thresholds_are_the_vars(pipeline):
    age_load(pipeline, days=4)
    code, status, output = freshness(
        pipeline, raw_freshness_warn_after_days=5, raw_freshness_error_after_days=7
    )
    assert (code, status) == (0, "pass"), output
    code, status, output = freshness(
        pipeline, raw_freshness_warn_after_days=3, raw_freshness_error_after_days=7
    )
    assert (code, status) == (0, "warn"), output


def test_a_check_between_build_and_publish_does_not_stop_the_publish(
    pipeline, tmp_path
):
    """The on-run-start hook records builds, not freshness checks, so a
    monitor's check (in its own target path) is not "a later dbt run"."""
    age_load(pipeline, days=0)
    pipeline.build()
    freshness(pipeline, target_path=tmp_path / "monitor")
    result = pipeline.publish()
    assert "published build" in result.stderr, result.stderr
