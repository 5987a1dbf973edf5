"""Append files to ``raw.vouchers`` in a DuckDB file, replace it, or withdraw a load.

One invocation is one transaction: an append inserts every new file's rows into
``raw.vouchers``; a replacement writes them into a new staging table that is
swapped in (old table dropped, staging renamed); an unload deletes one load's
rows. Until the commit everyone sees the previous rows, and a failure or a
killed process leaves them as they were (DuckDB discards an uncommitted
transaction when it reopens the file). DuckDB views bind by name, so dbt's
staging views keep working across the swap.
"""

import contextlib
import itertools
import logging
import uuid
from collections.abc import Iterable, Iterator

import duckdb
import pyarrow as pa

from dwh.settings import DuckDBSettings
from loader.errors import WarehouseError, first_line
from loader.load_run import utc_now
from loader.parquet_source import TEXT_BATCH_SCHEMA
from loader.plan import (
    Applied,
    BatchesOf,
    CurrentLoad,
    LoadPlan,
    PendingLoad,
    Written,
    choose_unload,
)
from loader.prefetch import Prefetcher
from loader.raw_schema import (
    BATCH_COLUMNS,
    CURRENT_LOADS_SQL,
    LOAD_CONSTANT_COLUMNS,
    LOAD_LOG_DDL,
    LOAD_LOG_TABLE,
    LOAD_LOG_UPGRADES,
    RAW_SCHEMA,
    STAGING_PREFIX,
    VOUCHERS_COLUMNS,
    VOUCHERS_TABLE,
    mark_unloaded_sql,
    quote_identifier,
    vouchers_ddl,
)

log = logging.getLogger(__name__)

_INCOMING_VIEW = "_loader_incoming_batches"
# ~1M rows per INSERT: big enough to keep DuckDB's row groups full, small
# enough to bound the memory of a 10M-row load.
_BATCHES_PER_INSERT = 8
_TARGET = f"{RAW_SCHEMA}.{VOUCHERS_TABLE}"


def apply_plan(
    settings: DuckDBSettings, plan: LoadPlan, batches_of: BatchesOf
) -> Applied:
    """Append the plan's new files to ``raw.vouchers`` (or replace it with
    them), in one transaction.

    An exception raised while iterating a file's batches propagates unchanged
    after the transaction has been rolled back: no file of the plan is loaded.
    """
    with _opened(settings) as connection, _transaction(connection):
        return _write(connection, plan, batches_of)


def current_loads(settings: DuckDBSettings) -> list[CurrentLoad]:
    """The loads raw.vouchers holds, oldest first."""
    with _opened(settings) as connection:
        return _current(connection)


def unload(settings: DuckDBSettings, selector: str) -> CurrentLoad:
    """Withdraw the current load ``selector`` names (its id or file name): its
    rows leave raw.vouchers and its log row gets ``unloaded_at``, atomically."""
    with _opened(settings) as connection, _transaction(connection):
        load = choose_unload(_current(connection), selector)
        connection.execute(f"delete from {_TARGET} where _load_id = ?", [load.load_id])
        connection.execute(mark_unloaded_sql("?"), [utc_now(), load.load_id])
        return load


@contextlib.contextmanager
def _opened(settings: DuckDBSettings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection with the raw schema in place; DuckDB errors become one line."""
    connection = _connect(settings)
    try:
        _prepare_schema(connection)
        yield connection
    except duckdb.Error as error:
        raise WarehouseError(f"DuckDB {settings.path}: {first_line(error)}") from None
    finally:
        connection.close()


@contextlib.contextmanager
def _transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Commit what the block did, or roll it all back if it raises."""
    connection.execute("begin transaction")
    try:
        yield
    except BaseException:
        # The connection may be what failed; the original error matters more.
        with contextlib.suppress(duckdb.Error):
            connection.execute("rollback")
        raise
    connection.execute("commit")


def _current(connection: duckdb.DuckDBPyConnection) -> list[CurrentLoad]:
    return [
        CurrentLoad(*row) for row in connection.execute(CURRENT_LOADS_SQL).fetchall()
    ]


def _connect(settings: DuckDBSettings) -> duckdb.DuckDBPyConnection:
    try:
        settings.path.parent.mkdir(parents=True, exist_ok=True)
        # Rows carry _source_row_number, so their physical order does not matter;
        # without this DuckDB inserts serially and writes everything at commit
        # (3x slower on 1M rows).
        return duckdb.connect(
            str(settings.path), config={"preserve_insertion_order": False}
        )
    except (duckdb.Error, OSError) as error:
        raise WarehouseError(
            f"cannot open DuckDB database {settings.path}: {first_line(error)}"
        ) from None


def _prepare_schema(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(f"create schema if not exists {RAW_SCHEMA}")
    connection.execute(LOAD_LOG_DDL)
    for upgrade in LOAD_LOG_UPGRADES:
        connection.execute(upgrade)
    leftovers = connection.execute(
        "select table_name from duckdb_tables()"
        " where schema_name = ? and starts_with(table_name, ?)",
        [RAW_SCHEMA, STAGING_PREFIX],
    ).fetchall()
    for (name,) in leftovers:
        # Each load is one transaction, so these only exist if something else
        # committed a staging table; they would otherwise pile up unseen.
        log.warning(
            "dropping leftover staging table",
            extra={"event": "leftover_dropped", "table": f"{RAW_SCHEMA}.{name}"},
        )
        connection.execute(f"drop table {RAW_SCHEMA}.{quote_identifier(name)}")


def _write(
    connection: duckdb.DuckDBPyConnection, plan: LoadPlan, batches_of: BatchesOf
) -> Applied:
    """The plan's writes, inside the caller's transaction."""
    current = _current(connection)
    to_write, skipped = plan.to_write(current)
    if not to_write and not plan.replace:
        return Applied([], skipped, [])
    # A replacement is written into a new table swapped in at the end
    # (dropping the old one is cheaper than deleting its rows); an append
    # goes straight into raw.vouchers.
    appending = not plan.replace and _has_vouchers(connection)
    if appending:
        into = _TARGET
    else:
        into = f"{RAW_SCHEMA}.{quote_identifier(STAGING_PREFIX + uuid.uuid4().hex)}"
        connection.execute(vouchers_ddl(into))
    written = [
        Written(pending, _insert(connection, into, pending, batches_of))
        for pending in to_write
    ]
    withdrawn = [] if appending else current
    if not appending:
        connection.execute(f"drop table if exists {_TARGET}")
        connection.execute(
            f"alter table {into} rename to {quote_identifier(VOUCHERS_TABLE)}"
        )
    now = utc_now()
    for load in withdrawn:
        connection.execute(mark_unloaded_sql("?"), [now, load.load_id])
    for done in written:
        log_row = done.pending.run.load_log_row("duckdb", done.row_count)
        log_slots = ", ".join(["?"] * len(log_row))
        connection.execute(
            f"insert into {RAW_SCHEMA}.{LOAD_LOG_TABLE} values ({log_slots})",
            log_row,
        )
    return Applied(written, skipped, withdrawn)


def _has_vouchers(connection: duckdb.DuckDBPyConnection) -> bool:
    """Whether raw.vouchers exists with today's columns (an append target)."""
    columns = [
        name
        for (name,) in connection.execute(
            "select column_name from duckdb_columns()"
            " where schema_name = ? and table_name = ? order by column_index",
            [RAW_SCHEMA, VOUCHERS_TABLE],
        ).fetchall()
    ]
    if columns and columns != list(VOUCHERS_COLUMNS):
        # A table from before the current column contract: replaced, its
        # loads withdrawn (dbt rebuilds everything from the new rows).
        log.warning(
            "recreating raw table with a different shape",
            extra={"event": "table_recreated", "table": _TARGET},
        )
    return columns == list(VOUCHERS_COLUMNS)


def _insert(
    connection: duckdb.DuckDBPyConnection,
    into: str,
    pending: PendingLoad,
    batches_of: BatchesOf,
) -> int:
    """Insert one file's rows into ``into``; return how many."""
    run = pending.run
    columns = [quote_identifier(name) for name in BATCH_COLUMNS]
    insert = (
        f"insert into {into}"
        f" ({', '.join(columns + list(LOAD_CONSTANT_COLUMNS))})"
        f" select {', '.join(columns)}, ?, ?, ? from {_INCOMING_VIEW}"
    )
    constants = [run.source_file, run.load_id, run.started_at]
    row_count = 0
    # Decoding the next batches in a thread overlaps with DuckDB's insert.
    with Prefetcher(batches_of(pending)) as prefetched:
        incoming = _RememberingIterator(prefetched)
        while True:
            # DuckDB keeps every Arrow batch a statement scanned until the
            # statement ends, so one INSERT per group bounds the memory.
            group = itertools.islice(incoming, _BATCHES_PER_INSERT)
            connection.register(
                _INCOMING_VIEW,
                pa.RecordBatchReader.from_batches(TEXT_BATCH_SCHEMA, group),
            )
            try:
                (inserted,) = connection.execute(insert, constants).fetchone()
            except duckdb.Error:
                # DuckDB wraps errors raised by the batch iterator; re-raise
                # the original so a bad file is reported as such.
                if incoming.failure is not None:
                    raise incoming.failure from None
                raise
            finally:
                connection.unregister(_INCOMING_VIEW)
            if inserted == 0:
                break
            row_count += inserted
    return row_count


class _RememberingIterator:
    """Iterate ``batches`` and keep the exception that ended the iteration, if any."""

    def __init__(self, batches: Iterable[pa.RecordBatch]) -> None:
        self._batches = iter(batches)
        self.failure: BaseException | None = None

    def __iter__(self) -> "_RememberingIterator":
        return self

    def __next__(self) -> pa.RecordBatch:
        try:
            return next(self._batches)
        except StopIteration:
            raise
        except BaseException as error:
            self.failure = error
            raise
