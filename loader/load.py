"""Load Parquet files into the active warehouse's ``raw`` schema, or withdraw one."""

import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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
from loader.plan import (
    Applied,
    BatchesOf,
    CurrentLoad,
    LoadPlan,
    PendingLoad,
    plan_loads,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadResult:
    """What a finished load invocation did."""

    target: Target
    applied: Applied
    seconds: float

    @property
    def row_count(self) -> int:
        """Rows written by this invocation, all files together."""
        return sum(done.row_count for done in self.applied.written)

    @property
    def load_id(self) -> str:
        """The load id of the one file written (for a single-file load)."""
        (done,) = self.applied.written
        return done.pending.run.load_id

    @property
    def load_ids(self) -> list[str]:
        """The load ids written, in file order."""
        return [done.pending.run.load_id for done in self.applied.written]

    @property
    def rows_per_second(self) -> float:
        """Throughput of the whole invocation, validation included."""
        return self.row_count / self.seconds if self.seconds > 0 else 0.0


def load_paths(
    paths: Sequence[str | Path],
    target: Target,
    *,
    replace: bool = False,
    environ: Mapping[str, str] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> LoadResult:
    """Load the files ``paths`` name (files, folders, globs) into ``target``.

    Each new file is appended as its own load; a file whose SHA-256 a current
    load has is skipped; with ``replace`` raw becomes exactly these files. All
    in one commit. Connection settings come from ``environ`` (default: the
    process environment). ``on_progress`` is called with the rows sent so far
    and the total of the files written. Raises ``SourceError`` for a bad file
    (before the warehouse is touched, or, for damage found while reading, with
    nothing committed) and ``WarehouseError`` when the warehouse fails; either
    way raw is left as it was.
    """
    started = time.perf_counter()
    warehouse = _warehouse(target, environ)
    progress = _Progress(on_progress)
    plan = plan_loads(paths, replace, on_chosen=progress.expect)

    def batches_of(pending: PendingLoad) -> Iterator[pa.RecordBatch]:
        log.info(
            "load started",
            extra={
                "event": "load_started",
                "load_id": pending.run.load_id,
                "target": target.value,
                "source": pending.run.source_path,
                "rows": pending.source.row_count,
            },
        )
        return progress.reporting(pending.batches())

    applied = warehouse.apply_plan(plan, batches_of)
    result = LoadResult(target, applied, time.perf_counter() - started)
    for done in applied.written:
        log.info(
            "load finished",
            extra={
                "event": "load_finished",
                "load_id": done.pending.run.load_id,
                "rows": done.row_count,
            },
        )
    return result


def current_loads(
    target: Target, environ: Mapping[str, str] | None = None
) -> list[CurrentLoad]:
    """The loads whose rows raw.vouchers holds, oldest first."""
    return _warehouse(target, environ).current_loads()


def unload(
    selector: str, target: Target, environ: Mapping[str, str] | None = None
) -> CurrentLoad:
    """Withdraw the current load named by its load id or file name, atomically."""
    withdrawn = _warehouse(target, environ).unload(selector)
    log.info(
        "load withdrawn",
        extra={"event": "unloaded", "load_id": withdrawn.load_id},
    )
    return withdrawn


@dataclass(frozen=True)
class _Warehouse:
    """One warehouse module's operations, its settings read (and checked)."""

    apply_plan: Callable[[LoadPlan, BatchesOf], Applied]
    current_loads: Callable[[], list[CurrentLoad]]
    unload: Callable[[str], CurrentLoad]


def _warehouse(target: Target, environ: Mapping[str, str] | None) -> _Warehouse:
    if target is Target.DUCKDB:
        module, settings = duckdb_warehouse, duckdb_settings(environ)
    elif target in (Target.SPARK, Target.SPARK_CLUSTER):
        module, settings = spark_warehouse, spark_settings(environ, target)
    else:
        module, settings = postgres_warehouse, postgres_settings(environ)
    return _Warehouse(
        functools.partial(module.apply_plan, settings),
        functools.partial(module.current_loads, settings),
        functools.partial(module.unload, settings),
    )


class _Progress:
    """Rows sent so far out of the rows of the files chosen to be written."""

    def __init__(self, on_progress: Callable[[int, int], None] | None) -> None:
        self._on_progress = on_progress
        self._sent = 0
        self._total = 0

    def expect(self, chosen: Sequence[PendingLoad]) -> None:
        """The files the warehouse will write (skipped ones are not counted)."""
        self._total = sum(pending.source.row_count for pending in chosen)

    def reporting(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield batch
            # Counted once the warehouse asks for the next batch, i.e. has this one.
            self._sent += batch.num_rows
            if self._on_progress is not None:
                self._on_progress(self._sent, self._total)
