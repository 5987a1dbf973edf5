"""Load one Parquet file into the active warehouse's ``raw`` schema."""

import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from dwh.settings import (
    Target,
    duckdb_settings,
    postgres_settings,
    spark_settings,
)
from loader import duckdb_warehouse, postgres_warehouse, spark_warehouse
from loader.load_run import LoadRun
from loader.parquet_source import (
    TEXT_BATCH_SCHEMA,
    open_source,
    sha256_of,
    text_batches,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadResult:
    """What a finished load did."""

    load_id: str
    target: Target
    source_file: str
    row_count: int
    seconds: float
    ignored_columns: tuple[str, ...]

    @property
    def rows_per_second(self) -> float:
        """Throughput of the whole load, validation included."""
        return self.row_count / self.seconds if self.seconds > 0 else 0.0


def load_file(
    path: Path,
    target: Target,
    environ: Mapping[str, str] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> LoadResult:
    """Validate ``path``, then replace ``raw.vouchers`` in ``target`` with it.

    Connection settings come from ``environ`` (default: the process environment).
    ``on_progress`` is called with the rows sent so far and the file's total. Raises
    ``SourceError`` for a bad file (before the warehouse is touched) and
    ``WarehouseError`` when the warehouse fails; either way the previous
    ``raw.vouchers`` is left as it was.
    """
    started = time.perf_counter()
    write = _writer_for(target, environ)
    source = open_source(path)
    run = LoadRun(
        source_file=source.name,
        source_path=str(path.resolve()),
        source_sha256=sha256_of(path),
        source_size_bytes=source.size_bytes,
        source_origin=source.origin,
    )
    log.info(
        "load started",
        extra={
            "event": "load_started",
            "load_id": run.load_id,
            "target": target.value,
            "source": run.source_path,
            "rows": source.row_count,
        },
    )
    row_count = write(
        _reporting(text_batches(source), source.row_count, on_progress), run
    )
    result = LoadResult(
        load_id=run.load_id,
        target=target,
        source_file=source.name,
        row_count=row_count,
        seconds=time.perf_counter() - started,
        ignored_columns=source.ignored_columns,
    )
    log.info(
        "load finished",
        extra={
            "event": "load_finished",
            "load_id": run.load_id,
            "rows": row_count,
            "seconds": round(result.seconds, 3),
        },
    )
    return result


def _writer_for(
    target: Target, environ: Mapping[str, str] | None
) -> Callable[[Iterable[pa.RecordBatch], LoadRun], int]:
    """The warehouse's ``replace_vouchers``, its settings read (and checked) now."""
    if target is Target.DUCKDB:
        return functools.partial(
            duckdb_warehouse.replace_vouchers,
            duckdb_settings(environ),
            TEXT_BATCH_SCHEMA,
        )
    if target is Target.SPARK:
        return functools.partial(
            spark_warehouse.replace_vouchers,
            spark_settings(environ),
            TEXT_BATCH_SCHEMA,
        )
    return functools.partial(
        postgres_warehouse.replace_vouchers, postgres_settings(environ)
    )


def _reporting(
    batches: Iterable[pa.RecordBatch],
    total: int,
    on_progress: Callable[[int, int], None] | None,
) -> Iterator[pa.RecordBatch]:
    rows = 0
    for batch in batches:
        yield batch
        # Counted once the warehouse asks for the next batch, i.e. has this one.
        rows += batch.num_rows
        if on_progress is not None:
            on_progress(rows, total)
