"""The API against PostgreSQL marts, read as a read-only role.

Skipped (loudly) when PostgreSQL is unreachable, except under CI=true, where
that is a failure. Two groups: a database these tests build themselves, and
the real pipeline's database (PGDATABASE) with the role the pipeline grants.
"""

from __future__ import annotations

import dataclasses
import os

import falcon.testing
import pytest

from api.app import create_app
from api.config import ApiConfig
from api.sources import PublishedSource
from api.store import SnapshotStore
from dwh.reader import PostgresReader
from dwh.settings import PostgresSettings, Target
from tests.api.fake_mart import (
    NEW_BUILD,
    SEED_SEGMENT_NAMES,
    mart_rows,
    seed_definitions,
    write_mart,
)
from tests.conftest import postgres_env, postgres_reachable, require, worker_suffixed

pytestmark = pytest.mark.postgres

TEST_DATABASE = worker_suffixed("voucher_api_test")
TEST_ROLE = worker_suffixed("voucher_api_test_reader")
BODY = {"country_code": "Peru", "segment_name": "frequent_segment", "total_orders": 5}
UNREACHABLE = (
    "!!! PostgreSQL is not reachable on PGHOST:PGPORT: the PostgreSQL API tests "
    "are SKIPPED (set CI=true to make this a failure)"
)


def admin_connection(database: str = "postgres"):
    import psycopg2

    env = postgres_env(database)
    return psycopg2.connect(
        host=env["PGHOST"],
        port=env["PGPORT"],
        user=env["PGUSER"],
        password=env["PGPASSWORD"] or None,
        dbname=database,
        connect_timeout=3,
    )


@pytest.fixture(scope="module")
def pg_mart():
    """A throw-away database with the four mart tables, readable by TEST_ROLE."""
    require(postgres_reachable(), UNREACHABLE)
    admin = admin_connection()
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'drop database if exists "{TEST_DATABASE}" with (force)')
        cursor.execute(f'create database "{TEST_DATABASE}"')
        cursor.execute(f"drop role if exists {TEST_ROLE}")
        cursor.execute(f"create role {TEST_ROLE} login")
    connection = admin_connection(TEST_DATABASE)
    write_mart(connection, mart_rows(), placeholder="%s")
    with connection.cursor() as cursor:
        cursor.execute("revoke create on schema serving from public")
        cursor.execute(f"grant usage on schema serving to {TEST_ROLE}")
        cursor.execute(f"grant select on all tables in schema serving to {TEST_ROLE}")
    connection.commit()
    yield connection
    connection.close()
    with admin.cursor() as cursor:
        cursor.execute(f'drop database if exists "{TEST_DATABASE}" with (force)')
        cursor.execute(f"drop role if exists {TEST_ROLE}")
    admin.close()


def settings_of_test_db(**changes) -> PostgresSettings:
    env = postgres_env(TEST_DATABASE)
    settings = PostgresSettings(
        host=env["PGHOST"],
        port=int(env["PGPORT"]),
        user=TEST_ROLE,
        password="",
        database=TEST_DATABASE,
    )
    return dataclasses.replace(settings, **changes)


def source_for_test_db(**changes) -> PublishedSource:
    reader = PostgresReader(settings_of_test_db(**changes), application_name="test")
    return PublishedSource(reader, "postgres")


def config_for_test_db() -> ApiConfig:
    return ApiConfig(
        warehouse=Target.POSTGRES, postgres=settings_of_test_db(), refresh_seconds=0
    )


def publish_again(connection, table_updates: list[str]) -> None:
    """Change the published rows and announce it as a new publish id."""
    with connection.cursor() as cursor:
        for statement in table_updates:
            cursor.execute(statement)
        cursor.execute("update serving.current_publish set publish_id = publish_id + 1")
        cursor.execute("update serving.current_build set publish_id = publish_id + 1")
    connection.commit()


def test_create_app_reads_the_postgres_mart(pg_mart):
    client = falcon.testing.TestClient(create_app(config_for_test_db()))
    answer = client.simulate_post("/api/vouchervalue", json=BODY).json
    assert answer["voucher_amount"] == 1500
    assert answer["built_at"] == "2025-01-01T03:00:00Z"
    ready = client.simulate_get("/ready")
    assert ready.json["warehouse"] == "postgres"
    assert TEST_ROLE not in ready.text and TEST_DATABASE not in ready.text


def test_a_new_postgres_build_is_swapped_in_and_half_builds_refused(pg_mart):
    store = SnapshotStore(source_for_test_db(), refresh_seconds=0)
    client = falcon.testing.TestClient(create_app(config_for_test_db(), store=store))
    assert store.refresh()
    # A published build whose tables disagree (publish would never write one).
    publish_again(
        pg_mart,
        [f"update serving.voucher_segment_modes set built_at = '{NEW_BUILD}'"],
    )
    assert store.refresh() is False
    ready = client.simulate_get("/ready").json
    assert ready["reason"] == "published_build_unusable"
    assert (
        client.simulate_post("/api/vouchervalue", json=BODY).json["voucher_amount"]
        == 1500
    )
    try:
        publish_again(
            pg_mart,
            [
                *(
                    f"update serving.{table} set built_at = '{NEW_BUILD}'"
                    for table in ("voucher_country_modes", "voucher_amount_counts")
                ),
                "update serving.voucher_segment_modes set voucher_amount = 1234 "
                "where country_code = 'Peru' and segment_variant = '5-13'",
            ],
        )
        assert store.refresh() is True
        answer = client.simulate_post("/api/vouchervalue", json=BODY).json
        assert (answer["voucher_amount"], answer["built_at"]) == (
            1234,
            "2025-02-01T04:00:00Z",
        )
    finally:
        write_mart(pg_mart, mart_rows(), placeholder="%s")
        with pg_mart.cursor() as cursor:
            cursor.execute(
                f"grant select on all tables in schema serving to {TEST_ROLE}"
            )
        pg_mart.commit()


def test_losing_the_warehouse_keeps_the_last_snapshot(pg_mart):
    store = SnapshotStore(source_for_test_db(), refresh_seconds=0)
    client = falcon.testing.TestClient(create_app(config_for_test_db(), store=store))
    assert store.refresh()
    admin = admin_connection()
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"alter role {TEST_ROLE} nologin")
    try:
        assert store.refresh() is False
        ready = client.simulate_get("/ready")
        assert ready.status_code == 200
        assert ready.json["status"] == "stale"
        assert ready.json["reason"] == "warehouse_unreachable"
        assert client.simulate_post("/api/vouchervalue", json=BODY).status_code == 200
        # A fresh process that never had a snapshot answers 503.
        cold = SnapshotStore(source_for_test_db(), refresh_seconds=0)
        cold.refresh()
        cold_client = falcon.testing.TestClient(
            create_app(config_for_test_db(), store=cold)
        )
        assert (
            cold_client.simulate_post("/api/vouchervalue", json=BODY).status_code == 503
        )
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"alter role {TEST_ROLE} login")
        admin.close()


def test_an_unreachable_server_is_503_without_a_snapshot():
    source = source_for_test_db(port=1)
    store = SnapshotStore(source, refresh_seconds=0)
    store.refresh()
    client = falcon.testing.TestClient(create_app(TEST_ONLY_CONFIG, store=store))
    response = client.simulate_post("/api/vouchervalue", json=BODY)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json["reason"] == "warehouse_unreachable"
    assert "127.0.0.1" not in response.text


TEST_ONLY_CONFIG = ApiConfig(refresh_seconds=0)


# The real pipeline's database and role ---------------------------------------


@pytest.fixture(scope="module")
def pipeline_database():
    """PGDATABASE as the pipeline left it, read as VOUCHER_API_PGUSER."""
    import psycopg2

    require(postgres_reachable(), UNREACHABLE)
    database = os.environ.get("PGDATABASE", "voucher")
    role = os.environ.get("VOUCHER_API_PGUSER", "voucher_api")
    env = postgres_env(database)
    try:
        connection = psycopg2.connect(
            host=env["PGHOST"],
            port=env["PGPORT"],
            dbname=database,
            user=role,
            password=os.environ.get("VOUCHER_API_PGPASSWORD") or None,
            connect_timeout=3,
        )
    except psycopg2.OperationalError as error:
        require(False, f"no pipeline database {database!r} readable as {role}: {error}")
    with connection.cursor() as cursor:
        cursor.execute("select to_regclass('serving.voucher_segment_modes')")
        built = cursor.fetchone()[0] is not None
    connection.rollback()
    if not built:
        connection.close()
        require(False, f"the pipeline has not published a build in {database!r}")
    yield connection
    connection.close()


def pipeline_config() -> ApiConfig:
    env = postgres_env(os.environ.get("PGDATABASE", "voucher"))
    return ApiConfig.from_env({**os.environ, **env, "DBT_TARGET": "postgres"})


@pytest.mark.parametrize(
    "statement",
    [
        "insert into serving.voucher_segment_modes (country_code) values ('Mars')",
        "update serving.voucher_country_modes__history set voucher_amount = 1",
        "delete from serving.voucher_amount_counts__history",
        "update serving.current_publish set publish_id = 1",
        "drop view serving.voucher_country_modes",
        "create table serving.api_was_here (x int)",
        "create table public.api_was_here (x int)",
        "create schema api_was_here",
        # (j) it reads the published serving views and nothing else
        "select count(*) from marts.rejected_vouchers",
        "select count(*) from serving.rejected_vouchers",
        "select count(*) from marts.voucher_segment_modes",
        "select count(*) from raw.vouchers",
        "select count(*) from serving.publish_log",
        # (j) no temp tables
        "create temp table api_was_here (x int)",
    ],
)
def test_the_api_role_cannot_write_or_read_past_serving(pipeline_database, statement):
    import psycopg2

    with (
        pytest.raises(psycopg2.errors.InsufficientPrivilege),
        pipeline_database.cursor() as cursor,
    ):
        cursor.execute(statement)
    pipeline_database.rollback()


def test_the_api_role_can_read_every_published_api_relation(pipeline_database):
    with pipeline_database.cursor() as cursor:
        for table in (
            "current_build",
            "voucher_segment_modes",
            "voucher_country_modes",
            "voucher_amount_counts",
        ):
            cursor.execute(f"select count(*) from serving.{table}")
            assert cursor.fetchone()[0] > 0, table
    pipeline_database.rollback()


def test_the_api_serves_the_real_postgres_mart(pipeline_database):
    client = falcon.testing.TestClient(create_app(pipeline_config()))
    assert client.simulate_get("/ready").json["status"] == "ready"
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
    country = catalogue["countries"][0]["country_code"]
    for body in (
        {
            "country_code": country,
            "segment_name": "frequent_segment",
            "total_orders": 15,
        },
        {
            "country_code": country.upper(),
            "segment_name": "recency_segment",
            "last_order_ts": "2018-05-03 00:00:00",
            "as_of": "2019-01-01",
        },
    ):
        response = client.simulate_post("/api/vouchervalue", json=body)
        assert response.status_code == 200, response.json
        assert isinstance(response.json["voucher_amount"], int)
