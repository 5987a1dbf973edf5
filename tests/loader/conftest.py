"""Fixtures for the loader tests: sample files and the two warehouses.

PostgreSQL tests use a database of their own (``voucher_test_loader_<pid>``); when the
server is unreachable they are skipped with the reason shown, except under
``CI=true``, where that is a failure (``tests.conftest.require``).
"""

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import psycopg2.extensions
import pytest

from tests.conftest import (
    postgres_connection,
    postgres_env,
    postgres_reachable,
    require,
)
from tests.loader.helpers import (
    TEST_DATABASE,
    TEST_DATABASE_PREFIX,
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


def _stale_test_databases(cursor: psycopg2.extensions.cursor) -> list[str]:
    """Test databases of runs that were killed: their process is gone, idle."""
    cursor.execute(
        "select datname from pg_database where starts_with(datname, %s)"
        " and datname not in (select datname from pg_stat_activity"
        " where datname is not null)",
        [TEST_DATABASE_PREFIX],
    )
    stale = []
    for (name,) in cursor.fetchall():
        suffix = name.removeprefix(TEST_DATABASE_PREFIX)
        if suffix.isdigit() and not _process_alive(int(suffix)):
            stale.append(name)
    return stale


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[dict[str, str]]:
    """libpq variables for this run's own test database, dropped when done."""
    require(
        postgres_reachable(),
        "SKIPPING loader PostgreSQL tests: PostgreSQL is not reachable on"
        f" {os.environ.get('PGHOST', '127.0.0.1')}:{os.environ.get('PGPORT', '5432')}",
    )
    env = postgres_env(TEST_DATABASE)
    admin = postgres_connection(env, admin=True)
    try:
        with admin.cursor() as cursor:
            for name in [*_stale_test_databases(cursor), TEST_DATABASE]:
                cursor.execute(f'drop database if exists "{name}" with (force)')
        yield env
        with admin.cursor() as cursor:
            cursor.execute(f'drop database if exists "{TEST_DATABASE}" with (force)')
    finally:
        admin.close()


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
        from dwh.settings import postgres_settings
        from loader.postgres_warehouse import ensure_database

        ensure_database(postgres_settings(env))
        warehouse.query("drop schema if exists raw cascade")
        warehouse.query("drop schema if exists loader_test_views cascade")
    return warehouse
