"""COPY a stream of record batches into a new PostgreSQL table, as CSV.

The CSV is rendered by Arrow and handed to ``copy_expert`` through a file-like
object that pulls one chunk at a time, so only the chunks in flight are in memory.
"""

import contextlib
import io
import logging
import sys
import threading
from collections.abc import Iterable, Iterator

import psycopg2.extensions
import pyarrow as pa
import pyarrow.csv as pa_csv

from loader.load_run import LoadRun
from loader.raw_schema import BATCH_COLUMNS, quote_identifier, vouchers_ddl

log = logging.getLogger(__name__)

# CSV keeps NULL and '' apart: Arrow quotes every string ('' -> "") and writes
# nulls as nothing, which is exactly what PostgreSQL's CSV COPY reads as NULL.
_CSV_OPTIONS = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
# A chunk is one batch of CSV (~12 MB); reading it whole spares a copy.
_COPY_READ_SIZE = 1 << 25


class CopyCancelled(Exception):
    """Raised into a COPY because a sibling COPY of the same load failed."""


def csv_chunks(batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    """Render each text batch as CSV lines in ``BATCH_COLUMNS`` order."""
    for batch in batches:
        sink = pa.BufferOutputStream()
        pa_csv.write_csv(batch, sink, _CSV_OPTIONS)
        yield sink.getvalue().to_pybytes()


def copy_into_new_table(
    connection: psycopg2.extensions.connection,
    table: str,
    chunks: Iterator[bytes],
    run: LoadRun,
    cancelled: threading.Event,
) -> int:
    """Create ``table``, COPY ``chunks`` into it and commit; return the row count.

    Creating the table in the COPY's own transaction lets COPY write the rows
    frozen (``FREEZE``), sparing the first reader the hint-bit writes. Raises
    the exception that ended ``chunks`` (or ``CopyCancelled`` once ``cancelled``
    is set) rather than psycopg2's generic "error in .read() call".
    """
    stream = _CsvStream(chunks, cancelled)
    cursor = connection.cursor()
    try:
        cursor.execute(vouchers_ddl(table))
        # Per-load constants come from column defaults rather than from every
        # CSV line, which would add ~80 bytes per row for COPY to parse.
        constants = {
            "_source_file": run.source_file,
            "_load_id": run.load_id,
            "_loaded_at": run.started_at,
        }
        for column, value in constants.items():
            cursor.execute(
                f"alter table {table} alter column {column} set default %s", [value]
            )
        # The planner skips this child for a query on other loads (constraint
        # exclusion), e.g. dbt's incremental models reading only new loads.
        cursor.execute(f"alter table {table} add check (_load_id = %s)", [run.load_id])
        columns = ", ".join(quote_identifier(name) for name in BATCH_COLUMNS)
        cursor.copy_expert(
            f"copy {table} ({columns}) from stdin with (format csv, freeze)",
            stream,
            size=_COPY_READ_SIZE,
        )
        row_count = cursor.rowcount
        for column in constants:
            cursor.execute(f"alter table {table} alter column {column} drop default")
        connection.commit()
        return row_count
    except psycopg2.Error:
        if stream.failure is not None:
            raise stream.failure from None
        raise


class _CsvStream(io.RawIOBase):
    """A read-only file over chunks of CSV bytes, for ``copy_expert`` to pull."""

    def __init__(self, chunks: Iterator[bytes], cancelled: threading.Event) -> None:
        self._chunks = chunks
        self._cancelled = cancelled
        self._buffer = b""
        self._offset = 0
        self.failure: BaseException | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._offset >= len(self._buffer):
            try:
                if self._cancelled.is_set():
                    raise CopyCancelled
                self._buffer = next(self._chunks)
            except StopIteration:
                return b""
            except BaseException as error:
                # psycopg2 only reports "error in .read() call"; keep the cause.
                self.failure = error
                raise
            self._offset = 0
        if size is None or size < 0:
            size = len(self._buffer) - self._offset
        if self._offset == 0 and size >= len(self._buffer):
            chunk = self._buffer  # the common case: no copy
        else:
            chunk = self._buffer[self._offset : self._offset + size]
        self._offset += len(chunk)
        return chunk


@contextlib.contextmanager
def internal_errors_logged() -> Iterator[None]:
    """Log what psycopg2 prints with ``PyErr_Print`` instead of printing it.

    When the server goes away mid-COPY, psycopg2 prints a chained ``SystemError``
    through ``sys.excepthook`` and then raises a proper ``OperationalError``;
    the print would break the CLI's one-line error contract. The hook is
    process-wide: enter this once, around all COPY threads of a load.
    """
    previous = sys.excepthook

    def log_instead(kind, error, traceback) -> None:  # noqa: ANN001
        log.debug(
            "psycopg2 internal error during COPY",
            extra={"event": "copy_internal_error", "error": repr(error)},
        )

    sys.excepthook = log_instead
    try:
        yield
    finally:
        sys.excepthook = previous
