"""Fixtures for the loader tests: sample files and the two warehouses.

PostgreSQL tests use their own database (``voucher_test_loader``); when the
server is unreachable they are skipped with the reason shown, except under
``CI=true``, where that is a failure (``tests.conftest.require``).
"""

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from tests.conftest import postgres_env, postgres_reachable, require
from tests.loader.helpers import (
    TEST_DATABASE,
    Warehouse,
    sample_table,
    write_parquet,
)


@pytest.fixture
def sample_file(tmp_path: Path) -> Path:
    """SAMPLE_ROWS as a Parquet file."""
    return write_parquet(tmp_path / "sample.parquet", sample_table())


@pytest.fixture
def other_file(tmp_path: Path) -> Path:
    """A second valid file: the 'previous load' that atomicity tests must keep."""
    rows = [
        (
            "2018-06-01 10:00:00.000001",
            "China",
            "2018-05-01",
            1525132800000,
            f"{i}.0",
            4400.0,
        )
        for i in range(25)
    ]
    return write_parquet(tmp_path / "previous.parquet", sample_table(rows))


def _drop_test_database(env: dict[str, str]) -> None:
    admin = psycopg2.connect(
        host=env["PGHOST"],
        port=env["PGPORT"],
        user=env["PGUSER"],
        password=env["PGPASSWORD"] or None,
        dbname="postgres",
    )
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"drop database if exists {TEST_DATABASE} with (force)")
    finally:
        admin.close()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[dict[str, str]]:
    """libpq variables for ``voucher_test_loader``, dropped before and after."""
    require(
        postgres_reachable(),
        "SKIPPING loader PostgreSQL tests: PostgreSQL is not reachable on"
        f" {os.environ.get('PGHOST', '127.0.0.1')}:{os.environ.get('PGPORT', '5432')}",
    )
    env = postgres_env(TEST_DATABASE)
    _drop_test_database(env)
    yield env
    _drop_test_database(env)


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Warehouse:
    """Runs the test once per target, each time from an empty raw schema.

    The variables are also set in this process, for tests that call the loader
    in-process.
    """
    env = {**os.environ, "DBT_TARGET": request.param}
    if request.param == "duckdb":
        env["DUCKDB_PATH"] = str(tmp_path / "warehouse" / "test.duckdb")
    else:
        env.update(request.getfixturevalue("postgres_database"))
    for key in ("DBT_TARGET", "DUCKDB_PATH", *postgres_env("").keys()):
        if key in env:
            monkeypatch.setenv(key, env[key])
    warehouse = Warehouse(request.param, env)
    if request.param == "postgres":
        from loader.postgres_warehouse import ensure_database
        from loader.settings import postgres_settings

        ensure_database(postgres_settings(env))
        warehouse.query("drop schema if exists raw cascade")
        warehouse.query("drop schema if exists loader_test_views cascade")
    return warehouse
