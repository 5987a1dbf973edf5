"""Append to ``raw.vouchers`` in a Spark warehouse, replace it, or withdraw
a load: through a local session (target ``spark``: an embedded metastore, one
process at a time) or through a Spark Thrift Server in front of a cluster
(target ``spark_cluster``). Both are driven by the same SQL statements.

Spark has no multi-statement transactions, so the swap is a metadata change:

1. each new file's text batches are written by pyarrow as Parquet into a new
   folder of the warehouse folder every node shares (streamed: memory stays
   bounded whatever the size);
2. an external table ``raw._vouchers_loaded_<load id>`` is declared over it;
3. the view ``raw.vouchers``, the union of the current loads' tables, is
   altered in one metastore update (``alter view``: a reader through the
   Thrift server sees the old or the new union, never no view, as it can
   during ``create or replace view``); only then are withdrawn loads' tables
   dropped and ``raw.load_log`` rewritten (a Parquet table has no UPDATE).
   Their files go at the next load or unload, so that a query still reading
   the old union when the swap happens can finish (one that is still running
   at the next load can fail). Loads and unloads take turns (a file lock in
   the warehouse folder).

Until step 3 every reader sees the previous rows; a bad file or a failure
removes the new folders and leaves them untouched. (A process killed between
step 3 and the log's rewrite leaves the log behind the view: the next load does
not know the newest files and loads them again.) dbt's staging view reads the
``raw.vouchers`` view by name, so it keeps working across loads.

The local session's settings are the ones ``profiles.yml`` gives dbt-spark,
so both share one metastore and warehouse folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import shutil
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dwh.settings import SparkSettings
from dwh.spark import SparkSql, spark_literal, sql_over
from loader.errors import OneLineError, WarehouseError, first_line
from loader.load_run import LoadRun, table_suffix, utc_now
from loader.plan import (
    Applied,
    BatchesOf,
    CurrentLoad,
    LoadPlan,
    Written,
    choose_unload,
)
from loader.raw_schema import (
    LOAD_LOG_TABLE,
    LOADED_PREFIX,
    RAW_SCHEMA,
    ROW_NUMBER_COLUMN,
    SOURCE_COLUMNS,
    VOUCHERS_TABLE,
)

log = logging.getLogger(__name__)

# raw.vouchers' columns in the order every warehouse stores them.
_VOUCHERS_SCHEMA = pa.schema(
    [pa.field(name, pa.string()) for name in SOURCE_COLUMNS]
    + [
        pa.field("_source_file", pa.string(), nullable=False),
        pa.field("_source_row_number", pa.int64(), nullable=False),
        pa.field("_load_id", pa.string(), nullable=False),
        pa.field("_loaded_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)
_LOAD_LOG_COLUMNS = (
    ("load_id", "string"),
    ("target", "string"),
    ("source_file", "string"),
    ("source_path", "string"),
    ("source_sha256", "string"),
    ("source_size_bytes", "bigint"),
    ("row_count", "bigint"),
    ("started_at", "timestamp"),
    ("finished_at", "timestamp"),
    ("source_origin", "string"),
    ("unloaded_at", "timestamp"),
)
# Columns a load log written before they existed gets.
_LOAD_LOG_ADDED = ("source_origin", "unloaded_at")
_SPARK_TYPES = {
    pa.string(): "string",
    pa.int64(): "bigint",
    pa.timestamp("us", tz="UTC"): "timestamp",
}


def apply_plan(
    settings: SparkSettings, plan: LoadPlan, batches_of: BatchesOf
) -> Applied:
    """Append the plan's new files to ``raw.vouchers`` (or replace it with
    them); the view swap is the one step that makes them visible.

    An exception raised while iterating a file's batches propagates unchanged
    after the new folders have been removed: no file of the plan is loaded.
    """
    with _one_loader(settings), _warehouse(settings) as sql:
        log_rows = _log_rows(sql)
        current = _current(log_rows)
        to_write, skipped = plan.to_write(current)
        if not to_write and not plan.replace:
            return Applied([], skipped, [])
        written: list[Written] = []
        try:
            for pending in to_write:
                table = _table_of(pending.run.load_id)
                folder = settings.loads_dir / table
                rows = _write_parquet(folder, batches_of(pending), pending.run)
                sql.rows(
                    f"create table {RAW_SCHEMA}.{table} using parquet"
                    f" location '{folder.resolve().as_uri()}'"
                )
                written.append(Written(pending, rows))
            withdrawn = current if plan.replace else []
            kept = [load.load_id for load in current if load not in withdrawn]
            # The swap: one metastore update. Everything before it can fail
            # harmlessly.
            _point_view(sql, [*kept, *(done.pending.run.load_id for done in written)])
        except BaseException:
            for pending in to_write:
                _drop_load(sql, settings, pending.run.load_id)
            raise
        _forget(sql, settings, withdrawn)
        now = utc_now()
        _write_log(
            sql,
            [_withdrawn_row(row, withdrawn, now) for row in log_rows]
            + [
                done.pending.run.load_log_row(settings.target.value, done.row_count)
                for done in written
            ],
        )
        return Applied(written, skipped, withdrawn)


def current_loads(settings: SparkSettings) -> list[CurrentLoad]:
    """The loads raw.vouchers holds, oldest first."""
    with _warehouse(settings) as sql:
        return _current(_log_rows(sql))


def unload(settings: SparkSettings, selector: str) -> CurrentLoad:
    """Withdraw the current load ``selector`` names (its id or file name): the
    view stops reading it in one metastore update, then its table goes."""
    with _one_loader(settings), _warehouse(settings) as sql:
        log_rows = _log_rows(sql)
        current = _current(log_rows)
        load = choose_unload(current, selector)
        _point_view(sql, [other.load_id for other in current if other != load])
        _forget(sql, settings, [load])
        now = utc_now()
        _write_log(sql, [_withdrawn_row(row, [load], now) for row in log_rows])
        return load


@contextlib.contextmanager
def _one_loader(settings: SparkSettings) -> Iterator[None]:
    """One load or unload at a time on this warehouse folder (a Thrift server
    lets several connect; each rewrites the log from what it read and sweeps
    folders no table reads): a second one waits for the first."""
    settings.warehouse.mkdir(parents=True, exist_ok=True)
    with open(settings.warehouse / ".loader.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("another load or unload holds %s; waiting", lock.name)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@contextlib.contextmanager
def _warehouse(settings: SparkSettings) -> Iterator[SparkSql]:
    """SQL on the warehouse with raw and its log in place; Spark errors
    become one line."""
    with contextlib.ExitStack() as stack:
        try:
            sql = stack.enter_context(sql_over(settings))
        except OneLineError:
            raise
        except Exception as error:
            raise WarehouseError(f"cannot start Spark: {first_line(error)}") from None
        try:
            _create_raw(sql)
            yield sql
        except (OneLineError, KeyboardInterrupt):
            raise
        except Exception as error:
            raise WarehouseError(f"Spark: {first_line(error)}") from None


def _create_raw(sql: SparkSql) -> None:
    """The raw database and its load log, upgraded if written before columns
    existed."""
    sql.rows(f"create database if not exists {RAW_SCHEMA}")
    columns = ", ".join(f"{name} {kind}" for name, kind in _LOAD_LOG_COLUMNS)
    sql.rows(
        f"create table if not exists {RAW_SCHEMA}.{LOAD_LOG_TABLE}"
        f" ({columns}) using parquet"
    )
    existing = {row[0] for row in sql.rows(f"describe {RAW_SCHEMA}.{LOAD_LOG_TABLE}")}
    for name, kind in _LOAD_LOG_COLUMNS:
        if name in _LOAD_LOG_ADDED and name not in existing:
            sql.rows(
                f"alter table {RAW_SCHEMA}.{LOAD_LOG_TABLE} add columns ({name} {kind})"
            )


def _table_of(load_id: str) -> str:
    return LOADED_PREFIX + table_suffix(load_id)


def _log_rows(sql: SparkSql) -> list[list[object]]:
    """raw.load_log's rows, in its column order (it is small)."""
    names = ", ".join(name for name, _ in _LOAD_LOG_COLUMNS)
    return [
        list(row)
        for row in sql.rows(f"select {names} from {RAW_SCHEMA}.{LOAD_LOG_TABLE}")
    ]


def _current(log_rows: list[list[object]]) -> list[CurrentLoad]:
    names = [name for name, _ in _LOAD_LOG_COLUMNS]
    rows = [dict(zip(names, row, strict=True)) for row in log_rows]
    current = [
        CurrentLoad(
            row["load_id"],
            row["source_file"],
            row["source_sha256"],
            row["row_count"],
            row["finished_at"],
        )
        for row in rows
        if row["unloaded_at"] is None
    ]
    return sorted(current, key=lambda load: (load.finished_at, load.load_id))


def _withdrawn_row(
    row: list[object], withdrawn: list[CurrentLoad], now: datetime
) -> list[object]:
    if row[0] in {load.load_id for load in withdrawn} and row[-1] is None:
        return [*row[:-1], now]
    return row


def _write_log(sql: SparkSql, rows: list[list[object]]) -> None:
    """Rewrite raw.load_log with ``rows`` (a Parquet table has no UPDATE)."""
    values = ", ".join(
        "(" + ", ".join(spark_literal(value) for value in row) + ")" for row in rows
    )
    sql.rows(f"insert overwrite table {RAW_SCHEMA}.{LOAD_LOG_TABLE} values {values}")


def _point_view(sql: SparkSql, load_ids: list[str]) -> None:
    """``raw.vouchers`` becomes the union of these loads' tables: altered in
    place once it exists, which readers never see missing."""
    if load_ids:
        body = " union all ".join(
            f"select * from {RAW_SCHEMA}.{_table_of(load_id)}" for load_id in load_ids
        )
    else:
        columns = ", ".join(
            f"cast(null as {_SPARK_TYPES[field.type]}) as `{field.name}`"
            for field in _VOUCHERS_SCHEMA
        )
        body = f"select {columns} where 1 = 0"
    view = f"{RAW_SCHEMA}.{VOUCHERS_TABLE}"
    if VOUCHERS_TABLE in _tables(sql):
        sql.rows(f"alter view {view} as {body}")
    else:
        sql.rows(f"create view {view} as {body}")


def _tables(sql: SparkSql) -> set[str]:
    """The names of raw's tables and views (show tables: namespace, name, temp)."""
    return {row[1] for row in sql.rows(f"show tables in {RAW_SCHEMA}")}


def _forget(
    sql: SparkSql, settings: SparkSettings, withdrawn: list[CurrentLoad]
) -> None:
    """Drop the withdrawn loads' tables, after the swap. Their files stay
    until the next load or unload (a query that started before the swap may
    still be reading them: through a Thrift server readers overlap with
    loads), which removes them with any folder a killed load left behind:
    every folder no table reads."""
    tables = {name for name in _tables(sql) if name.startswith(LOADED_PREFIX)}
    if settings.loads_dir.exists():
        for folder in settings.loads_dir.iterdir():
            if folder.name not in tables:
                shutil.rmtree(folder, ignore_errors=True)
    for load in withdrawn:
        # An external table: dropping it leaves its folder.
        with contextlib.suppress(Exception):
            sql.rows(f"drop table if exists {RAW_SCHEMA}.{_table_of(load.load_id)}")


def _drop_load(sql: SparkSql, settings: SparkSettings, load_id: str) -> None:
    table = _table_of(load_id)
    with contextlib.suppress(Exception):
        sql.rows(f"drop table if exists {RAW_SCHEMA}.{table}")
    shutil.rmtree(settings.loads_dir / table, ignore_errors=True)


def _write_parquet(
    folder: Path, batches: Iterable[pa.RecordBatch], run: LoadRun
) -> int:
    folder.mkdir(parents=True, exist_ok=False)
    row_count = 0
    with pq.ParquetWriter(folder / "part-00000.parquet", _VOUCHERS_SCHEMA) as out:
        for batch in _with_load_columns(batches, run):
            out.write_batch(batch)
            row_count += batch.num_rows
    return row_count


def _with_load_columns(
    batches: Iterable[pa.RecordBatch], run: LoadRun
) -> Iterator[pa.RecordBatch]:
    loaded_at = run.started_at.replace(tzinfo=UTC)
    source_file = pa.scalar(run.source_file, pa.string())
    load_id = pa.scalar(run.load_id, pa.string())
    loaded_at = pa.scalar(loaded_at, pa.timestamp("us", tz="UTC"))
    for batch in batches:
        rows = batch.num_rows
        columns = [batch.column(name) for name in SOURCE_COLUMNS]
        columns += [
            pa.repeat(source_file, rows),
            batch.column(ROW_NUMBER_COLUMN),
            pa.repeat(load_id, rows),
            pa.repeat(loaded_at, rows),
        ]
        yield pa.RecordBatch.from_arrays(columns, schema=_VOUCHERS_SCHEMA)
