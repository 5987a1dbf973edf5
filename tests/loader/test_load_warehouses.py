"""Loading into DuckDB and PostgreSQL: exact text, metadata, replacement, atomicity.

Every test runs once per warehouse (the ``warehouse`` fixture is parametrized).
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import loader.plan
from dwh.settings import Target
from loader.errors import SourceError
from loader.load import load_paths
from loader.load_run import utc_now
from loader.parquet_source import sha256_of
from loader.raw_schema import LOAD_LOG_DDL
from loader.synthetic import generate
from tests.conftest import REPO_ROOT
from tests.loader.helpers import (
    SAMPLE_TEXT,
    Warehouse,
    corrupt_last_row_group,
    run_cli,
    sample_table,
    utc_naive,
    write_parquet,
)

RAW_COLUMNS = [
    "timestamp",
    "country_code",
    "last_order_ts",
    "first_order_ts",
    "total_orders",
    "voucher_amount",
    "_source_file",
    "_source_row_number",
    "_load_id",
    "_loaded_at",
]


def previous_rows(path: Path) -> list[tuple]:
    """The text other_file must leave in raw.vouchers."""
    table = pq.read_table(path)
    return [
        (
            r["timestamp"],
            "China",
            "2018-05-01",
            "2018-05-01 00:00:00",
            r["total_orders"],
            "4400.0",
        )
        for r in table.to_pylist()
    ]


def test_round_trip_keeps_every_value_as_text(
    warehouse: Warehouse, sample_file: Path
) -> None:
    load_paths([sample_file], Target(warehouse.target), replace=True)
    assert warehouse.vouchers() == SAMPLE_TEXT


def test_columns_and_metadata(warehouse: Warehouse, sample_file: Path) -> None:
    before = utc_now()
    result = load_paths([sample_file], Target(warehouse.target), replace=True)
    after = utc_now()

    columns = warehouse.query(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = 'raw' and table_name = 'vouchers'"
        " order by ordinal_position"
    )
    assert [name for name, _ in columns] == RAW_COLUMNS
    types = {name: data_type.lower() for name, data_type in columns}
    assert {types[name] for name in RAW_COLUMNS[:7] + ["_load_id"]} <= {
        "text",
        "varchar",
    }
    assert types["_source_row_number"] == "bigint"
    assert types["_loaded_at"] in {"timestamp", "timestamp without time zone"}

    rows = warehouse.query(
        "select _source_file, _source_row_number, _load_id, _loaded_at"
        " from raw.vouchers order by _source_row_number"
    )
    assert [row[1] for row in rows] == list(range(1, len(SAMPLE_TEXT) + 1))
    assert {row[0] for row in rows} == {"sample.parquet"}
    assert {row[2] for row in rows} == {result.load_id}
    uuid.UUID(result.load_id)
    (loaded_at,) = {utc_naive(row[3]) for row in rows}
    assert before <= loaded_at <= after


def test_load_log_records_each_load(
    warehouse: Warehouse, sample_file: Path, other_file: Path
) -> None:
    first = load_paths([other_file], Target(warehouse.target), replace=True)
    second = load_paths([sample_file], Target(warehouse.target), replace=True)
    log = warehouse.query(
        "select load_id, target, source_file, source_path, source_sha256,"
        " source_size_bytes, row_count, started_at, finished_at"
        " from raw.load_log order by started_at"
    )
    assert [row[0] for row in log] == [first.load_id, second.load_id]
    assert [row[1] for row in log] == [warehouse.target] * 2
    assert [row[2] for row in log] == ["previous.parquet", "sample.parquet"]
    assert log[1][3] == str(sample_file.resolve())
    assert log[1][4] == sha256_of(sample_file)
    assert log[1][5] == sample_file.stat().st_size
    assert [row[6] for row in log] == [25, len(SAMPLE_TEXT)]
    assert all(row[7] <= row[8] for row in log)


def test_the_load_log_says_whether_a_file_is_the_generators_demo_data(
    warehouse: Warehouse, sample_file: Path, tmp_path: Path
) -> None:
    demo = tmp_path / "demo.parquet"
    generate(demo, rows=50, seed=3)
    load_paths([sample_file], Target(warehouse.target), replace=True)
    load_paths([demo], Target(warehouse.target), replace=True)
    origins = warehouse.query(
        "select source_file, source_origin from raw.load_log order by started_at"
    )
    assert origins == [("sample.parquet", "file"), ("demo.parquet", "synthetic")]


def test_a_load_log_from_before_source_origin_gets_the_columns(
    warehouse: Warehouse, sample_file: Path
) -> None:
    # raw.load_log as the loader wrote it before it recorded the origin and
    # withdrawals.
    old_ddl = LOAD_LOG_DDL.replace(
        ",\n    source_origin text default 'file',\n    unloaded_at timestamp", ""
    )
    assert "source_origin" not in old_ddl
    assert "unloaded_at" not in old_ddl
    warehouse.query("create schema if not exists raw")
    warehouse.query(old_ddl)
    warehouse.query(
        "insert into raw.load_log values ('old-load', 'duckdb', 'old.parquet',"
        " '/old.parquet', 'ab', 1, 1, '2018-01-01', '2018-01-01')"
    )
    load_paths([sample_file], Target(warehouse.target), replace=True)
    origins = warehouse.query(
        "select load_id, source_origin from raw.load_log order by started_at"
    )
    assert origins[0] == ("old-load", "file")
    assert origins[1][1] == "file"
    # The old load was withdrawn by the replacement, and the log says so.
    assert warehouse.query(
        "select load_id from raw.load_log where unloaded_at is null"
    ) == [(origins[1][0],)]


def test_loading_the_same_file_twice_keeps_one_copy(
    warehouse: Warehouse, sample_file: Path
) -> None:
    for _ in range(2):
        result = run_cli(["load", str(sample_file)], warehouse.env)
        assert result.returncode == 0, result.stderr
    assert warehouse.vouchers() == SAMPLE_TEXT
    ((last_load,),) = warehouse.query(
        "select load_id from raw.load_log order by finished_at desc limit 1"
    )
    warehouse.assert_one_load(last_load)


def test_a_new_file_replaces_the_previous_one(
    warehouse: Warehouse, sample_file: Path, other_file: Path
) -> None:
    load_paths([other_file], Target(warehouse.target), replace=True)
    result = load_paths([sample_file], Target(warehouse.target), replace=True)
    assert warehouse.vouchers() == SAMPLE_TEXT
    warehouse.assert_one_load(result.load_id)


def _bad_files(tmp_path: Path, good: Path) -> dict[str, Path]:
    files = {
        "missing": tmp_path / "absent.parquet",
        "zero-bytes": tmp_path / "empty.parquet",
        "not-parquet": tmp_path / "notes.parquet",
        "truncated": tmp_path / "truncated.parquet",
        "zero-rows": write_parquet(tmp_path / "no_rows.parquet", sample_table([])),
        "missing-column": write_parquet(
            tmp_path / "no_amount.parquet",
            sample_table().drop_columns("voucher_amount"),
        ),
        "corrupt-row-group": corrupt_last_row_group(tmp_path),
    }
    files["zero-bytes"].write_bytes(b"")
    files["not-parquet"].write_text("timestamp,country_code\n")
    files["truncated"].write_bytes(good.read_bytes()[:-20])
    return files


@pytest.mark.parametrize(
    "kind",
    [
        "missing",
        "zero-bytes",
        "not-parquet",
        "truncated",
        "zero-rows",
        "missing-column",
        "corrupt-row-group",
    ],
)
def test_a_bad_file_fails_in_one_line_and_keeps_the_previous_load(
    warehouse: Warehouse,
    tmp_path: Path,
    sample_file: Path,
    other_file: Path,
    kind: str,
) -> None:
    bad = _bad_files(tmp_path, sample_file)[kind]
    previous = load_paths([other_file], Target(warehouse.target), replace=True)

    result = run_cli(["load", str(bad)], warehouse.env)

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"loader: error: {bad}: ")
    assert "Traceback" not in result.stderr
    assert warehouse.vouchers() == previous_rows(other_file)
    assert warehouse.query("select count(*) from raw.load_log") == [(1,)]
    warehouse.assert_one_load(previous.load_id)


def test_a_failure_mid_load_keeps_the_previous_load(
    warehouse: Warehouse,
    sample_file: Path,
    other_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    previous = load_paths([other_file], Target(warehouse.target), replace=True)
    real_batches = loader.plan.text_batches
    sent = []

    def failing_batches(source, **_: object) -> Iterator[pa.RecordBatch]:
        for batch in real_batches(source, batch_rows=2):
            sent.append(batch.num_rows)
            yield batch
            if len(sent) == 2:
                raise SourceError("simulated failure after two batches")

    monkeypatch.setattr(loader.plan, "text_batches", failing_batches)
    with pytest.raises(SourceError, match="simulated failure"):
        load_paths([sample_file], Target(warehouse.target), replace=True)

    assert sent == [2, 2]  # the warehouse had taken rows before the failure
    assert warehouse.vouchers() == previous_rows(other_file)
    warehouse.assert_one_load(previous.load_id)


# Runs a load that stops after its first batch until FLAG exists, so a test can
# kill it or cut its connection while the new rows are half written.
PAUSING_LOAD = """
import pathlib, sys, time
import loader.plan
from tests.conftest import REPO_ROOT
from loader.__main__ import main

real_batches = loader.plan.text_batches

def pausing_batches(source, **_):
    for number, batch in enumerate(real_batches(source, batch_rows=2)):
        yield batch
        if number == 0:
            print("PAUSED", flush=True)
            while not pathlib.Path(sys.argv[2]).exists():
                time.sleep(0.02)

loader.plan.text_batches = pausing_batches
sys.exit(main(["load", sys.argv[1]]))
"""


def _start_pausing_load(
    warehouse: Warehouse, path: Path, flag: Path
) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", PAUSING_LOAD, str(path), str(flag)],
        cwd=REPO_ROOT,
        env={**warehouse.env, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "PAUSED"
    if warehouse.target == "postgres":
        _wait_for_copy(warehouse)
    return process


def _copy_backends(warehouse: Warehouse) -> list[int]:
    return [
        pid
        for (pid,) in warehouse.query(
            "select pid from pg_stat_activity"
            " where application_name = 'voucher-loader'"
            f" and datname = '{warehouse.env['PGDATABASE']}'"
            " and query ilike 'copy raw.%'"
        )
    ]


def _wait_for_copy(warehouse: Warehouse) -> None:
    deadline = time.monotonic() + 20
    while not _copy_backends(warehouse):
        assert time.monotonic() < deadline, "the load never started its COPY"
        time.sleep(0.02)


def test_a_killed_load_keeps_the_previous_load(
    warehouse: Warehouse, tmp_path: Path, sample_file: Path, other_file: Path
) -> None:
    load_paths([other_file], Target(warehouse.target), replace=True)
    process = _start_pausing_load(warehouse, sample_file, tmp_path / "never")
    try:
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL

    if warehouse.target == "postgres":
        deadline = time.monotonic() + 20  # the server notices the dead client
        while _copy_backends(warehouse):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert warehouse.vouchers() == previous_rows(other_file)
    # ... and the next load works and leaves nothing behind.
    result = load_paths([sample_file], Target(warehouse.target), replace=True)
    assert warehouse.vouchers() == SAMPLE_TEXT
    warehouse.assert_one_load(result.load_id)


@pytest.mark.postgres
@pytest.mark.parametrize("warehouse", ["postgres"], indirect=True)
def test_losing_the_database_mid_load_keeps_the_previous_load(
    warehouse: Warehouse, tmp_path: Path, sample_file: Path, other_file: Path
) -> None:
    load_paths([other_file], Target(warehouse.target), replace=True)
    flag = tmp_path / "resume"
    process = _start_pausing_load(warehouse, sample_file, flag)
    try:
        for pid in _copy_backends(warehouse):
            warehouse.query(f"select pg_terminate_backend({pid})")
        flag.touch()
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 3
    # The error is one line, the last. The load ran past the progress
    # printer's delay while paused, so progress lines may come before it.
    *progress, error = stderr.splitlines()
    assert error.startswith("loader: error: PostgreSQL "), stderr
    assert all(line.startswith("loaded ") for line in progress), stderr
    assert "Traceback" not in stderr
    assert warehouse.vouchers() == previous_rows(other_file)


def test_leftover_staging_tables_are_dropped(
    warehouse: Warehouse, sample_file: Path
) -> None:
    warehouse.query("create schema if not exists raw")
    warehouse.query("create table raw._vouchers_staging_deadbeef_0 (x integer)")
    result = load_paths([sample_file], Target(warehouse.target), replace=True)
    assert warehouse.leftover_tables() == []
    warehouse.assert_one_load(result.load_id)


def test_views_on_raw_vouchers_survive_a_reload(
    warehouse: Warehouse, sample_file: Path, other_file: Path
) -> None:
    # dbt's staging models are views on raw.vouchers; a reload must not break them.
    load_paths([other_file], Target(warehouse.target), replace=True)
    warehouse.query("create schema loader_test_views")
    warehouse.query(
        "create view loader_test_views.voucher_count as"
        " select count(*) as n from raw.vouchers"
    )
    load_paths([sample_file], Target(warehouse.target), replace=True)
    assert warehouse.query("select n from loader_test_views.voucher_count") == [
        (len(SAMPLE_TEXT),)
    ]


def test_a_raw_table_of_an_older_shape_is_replaced(
    warehouse: Warehouse, sample_file: Path
) -> None:
    warehouse.query("create schema if not exists raw")
    warehouse.query("create table raw.vouchers (id integer)")
    load_paths([sample_file], Target(warehouse.target), replace=True)
    assert warehouse.vouchers() == SAMPLE_TEXT


def test_loaded_at_is_utc(warehouse: Warehouse, sample_file: Path) -> None:
    load_paths([sample_file], Target(warehouse.target), replace=True)
    ((loaded_at,),) = warehouse.query("select max(_loaded_at) from raw.vouchers")
    drift = abs(
        (utc_naive(loaded_at) - datetime.now(UTC).replace(tzinfo=None)).total_seconds()
    )
    assert drift < 60


@pytest.mark.postgres
@pytest.mark.parametrize("warehouse", ["postgres"], indirect=True)
def test_rows_written_to_the_parent_table_do_not_survive_a_load(
    warehouse: Warehouse, sample_file: Path, other_file: Path
) -> None:
    load_paths([other_file], Target(warehouse.target), replace=True)
    warehouse.query(
        "insert into raw.vouchers (_source_file, _source_row_number,"
        " _load_id, _loaded_at) values ('stray', 0, 'stray', now())"
    )
    result = load_paths([sample_file], Target(warehouse.target), replace=True)
    assert warehouse.vouchers() == SAMPLE_TEXT
    warehouse.assert_one_load(result.load_id)


@pytest.mark.postgres
@pytest.mark.parametrize("warehouse", ["postgres"], indirect=True)
def test_a_concurrent_load_is_refused_in_one_line(
    warehouse: Warehouse, sample_file: Path, other_file: Path
) -> None:
    import psycopg2

    previous = load_paths([other_file], Target(warehouse.target), replace=True)
    env = warehouse.env
    holder = psycopg2.connect(
        host=env["PGHOST"],
        port=env["PGPORT"],
        user=env["PGUSER"],
        password=env["PGPASSWORD"] or None,
        dbname=env["PGDATABASE"],
    )
    try:
        with holder.cursor() as cursor:
            # The loader's lock key: another load is running.
            cursor.execute("select pg_advisory_lock(%s)", [0x766F7563])
        result = run_cli(["load", str(sample_file)], warehouse.env)
    finally:
        holder.close()
    assert result.returncode == 3
    assert "another load into raw.vouchers is running" in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    warehouse.assert_one_load(previous.load_id)
