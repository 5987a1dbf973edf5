"""Replace ``raw.vouchers`` in a DuckDB file with one source file's rows.

The rows go into a new staging table that is swapped in (old table dropped, staging
renamed) in the same transaction, so until the commit the previous table is what
everyone sees and a failure or a killed process leaves it as it was (DuckDB
discards an uncommitted transaction when it reopens the file). DuckDB views bind
by name, so dbt's staging views keep working across the swap.
"""

import contextlib
import itertools
import logging
from collections.abc import Iterable

import duckdb
import pyarrow as pa

from dwh.settings import DuckDBSettings
from loader.errors import WarehouseError, first_line
from loader.load_run import LoadRun
from loader.prefetch import Prefetcher
from loader.raw_schema import (
    BATCH_COLUMNS,
    LOAD_CONSTANT_COLUMNS,
    LOAD_LOG_DDL,
    LOAD_LOG_TABLE,
    LOAD_LOG_UPGRADE,
    RAW_SCHEMA,
    STAGING_PREFIX,
    VOUCHERS_TABLE,
    quote_identifier,
    vouchers_ddl,
)

log = logging.getLogger(__name__)

_INCOMING_VIEW = "_loader_incoming_batches"
# ~1M rows per INSERT: big enough to keep DuckDB's row groups full, small
# enough to bound the memory of a 10M-row load.
_BATCHES_PER_INSERT = 8


def replace_vouchers(
    settings: DuckDBSettings,
    schema: pa.Schema,
    batches: Iterable[pa.RecordBatch],
    run: LoadRun,
) -> int:
    """Swap the rows of ``batches`` in as ``raw.vouchers``; return the row count.

    An exception raised while iterating ``batches`` propagates unchanged after the
    transaction has been rolled back.
    """
    connection = _connect(settings)
    try:
        _prepare_schema(connection)
        return _swap_in(connection, schema, batches, run)
    except duckdb.Error as error:
        raise WarehouseError(f"DuckDB {settings.path}: {first_line(error)}") from None
    finally:
        connection.close()


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
    connection.execute(LOAD_LOG_UPGRADE)
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


def _swap_in(
    connection: duckdb.DuckDBPyConnection,
    schema: pa.Schema,
    batches: Iterable[pa.RecordBatch],
    run: LoadRun,
) -> int:
    staging_name = STAGING_PREFIX + run.staging_suffix
    staging = f"{RAW_SCHEMA}.{quote_identifier(staging_name)}"
    target = f"{RAW_SCHEMA}.{VOUCHERS_TABLE}"
    columns = [quote_identifier(name) for name in BATCH_COLUMNS]
    connection.execute("begin transaction")
    try:
        connection.execute(vouchers_ddl(staging))
        insert = (
            f"insert into {staging}"
            f" ({', '.join(columns + list(LOAD_CONSTANT_COLUMNS))})"
            f" select {', '.join(columns)}, ?, ?, ? from {_INCOMING_VIEW}"
        )
        constants = [run.source_file, run.load_id, run.started_at]
        row_count = 0
        # Decoding the next batches in a thread overlaps with DuckDB's insert.
        with Prefetcher(batches) as prefetched:
            incoming = _RememberingIterator(prefetched)
            while True:
                # DuckDB keeps every Arrow batch a statement scanned until the
                # statement ends, so one INSERT per group bounds the memory.
                group = itertools.islice(incoming, _BATCHES_PER_INSERT)
                connection.register(
                    _INCOMING_VIEW, pa.RecordBatchReader.from_batches(schema, group)
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
        connection.execute(f"drop table if exists {target}")
        connection.execute(
            f"alter table {staging} rename to {quote_identifier(VOUCHERS_TABLE)}"
        )
        log_row = run.load_log_row("duckdb", row_count)
        log_slots = ", ".join(["?"] * len(log_row))
        connection.execute(
            f"insert into {RAW_SCHEMA}.{LOAD_LOG_TABLE} values ({log_slots})",
            log_row,
        )
        connection.execute("commit")
    except BaseException:
        # The connection may be what failed; the original error matters more.
        with contextlib.suppress(duckdb.Error):
            connection.execute("rollback")
        raise
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
