"""The ``python -m loader`` command line: targets, settings, messages, exit codes."""

import os
from pathlib import Path

import duckdb
import psycopg2
import pyarrow.parquet as pq
import pytest

from tests.loader.helpers import SAMPLE_TEXT, TEST_DATABASE, run_cli


def _env(**overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DBT_TARGET", "DUCKDB_PATH"}
    }
    env.update(overrides)
    return env


def _duckdb_rows(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute("select count(*) from raw.vouchers").fetchone()[0]


def test_duckdb_is_the_default_target_at_the_default_path(
    tmp_path: Path, sample_file: Path
) -> None:
    result = run_cli(["load", str(sample_file)], _env(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # Relative to the working directory, as dbt's profiles.yml resolves it.
    assert _duckdb_rows(tmp_path / "warehouse" / "voucher.duckdb") == len(SAMPLE_TEXT)


def test_duckdb_path_comes_from_the_environment(
    tmp_path: Path, sample_file: Path
) -> None:
    path = tmp_path / "nested" / "dir" / "custom.duckdb"
    result = run_cli(["load", str(sample_file)], _env(DUCKDB_PATH=str(path)))
    assert result.returncode == 0, result.stderr
    assert _duckdb_rows(path) == len(SAMPLE_TEXT)


def test_dbt_target_selects_postgres(tmp_path: Path, sample_file: Path) -> None:
    # Port 1 refuses connections: proof the loader went for PostgreSQL.
    env = _env(DBT_TARGET="postgres", PGHOST="127.0.0.1", PGPORT="1")
    result = run_cli(["load", str(sample_file)], env)
    assert result.returncode == 3
    assert result.stderr.startswith("loader: error: cannot connect to PostgreSQL")
    assert "127.0.0.1:1/" in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_target_option_overrides_dbt_target(tmp_path: Path, sample_file: Path) -> None:
    path = tmp_path / "override.duckdb"
    env = _env(DBT_TARGET="postgres", PGPORT="1", DUCKDB_PATH=str(path))
    result = run_cli(["load", str(sample_file), "--target", "duckdb"], env)
    assert result.returncode == 0, result.stderr
    assert _duckdb_rows(path) == len(SAMPLE_TEXT)


def test_unknown_target_is_a_one_line_settings_error(sample_file: Path) -> None:
    result = run_cli(["load", str(sample_file)], _env(DBT_TARGET="snowflake"))
    assert result.returncode == 2
    assert result.stderr == (
        "loader: error: unknown target 'snowflake'"
        " (expected one of: duckdb, postgres, spark, spark_cluster)\n"
    )


def test_success_prints_a_one_line_summary(tmp_path: Path, sample_file: Path) -> None:
    env = _env(DUCKDB_PATH=str(tmp_path / "w.duckdb"))
    result = run_cli(["load", str(sample_file)], env)
    assert result.returncode == 0
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        "loaded 7 rows from sample.parquet into duckdb raw.vouchers in "
    )
    assert "rows/s), load_id " in line


def test_verbose_logs_are_json(tmp_path: Path, sample_file: Path) -> None:
    import json

    env = _env(DUCKDB_PATH=str(tmp_path / "w.duckdb"))
    result = run_cli(["-v", "load", str(sample_file)], env)
    events = [json.loads(line) for line in result.stderr.splitlines()[:-1]]
    assert [event["event"] for event in events] == ["load_started", "load_finished"]
    assert events[1]["rows"] == len(SAMPLE_TEXT)


def test_a_busy_duckdb_file_is_a_one_line_warehouse_error(
    tmp_path: Path, sample_file: Path
) -> None:
    path = tmp_path / "busy.duckdb"
    with duckdb.connect(str(path)):
        # Another process cannot open a DuckDB file this one holds.
        result = run_cli(["load", str(sample_file)], _env(DUCKDB_PATH=str(path)))
    assert result.returncode == 3
    assert result.stderr.startswith(
        f"loader: error: cannot open DuckDB database {path}"
    )
    assert result.stderr.count("\n") == 1, result.stderr


def test_generate_writes_the_requested_rows(tmp_path: Path) -> None:
    out = tmp_path / "demo" / "vouchers.parquet"
    result = run_cli(
        ["generate", "--rows", "1234", "--seed", "7", "--out", str(out)], _env()
    )
    assert result.returncode == 0, result.stderr
    assert pq.read_metadata(out).num_rows == 1234
    assert result.stderr.startswith("wrote 1,234 rows (")
    assert not out.with_name(out.name + ".partial").exists()


def test_generate_rejects_a_non_positive_row_count(tmp_path: Path) -> None:
    out = tmp_path / "none.parquet"
    result = run_cli(["generate", "--rows", "0", "--out", str(out)], _env())
    assert result.returncode == 2
    assert "must be a positive number of rows" in result.stderr
    assert not out.exists()


@pytest.mark.postgres
def test_ensure_postgres_creates_the_database_once(
    postgres_database: dict[str, str],
) -> None:
    name = f"{TEST_DATABASE}_ensure"
    env = _env(**{**postgres_database, "PGDATABASE": name})
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
            cursor.execute(f"drop database if exists {name}")
        first = run_cli(["ensure-postgres"], env)
        second = run_cli(["ensure-postgres"], env)
        with admin.cursor() as cursor:
            cursor.execute("select 1 from pg_database where datname = %s", [name])
            exists = cursor.fetchone() is not None
            cursor.execute(f"drop database if exists {name}")
    finally:
        admin.close()
    assert first.returncode == 0, first.stderr
    assert first.stderr.startswith(f"created database '{name}'")
    assert second.stderr.startswith(f"found database '{name}'")
    assert exists


@pytest.mark.postgres
def test_load_creates_a_missing_postgres_database(
    postgres_database: dict[str, str], sample_file: Path
) -> None:
    env = _env(DBT_TARGET="postgres", **postgres_database)
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
        result = run_cli(["load", str(sample_file)], env)
    finally:
        admin.close()
    assert result.returncode == 0, result.stderr
    connection = psycopg2.connect(
        host=env["PGHOST"],
        port=env["PGPORT"],
        user=env["PGUSER"],
        password=env["PGPASSWORD"] or None,
        dbname=TEST_DATABASE,
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute("select count(*) from raw.vouchers")
            assert cursor.fetchone() == (len(SAMPLE_TEXT),)
    finally:
        connection.close()
