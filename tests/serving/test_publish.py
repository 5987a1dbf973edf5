"""Write-audit-publish on real warehouses: only a build in which every node
passed is ever served, and a freshly started API serves the last published one.

Each test starts from the module's published build and tries to break it as
an unlucky or hostile user would; what is published must not move.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import falcon.testing
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from api.app import create_app
from api.config import ApiConfig
from api.sources import source_for
from api.store import SnapshotStore
from serving.schema import LOG_TABLE
from tests.conftest import REPO_ROOT
from tests.pipeline import oracle
from tests.serving.conftest import BIN, ROWS, Published, kill_after

FAILING_MART_TEST = "select * from {{ ref('voucher_segment_modes') }}"
FAILING_SEED_TEST = "select * from {{ ref('segment_definitions') }}"


def assert_still_served(published: Published, before: str) -> None:
    """The published build is unchanged, also for an API started just now."""
    assert published.project.served_invocation() == before
    ready = published.project.fresh_api().simulate_get("/ready")
    assert ready.status_code == 200 and ready.json["status"] == "ready", ready.json


def current(published: Published) -> str:
    served = published.project.served_invocation()
    assert served is not None
    return served


def test_the_fixture_published_its_build(published: Published):
    assert current(published) == published.first


def test_ready_says_which_data_the_answers_come_from(published: Published):
    project = published.project
    assert current(published) == published.first
    source = project.generate(ROWS, seed=11, name="first")
    build = project.fresh_api().simulate_get("/ready").json["build"]
    assert build["source_file"] == source.name
    # The generator's file, said plainly, and the rows its cleaning kept,
    # counted by the independent pandas computation.
    assert build["source_origin"] == "synthetic" and build["synthetic"] is True
    assert build["rows_kept"] == len(oracle.kept_rows(source, ["Peru"]))
    assert build["source_rows"] == pq.read_metadata(source).num_rows
    assert build["load_count"] == 1
    assert build["built_on"] == project.target


def test_a_build_of_appended_loads_says_how_many_and_lists_them(
    published: Published,
):
    project = published.project
    first = project.generate(ROWS, seed=11, name="first")
    second = project.generate(ROWS // 2, seed=16, name="second-day")
    project.load(second)
    project.dbt("build")
    assert project.serving("publish").returncode == 0
    build = project.fresh_api().simulate_get("/ready").json["build"]
    assert build["load_count"] == 2
    assert build["source_file"] == second.name  # the newest
    rows = [pq.read_metadata(path).num_rows for path in (first, second)]
    assert build["source_rows"] == sum(rows)
    listed = project.frame(
        "select source_file, row_count from serving.published_loads"
        " where publish_id = (select publish_id from serving.current_publish)"
        " order by loaded_at"
    )
    assert list(zip(listed.source_file, listed.row_count, strict=True)) == [
        (first.name, rows[0]),
        (second.name, rows[1]),
    ]


@pytest.mark.parametrize(
    ("planted", "sql"),
    [
        ("planted_mart_failure", FAILING_MART_TEST),
        # Downstream models are skipped; the build schemas keep the old marts.
        ("planted_seed_failure", FAILING_SEED_TEST),
    ],
)
def test_a_build_with_a_failing_test_is_not_published(
    published: Published, planted, sql
):
    project = published.project
    before = current(published)
    path = project.plant_test(planted, sql)
    try:
        build = project.dbt("build", check=False)
    finally:
        path.unlink()
    assert build.returncode == 1
    assert planted in build.stdout
    refused = project.serving("publish")
    assert refused.returncode == 1
    assert "did not pass" in refused.stderr and planted in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert_still_served(published, before)


def test_an_unknown_country_fails_the_build_and_nothing_is_published(
    published: Published,
):
    project = published.project
    before = current(published)
    build = project.dbt(
        "build", "--vars", '{"countries": ["Peru", "Atlantis"]}', check=False
    )
    assert build.returncode == 1
    assert "country 'Atlantis' in var countries has no rows" in build.stdout
    refused = project.serving("publish")
    assert refused.returncode == 1 and "did not pass" in refused.stderr
    assert_still_served(published, before)


def test_a_build_killed_after_the_first_mart_is_not_published(
    published: Published, tmp_path
):
    project = published.project
    # A passing build to kill later; keep its artifacts, as a CI job would.
    project.dbt("build")
    passed = Path(project.env["DBT_TARGET_PATH"])
    kept = tmp_path / "passed-artifacts"
    kept.mkdir()
    for name in ("run_results.json", "manifest.json"):
        shutil.copy(passed / name, kept / name)
    before = current(published)
    output = kill_after(project.popen_dbt("build"), "OK created sql table model marts.")
    assert "Completed successfully" not in output
    # dbt wrote the killed run's manifest, not its results: refused.
    refused = project.serving("publish")
    assert refused.returncode == 1, refused.stderr
    assert "different dbt invocations" in refused.stderr
    # The passing build's own artifacts are refused too: the warehouse knows
    # that another invocation started after it (its tables are half written).
    refused = project.serving("publish", "--target-path", str(kept))
    assert refused.returncode == 1, refused.stderr
    assert "started after" in refused.stderr
    assert_still_served(published, before)


def test_a_partial_run_is_not_published(published: Published):
    project = published.project
    before = current(published)
    project.dbt("run", "-s", "voucher_country_modes")
    refused = project.serving("publish")
    assert refused.returncode == 1
    assert "`dbt run`, not `dbt build`" in refused.stderr
    project.dbt("build", "-s", "voucher_country_modes")
    refused = project.serving("publish")
    assert refused.returncode == 1 and "partial" in refused.stderr
    assert_still_served(published, before)


def test_a_load_after_the_build_started_makes_it_unpublishable(published: Published):
    project = published.project
    before = current(published)
    project.dbt("build")
    project.load(project.generate(ROWS, seed=12, name="later"))
    refused = project.serving("publish")
    assert refused.returncode == 1
    assert "raw changed during or after the build" in refused.stderr
    assert_still_served(published, before)


def test_an_unload_after_the_build_started_makes_it_unpublishable(
    published: Published,
):
    project = published.project
    before = current(published)
    project.load(project.generate(ROWS, seed=15, name="appended"))
    project.dbt("build")
    project.run(str(BIN / "python"), "-m", "loader", "unload", "appended.parquet")
    refused = project.serving("publish")
    assert refused.returncode == 1
    assert "raw changed during or after the build" in refused.stderr
    assert_still_served(published, before)


def test_a_load_during_a_build_is_never_published_with_it(published: Published):
    project = published.project
    before = current(published)
    build = project.popen_dbt("build")
    started = []
    for line in build.stdout:
        started.append(line)
        if "START sql" in line:
            break
    load = project.run_unchecked(
        str(BIN / "python"), "-m", "loader", "load",
        str(project.generate(ROWS, seed=13, name="during")),
    )  # fmt: skip
    rest = build.stdout.read()
    build.wait(timeout=300)
    outcome = project.serving("publish")
    if project.target == "duckdb":
        # dbt holds the DuckDB file for the whole build: the load is refused,
        # and the build, which read one load from start to end, publishes.
        assert load.returncode == 3 and "lock" in load.stderr.lower(), load.stderr
        assert build.returncode == 0, "".join(started) + rest
        assert outcome.returncode == 0, outcome.stderr
        assert current(published) == project.last_invocation() != before
    else:
        # PostgreSQL lets the load land; the build it overlapped never serves.
        assert load.returncode == 0, load.stderr
        assert outcome.returncode == 1, outcome.stderr
        assert_still_served(published, before)


def test_a_file_of_epoch_integers_is_refused_and_nothing_changes(
    published: Published, tmp_path
):
    project = published.project
    before = current(published)
    table = pq.read_table(project.generate(ROWS, seed=11, name="first"))
    epoch = pa.array(range(table.num_rows), type=pa.int64())
    bad = tmp_path / "epoch.parquet"
    pq.write_table(table.set_column(0, "timestamp", epoch), bad)
    load = project.run_unchecked(str(BIN / "python"), "-m", "loader", "load", str(bad))
    assert load.returncode == 1 and "timestamp" in load.stderr
    assert len(load.stderr.strip().splitlines()) == 1
    assert_still_served(published, before)


def test_rollback_serves_the_previous_build_within_the_refresh(published: Published):
    project = published.project
    before = current(published)
    project.load(project.generate(ROWS, seed=14, name="second"))
    project.dbt("build")
    assert project.serving("publish").returncode == 0
    newest = project.last_invocation()
    assert current(published) == newest != before
    # A running API (refreshing every 0.2 s) follows the rollback by itself.
    config = ApiConfig.from_env({**project.env, "VOUCHER_API_REFRESH_SECONDS": "0"})
    store = SnapshotStore(source_for(config), refresh_seconds=0.2)
    store.start()
    try:
        client = falcon.testing.TestClient(create_app(config, store=store))
        assert client.simulate_get("/ready").json["build"]["invocation_id"] == newest
        rolled = project.serving("rollback")
        assert rolled.returncode == 0, rolled.stderr
        assert len(rolled.stderr.strip().splitlines()) == 1
        deadline = time.monotonic() + 5
        served = newest
        while time.monotonic() < deadline and served == newest:
            time.sleep(0.1)
            served = client.simulate_get("/ready").json["build"]["invocation_id"]
    finally:
        store.stop()
    assert served == before
    assert current(published) == before
    history = project.serving("history")
    assert history.returncode == 0
    assert "rolled back" in history.stdout and "current" in history.stdout
    # Publishing the newest build again makes it current again.
    assert project.serving("publish").returncode == 0
    assert current(published) == newest


@pytest.mark.parametrize("command", ["publish", "rollback", "history"])
def test_commands_answer_in_one_line_on_a_bad_setting(published, command):
    project = published.project
    result = project.serving(command, VOUCHER_KEEP_BUILDS="one")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "serving: error: VOUCHER_KEEP_BUILDS must be a number, got 'one'"
    )


def test_dbt_reads_the_publish_log_this_step_writes() -> None:
    """The data tests of the incremental models check the loads built since
    the newest build in the publish log (var publish_log) started: it must
    name the table the publish step writes."""
    project = yaml.safe_load((REPO_ROOT / "dbt_project.yml").read_text())
    assert project["vars"]["publish_log"] == LOG_TABLE
