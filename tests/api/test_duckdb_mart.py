"""The API against real DuckDB files: reading, file locking, swapping builds."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import falcon.testing
import pytest

from api.app import create_app
from api.config import ApiConfig
from api.examples import EXAMPLE_REQUEST
from api.sources import PublishedSource
from api.store import SnapshotStore
from dwh.reader import DuckDBReader
from dwh.version import VERSION, git_commit
from tests.api.fake_mart import (
    BUILT_AT,
    NEW_BUILD,
    SEED_SEGMENT_NAMES,
    mart_rows,
    write_mart,
)

BODY = {"country_code": "Peru", "segment_name": "frequent_segment", "total_orders": 5}


def write_duckdb(path: Path, rows=None) -> None:
    connection = duckdb.connect(str(path))
    try:
        write_mart(connection, rows or mart_rows())
    finally:
        connection.close()


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "voucher.duckdb"
    write_duckdb(path)
    return path


def duckdb_source(path: Path) -> PublishedSource:
    return PublishedSource(DuckDBReader(path), "duckdb")


def config_for(path: Path) -> ApiConfig:
    return ApiConfig(warehouse="duckdb", duckdb_path=path, refresh_seconds=0)


def test_a_serving_schema_published_by_an_older_version_is_served(warehouse):
    # serving.current_build as publish made it before source_origin,
    # load_count and build_target existed; an extra column it does not know
    # is refused.
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("alter table serving.current_build drop build_target")
        connection.execute("alter table serving.current_build drop load_count")
        connection.execute("alter table serving.current_build drop source_origin")
    client = falcon.testing.TestClient(create_app(config_for(warehouse)))
    ready = client.simulate_get("/ready")
    assert ready.status_code == 200, ready.json
    assert ready.json["build"]["source_origin"] == "file"
    assert ready.json["build"]["synthetic"] is False
    assert ready.json["build"]["load_count"] == 1
    assert ready.json["build"]["built_on"] is None
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("alter table serving.current_build add surprise integer")
        connection.execute("alter table serving.current_build add later integer")
        connection.execute("alter table serving.current_build add latest integer")
        connection.execute("alter table serving.current_build add last integer")
    fresh = falcon.testing.TestClient(create_app(config_for(warehouse)))
    refused = fresh.simulate_get("/ready")
    assert refused.status_code == 503
    assert refused.json["reason"] == "published_build_unusable"


def test_create_app_reads_the_duckdb_mart(warehouse, caplog):
    caplog.set_level("INFO", logger="api")
    client = falcon.testing.TestClient(create_app(config_for(warehouse)))
    # The start-up line says which version serves, before any request.
    starting = next(r for r in caplog.records if r.getMessage() == "api starting")
    assert (starting.version, starting.commit) == (VERSION, git_commit())
    answer = client.simulate_post("/api/vouchervalue", json=BODY).json
    assert answer["voucher_amount"] == 1500
    assert answer["built_at"] == "2025-01-01T03:00:00Z"
    ready = client.simulate_get("/ready")
    assert ready.json["status"] == "ready"
    assert ready.json["warehouse"] == "duckdb"
    assert ready.json["build"]["source_file"] == "vouchers.parquet"
    # (k) where the warehouse is stays in the logs
    assert str(warehouse.parent) not in ready.text


def test_the_file_is_closed_after_each_read(warehouse):
    store = SnapshotStore(duckdb_source(warehouse), refresh_seconds=0)
    assert store.refresh()
    # Another process (dbt) can take the write lock straight away.
    assert_writable_by_another_process(warehouse)


def assert_writable_by_another_process(path: Path) -> None:
    script = (
        f"import duckdb; duckdb.connect({str(path)!r}).execute('checkpoint').close()"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_an_unchanged_file_is_not_opened_again(warehouse, monkeypatch):
    store = SnapshotStore(duckdb_source(warehouse), refresh_seconds=0)
    assert store.refresh()
    opened = []
    real_connect = duckdb.connect

    def counting_connect(*args, **kwargs):
        if kwargs.get("read_only"):
            opened.append(args)
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", counting_connect)
    assert store.refresh() is False
    assert opened == []
    write_duckdb(warehouse, mart_rows(NEW_BUILD, peru_shift=10))
    assert store.refresh() is True
    assert len(opened) == 1


def test_a_new_build_in_the_file_is_swapped_in(warehouse):
    store = SnapshotStore(duckdb_source(warehouse), refresh_seconds=0)
    client = falcon.testing.TestClient(create_app(config_for(warehouse), store=store))
    store.refresh()
    assert (
        client.simulate_post("/api/vouchervalue", json=BODY).json["voucher_amount"]
        == 1500
    )
    write_duckdb(warehouse, mart_rows(NEW_BUILD, peru_shift=10))
    store.refresh()
    answer = client.simulate_post("/api/vouchervalue", json=BODY).json
    assert (answer["voucher_amount"], answer["built_at"]) == (
        1510,
        "2025-02-01T04:00:00Z",
    )


def test_a_locked_file_keeps_the_last_snapshot_and_reports_stale(warehouse):
    store = SnapshotStore(duckdb_source(warehouse), refresh_seconds=0)
    client = falcon.testing.TestClient(create_app(config_for(warehouse), store=store))
    store.refresh()
    # A writer (like dbt build) holds the file while it changes it.
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, duckdb
                connection = duckdb.connect({str(warehouse)!r})
                connection.execute(
                    "update serving.voucher_country_modes set voucher_amount = 1"
                )
                connection.execute("checkpoint")
                print("locked", flush=True)
                sys.stdin.readline()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "locked"
        assert store.refresh() is False
        ready = client.simulate_get("/ready").json
        assert ready["status"] == "stale"
        assert ready["reason"] == "warehouse_busy"
        answer = client.simulate_post("/api/vouchervalue", json=BODY).json
        assert answer["voucher_amount"] == 1500
    finally:
        writer.communicate("\n", timeout=60)
    # The writer is gone: the next check reads the file again (and finds that
    # its half-done build mixes nothing up: one table changed, same built_at).
    store.refresh()
    assert client.simulate_get("/ready").json["status"] == "ready"


def test_a_half_built_file_is_refused(warehouse):
    store = SnapshotStore(duckdb_source(warehouse), refresh_seconds=0)
    store.refresh()
    connection = duckdb.connect(str(warehouse))
    connection.execute(
        "update serving.voucher_segment_modes set built_at = ?", [NEW_BUILD]
    )
    connection.close()
    assert store.refresh() is False
    assert store.current.built_at.replace(tzinfo=None) == BUILT_AT
    assert store.status().reason == "published_build_unusable"


def test_the_seed_table_is_not_read_for_the_bounds(warehouse):
    # dbt replaces marts.segment_definitions at another moment than the modes:
    # a seed table from another build must not move customers between variants.
    connection = duckdb.connect(str(warehouse))
    connection.execute(
        "create table serving.segment_definitions as select 'frequent_segment' "
        "as segment_name, '0-4' as segment_variant, 'total_orders' as measure, "
        "0 as lower_bound, 9 as upper_bound"
    )
    connection.close()
    client = falcon.testing.TestClient(create_app(config_for(warehouse)))
    answer = client.simulate_post("/api/vouchervalue", json=BODY).json
    assert (answer["segment_variant"], answer["voucher_amount"]) == ("5-13", 1500)


def test_no_file_means_503_until_one_appears(tmp_path):
    path = tmp_path / "later.duckdb"
    store = SnapshotStore(duckdb_source(path), refresh_seconds=0)
    client = falcon.testing.TestClient(create_app(config_for(path), store=store))
    store.refresh()
    response = client.simulate_post("/api/vouchervalue", json=BODY)
    assert response.status_code == 503
    assert response.json["reason"] == "warehouse_unreachable"
    assert str(tmp_path) not in response.text
    assert client.simulate_get("/ready").status_code == 503
    write_duckdb(path)
    store.refresh()
    assert client.simulate_post("/api/vouchervalue", json=BODY).status_code == 200


def test_a_file_without_the_marts_is_unavailable(tmp_path):
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    store = SnapshotStore(duckdb_source(path), refresh_seconds=0)
    store.refresh()
    assert store.current is None
    assert store.status().reason == "nothing_published"


def test_the_api_serves_the_real_duckdb_mart():
    """The pipeline's own output (make test builds it before pytest)."""
    import os

    from tests.api.fake_mart import seed_definitions
    from tests.conftest import REPO_ROOT, require

    path = Path(os.environ.get("DUCKDB_PATH", "warehouse/voucher.duckdb"))
    path = path if path.is_absolute() else REPO_ROOT / path
    require(path.is_file(), f"no pipeline output at {path}: run make pipeline first")
    client = falcon.testing.TestClient(create_app(config_for(path)))
    ready = client.simulate_get("/ready")
    assert ready.status_code == 200 and ready.json["status"] == "ready", ready.json
    catalogue = client.simulate_get("/api/segments").json
    assert [s["segment_name"] for s in catalogue["segments"]] == SEED_SEGMENT_NAMES
    definitions = {
        (
            s["segment_name"],
            v["segment_variant"],
            s["measure"],
            v["lower_bound"],
            v["upper_bound"],
        )
        for s in catalogue["segments"]
        for v in s["variants"]
    }
    assert definitions == set(seed_definitions())
    for country in catalogue["countries"]:
        body = {
            **EXAMPLE_REQUEST,  # a recency lookup, 180+ days before as_of
            "country_code": f"  {country['country_code'].lower()} ",
            "as_of": "2019-01-01",
        }
        answer = client.simulate_post("/api/vouchervalue", json=body).json
        assert answer["country_code"] == country["country_code"]
        assert answer["segment_variant"] == "180+"
        variant = next(
            v
            for s in country["segments"]
            if s["segment_name"] == "recency_segment"
            for v in s["variants"]
            if v["segment_variant"] == "180+"
        )
        expected = variant["voucher_amount"] or country["fallback"]["voucher_amount"]
        assert answer["voucher_amount"] == expected
