"""Append to ``raw.vouchers`` in PostgreSQL, replace it or withdraw a load, with COPY.

``raw.vouchers`` is a parent table that holds no rows itself; each load's rows
live in its own child tables that inherit from it (checked to hold that load id
alone, so a query on other loads skips them). An invocation COPYs each new file
into new staging tables, one per parallel COPY stream, each in its own
connection, and then in one short transaction attaches them all (on
``--replace`` after dropping every previous child) and writes
``raw.load_log``; an unload drops one load's children. So:

- until that commit every reader sees the previous rows, and a bad file, a
  killed process or a lost server leave them untouched (staging tables a killed
  load leaves behind are dropped by the next load);
- appending or withdrawing a load never rewrites another load's rows;
- the parent keeps its identity, so the views dbt builds on ``raw.vouchers``
  survive a reload (a drop-and-rename swap would break them: PostgreSQL views
  bind to a table's identity, not its name);
- several COPY streams keep several server cores busy, which one stream cannot.
"""

import contextlib
import logging
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import psycopg2.extensions
import pyarrow as pa
from psycopg2 import sql

from dwh.settings import PostgresSettings
from loader.errors import WarehouseError, first_line
from loader.load_run import LoadRun, table_suffix, utc_now
from loader.plan import (
    Applied,
    BatchesOf,
    CurrentLoad,
    LoadPlan,
    Written,
    choose_unload,
)
from loader.postgres_copy import (
    CopyCancelled,
    copy_into_new_table,
    csv_chunks,
    internal_errors_logged,
)
from loader.prefetch import Prefetcher
from loader.raw_schema import (
    CURRENT_LOADS_SQL,
    LOAD_LOG_DDL,
    LOAD_LOG_TABLE,
    LOAD_LOG_UPGRADES,
    LOADED_PREFIX,
    RAW_SCHEMA,
    SOURCE_COLUMNS,
    STAGING_PREFIX,
    VOUCHERS_TABLE,
    mark_unloaded_sql,
    quote_identifier,
    vouchers_ddl,
)

log = logging.getLogger(__name__)

_MAINTENANCE_DATABASE = "postgres"
# One server backend per stream; two keep a 2-core server busy while this
# process renders CSV, more mostly add contention.
COPY_STREAMS = 2
# Session advisory lock serializing loads into one database ("vouc" in ASCII),
# so one load never sweeps up another's staging tables.
_LOAD_LOCK_KEY = 0x766F7563
# A reader holding raw.vouchers longer than this fails the swap instead of
# leaving it (and every query queued behind its lock) waiting forever.
_LOCK_TIMEOUT = "60s"
_PARENT = f"{RAW_SCHEMA}.{VOUCHERS_TABLE}"
_EXPECTED_COLUMNS = [
    *((name, "text") for name in SOURCE_COLUMNS),
    ("_source_file", "text"),
    ("_source_row_number", "bigint"),
    ("_load_id", "text"),
    ("_loaded_at", "timestamp without time zone"),
]


def ensure_database(settings: PostgresSettings) -> bool:
    """Create the database named in ``settings`` if missing; True if created."""
    if settings.database == _MAINTENANCE_DATABASE:
        return False
    connection = _connect(settings, _MAINTENANCE_DATABASE)
    try:
        connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
        with connection.cursor() as cursor:
            cursor.execute(
                "select 1 from pg_database where datname = %s", [settings.database]
            )
            if cursor.fetchone():
                return False
            try:
                cursor.execute(
                    sql.SQL("create database {}").format(
                        sql.Identifier(settings.database)
                    )
                )
            except psycopg2.errors.DuplicateDatabase:
                return False  # created concurrently, e.g. by a parallel CI job
    except psycopg2.Error as error:
        raise WarehouseError(
            f"cannot create database {settings.database!r} on"
            f" {settings.host}:{settings.port}: {first_line(error)}"
        ) from None
    finally:
        connection.close()
    log.info(
        "created database",
        extra={"event": "database_created", "database": settings.database},
    )
    return True


def apply_plan(
    settings: PostgresSettings, plan: LoadPlan, batches_of: BatchesOf
) -> Applied:
    """Append the plan's new files to ``raw.vouchers`` (or replace its rows
    with them), committed in one transaction.

    An exception raised while iterating a file's batches propagates unchanged
    after every new table has been discarded: no file of the plan is loaded.
    """
    with _locked(settings) as control:
        staging: list[str] = []
        try:
            recreated = _prepare(control)
            current = _current(control)
            to_write, skipped = plan.to_write(current)
            if not to_write and not plan.replace:
                return Applied([], skipped, [])
            written = []
            for pending in to_write:
                tables = [
                    f"{STAGING_PREFIX}{pending.run.staging_suffix}_{stream}"
                    for stream in range(COPY_STREAMS)
                ]
                staging += tables
                rows = _copy_in_parallel(
                    settings, tables, batches_of(pending), pending.run
                )
                written.append(Written(pending, rows))
            withdrawn = current if plan.replace or recreated else []
            _swap(control, written, withdrawn)
        except BaseException:
            _drop_quietly(control, staging)
            raise
        return Applied(written, skipped, withdrawn)


def current_loads(settings: PostgresSettings) -> list[CurrentLoad]:
    """The loads raw.vouchers holds, oldest first."""
    with _locked(settings) as control:
        _prepare(control)
        return _current(control)


def unload(settings: PostgresSettings, selector: str) -> CurrentLoad:
    """Withdraw the current load ``selector`` names (its id or file name): its
    child tables are dropped and its log row gets ``unloaded_at``, atomically."""
    with _locked(settings) as control:
        _prepare(control)
        load = choose_unload(_current(control), selector)
        with control.cursor() as cursor:
            cursor.execute(f"set local lock_timeout = '{_LOCK_TIMEOUT}'")
            prefix = f"{LOADED_PREFIX}{table_suffix(load.load_id)}_"
            for name in _children(cursor):
                if name.startswith(prefix):
                    cursor.execute(f"drop table {RAW_SCHEMA}.{quote_identifier(name)}")
            cursor.execute(mark_unloaded_sql("%s"), [utc_now(), load.load_id])
        control.commit()
        return load


@contextlib.contextmanager
def _locked(settings: PostgresSettings) -> Iterator[psycopg2.extensions.connection]:
    """A control connection holding the load lock; PostgreSQL errors become
    one line. Closing it releases the lock."""
    ensure_database(settings)
    control = _connect(settings, settings.database)
    try:
        _lock_loads(control, settings)
        yield control
    except psycopg2.Error as error:
        raise WarehouseError(
            f"PostgreSQL {settings.describe()}: {first_line(error)}"
        ) from None
    finally:
        control.close()


def _current(control: psycopg2.extensions.connection) -> list[CurrentLoad]:
    with control.cursor() as cursor:
        cursor.execute(CURRENT_LOADS_SQL)
        return [CurrentLoad(*row) for row in cursor.fetchall()]


def _connect(
    settings: PostgresSettings, database: str
) -> psycopg2.extensions.connection:
    try:
        return psycopg2.connect(
            **settings.connect_kwargs(database, application_name="voucher-loader")
        )
    except psycopg2.Error as error:
        raise WarehouseError(
            f"cannot connect to PostgreSQL {settings.user}@{settings.host}:"
            f"{settings.port}/{database}: {first_line(error)}"
        ) from None


def _lock_loads(
    control: psycopg2.extensions.connection, settings: PostgresSettings
) -> None:
    control.autocommit = True
    with control.cursor() as cursor:
        cursor.execute("select pg_try_advisory_lock(%s)", [_LOAD_LOCK_KEY])
        (locked,) = cursor.fetchone()
    if not locked:
        raise WarehouseError(
            f"PostgreSQL {settings.describe()}: another load into {_PARENT}"
            " is running; try again when it has finished"
        )


def _prepare(control: psycopg2.extensions.connection) -> bool:
    """Create the raw schema, the log and the parent; drop leftover staging.

    True if the parent was (re)created, which drops any rows it had."""
    control.autocommit = False
    with control.cursor() as cursor:
        cursor.execute(f"create schema if not exists {RAW_SCHEMA}")
        cursor.execute(LOAD_LOG_DDL)
        for upgrade in LOAD_LOG_UPGRADES:
            cursor.execute(upgrade)
        for name in _tables_named(cursor, STAGING_PREFIX):
            log.warning(
                "dropping staging table left by an interrupted load",
                extra={"event": "leftover_dropped", "table": f"{RAW_SCHEMA}.{name}"},
            )
            cursor.execute(f"drop table {RAW_SCHEMA}.{quote_identifier(name)}")
        cursor.execute(
            "select column_name, data_type from information_schema.columns"
            " where table_schema = %s and table_name = %s order by ordinal_position",
            [RAW_SCHEMA, VOUCHERS_TABLE],
        )
        existing = [tuple(row) for row in cursor.fetchall()]
        if existing and existing != _EXPECTED_COLUMNS:
            # A table from before the current column contract: its dependent
            # views would not fit the new shape either (dbt rebuilds them).
            log.warning(
                "recreating raw table with a different shape",
                extra={"event": "table_recreated", "table": _PARENT},
            )
            cursor.execute(f"drop table {_PARENT} cascade")
        if existing != _EXPECTED_COLUMNS:
            cursor.execute(vouchers_ddl(_PARENT))
    control.commit()
    return existing != _EXPECTED_COLUMNS


def _copy_in_parallel(
    settings: PostgresSettings,
    tables: list[str],
    batches: Iterable[pa.RecordBatch],
    run: LoadRun,
) -> int:
    """COPY ``batches`` into new tables, one stream each; return the row count."""
    cancelled = threading.Event()

    def copy_stream(table: str) -> int:
        connection = _connect(settings, settings.database)
        try:
            qualified = f"{RAW_SCHEMA}.{quote_identifier(table)}"
            return copy_into_new_table(connection, qualified, chunks, run, cancelled)
        except BaseException:
            cancelled.set()  # stop the sibling streams early
            raise
        finally:
            connection.close()

    with (
        internal_errors_logged(),
        Prefetcher(csv_chunks(batches)) as chunks,
        ThreadPoolExecutor(len(tables), thread_name_prefix="loader-copy") as pool,
    ):
        futures = [pool.submit(copy_stream, table) for table in tables]
        try:
            errors = [error for f in futures if (error := f.exception()) is not None]
        except BaseException:
            cancelled.set()  # e.g. Ctrl-C in this thread: stop the streams
            raise
    if errors:
        # Prefer the cause (a bad file, the server) over the streams it cancelled.
        errors.sort(key=lambda error: isinstance(error, CopyCancelled))
        if isinstance(errors[0], CopyCancelled):
            raise WarehouseError("the load was cancelled")
        raise errors[0]
    return sum(future.result() for future in futures)


def _swap(
    control: psycopg2.extensions.connection,
    written: list[Written],
    withdrawn: list[CurrentLoad],
) -> None:
    """In one transaction: drop the withdrawn loads' children (all of them on a
    replacement), attach the new ones, log it all."""
    with control.cursor() as cursor:
        cursor.execute(f"set local lock_timeout = '{_LOCK_TIMEOUT}'")
        if withdrawn:
            for old in _children(cursor):
                cursor.execute(f"drop table {RAW_SCHEMA}.{quote_identifier(old)}")
            # The parent is meant to stay empty; clear rows written to it directly.
            cursor.execute(f"truncate only {_PARENT}")
        now = utc_now()
        for load in withdrawn:
            cursor.execute(mark_unloaded_sql("%s"), [now, load.load_id])
        for done in written:
            run = done.pending.run
            for stream in range(COPY_STREAMS):
                table = quote_identifier(
                    f"{STAGING_PREFIX}{run.staging_suffix}_{stream}"
                )
                loaded = f"{LOADED_PREFIX}{run.staging_suffix}_{stream}"
                cursor.execute(f"alter table {RAW_SCHEMA}.{table} inherit {_PARENT}")
                cursor.execute(
                    f"alter table {RAW_SCHEMA}.{table}"
                    f" rename to {quote_identifier(loaded)}"
                )
            log_row = run.load_log_row("postgres", done.row_count)
            log_slots = ", ".join(["%s"] * len(log_row))
            cursor.execute(
                f"insert into {RAW_SCHEMA}.{LOAD_LOG_TABLE} values ({log_slots})",
                log_row,
            )
    control.commit()


def _children(cursor: psycopg2.extensions.cursor) -> list[str]:
    """The child tables of raw.vouchers: the current loads' rows."""
    cursor.execute(
        "select child.relname from pg_inherits"
        " join pg_class as child on child.oid = pg_inherits.inhrelid"
        " where pg_inherits.inhparent = %s::regclass",
        [_PARENT],
    )
    return [name for (name,) in cursor.fetchall()]


def _tables_named(cursor: psycopg2.extensions.cursor, prefix: str) -> list[str]:
    cursor.execute(
        "select table_name from information_schema.tables"
        " where table_schema = %s and starts_with(table_name, %s)",
        [RAW_SCHEMA, prefix],
    )
    return [name for (name,) in cursor.fetchall()]


def _drop_quietly(control: psycopg2.extensions.connection, staging: list[str]) -> None:
    """Drop this load's staging tables; a dead connection leaves them to the next."""
    with contextlib.suppress(psycopg2.Error):
        control.rollback()
        control.autocommit = True
        with control.cursor() as cursor:
            for name in staging:
                cursor.execute(
                    f"drop table if exists {RAW_SCHEMA}.{quote_identifier(name)}"
                )
