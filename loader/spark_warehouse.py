"""Replace ``raw.vouchers`` in a Spark warehouse (a local session, Hive metastore).

Spark has no multi-statement transactions, so the swap is a metadata change:

1. the text batches are written by pyarrow as Parquet into a new folder of
   the warehouse (streamed: memory stays bounded whatever the file's size);
2. an external table ``raw._vouchers_loaded_<load id>`` is declared over it;
3. ``raw.vouchers`` is replaced by a view of that table in one metastore
   update, and only then are the previous tables and their files dropped.

Until step 3 every reader sees the previous rows; a bad file or a failure
removes the new folder and leaves them untouched. dbt's staging view reads the
``raw.vouchers`` view by name, so it keeps working across loads.

The session settings are the ones ``profiles.yml`` gives dbt-spark, so both
share one metastore and warehouse folder (one process at a time: the embedded
Derby metastore takes a lock).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Iterable, Iterator
from datetime import UTC
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dwh.settings import SparkSettings
from loader.errors import WarehouseError, first_line
from loader.load_run import LoadRun
from loader.raw_schema import (
    LOAD_LOG_TABLE,
    LOADED_PREFIX,
    RAW_SCHEMA,
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
    "load_id string, target string, source_file string, source_path string,"
    " source_sha256 string, source_size_bytes bigint, row_count bigint,"
    " started_at timestamp, finished_at timestamp, source_origin string"
)


def spark_session(settings: SparkSettings):
    """The local SparkSession over the project's metastore and warehouse."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("voucher-loader").enableHiveSupport()
    for key, value in settings.session_config().items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


@contextlib.contextmanager
def session_over(settings: SparkSettings) -> Iterator:
    """spark_session, stopped on leaving, so that another process (dbt, the
    loader's command line) can open the embedded metastore afterwards."""
    spark = spark_session(settings)
    try:
        yield spark
    finally:
        spark.stop()


def replace_vouchers(
    settings: SparkSettings,
    schema: pa.Schema,
    batches: Iterable[pa.RecordBatch],
    run: LoadRun,
) -> int:
    """Swap the rows of ``batches`` in as ``raw.vouchers``; return the row count.

    An exception raised while iterating ``batches`` propagates unchanged after
    the new folder has been removed.
    """
    table = LOADED_PREFIX + run.staging_suffix
    folder = settings.loads_dir / table
    try:
        row_count = _write_parquet(folder, schema, batches, run)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        spark = spark_session(settings)
    except Exception as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise WarehouseError(f"cannot start Spark: {first_line(error)}") from None
    try:
        _swap_in(spark, settings, table, folder, run, row_count)
    except Exception as error:
        if not _is_current(spark, table):
            with contextlib.suppress(Exception):
                spark.sql(f"drop table if exists {RAW_SCHEMA}.{table}")
            shutil.rmtree(folder, ignore_errors=True)
        raise WarehouseError(f"Spark: {first_line(error)}") from None
    finally:
        spark.stop()
    return row_count


def _write_parquet(
    folder: Path, schema: pa.Schema, batches: Iterable[pa.RecordBatch], run: LoadRun
) -> int:
    folder.mkdir(parents=True, exist_ok=False)
    row_count = 0
    with pq.ParquetWriter(folder / "part-00000.parquet", _VOUCHERS_SCHEMA) as out:
        for batch in _with_load_columns(schema, batches, run):
            out.write_batch(batch)
            row_count += batch.num_rows
    return row_count


def _with_load_columns(
    schema: pa.Schema, batches: Iterable[pa.RecordBatch], run: LoadRun
) -> Iterator[pa.RecordBatch]:
    loaded_at = run.started_at.replace(tzinfo=UTC)
    source_file = pa.scalar(run.source_file, pa.string())
    load_id = pa.scalar(run.load_id, pa.string())
    loaded_at = pa.scalar(loaded_at, pa.timestamp("us", tz="UTC"))
    for batch in batches:
        rows = batch.num_rows
        columns = [batch.column(schema.get_field_index(n)) for n in SOURCE_COLUMNS]
        columns += [
            pa.repeat(source_file, rows),
            batch.column(schema.get_field_index("_source_row_number")),
            pa.repeat(load_id, rows),
            pa.repeat(loaded_at, rows),
        ]
        yield pa.RecordBatch.from_arrays(columns, schema=_VOUCHERS_SCHEMA)


def _swap_in(
    spark, settings: SparkSettings, table: str, folder: Path, run: LoadRun, rows: int
) -> None:
    spark.sql(f"create database if not exists {RAW_SCHEMA}")
    previous = [
        row.tableName
        for row in spark.sql(f"show tables in {RAW_SCHEMA}").collect()
        if row.tableName.startswith(LOADED_PREFIX) and row.tableName != table
    ]
    spark.sql(
        f"create table {RAW_SCHEMA}.{table} using parquet"
        f" location '{folder.resolve().as_uri()}'"
    )
    # The swap: one metastore update. Everything before it can fail harmlessly.
    spark.sql(
        f"create or replace view {RAW_SCHEMA}.{VOUCHERS_TABLE}"
        f" as select * from {RAW_SCHEMA}.{table}"
    )
    for name in previous:
        spark.sql(f"drop table if exists {RAW_SCHEMA}.{name}")
    # Every other folder: the previous loads', and any a killed load left.
    for other in settings.loads_dir.iterdir():
        if other != folder:
            shutil.rmtree(other, ignore_errors=True)
    spark.sql(
        f"create table if not exists {RAW_SCHEMA}.{LOAD_LOG_TABLE}"
        f" ({_LOAD_LOG_COLUMNS}) using parquet"
    )
    if "source_origin" not in spark.table(f"{RAW_SCHEMA}.{LOAD_LOG_TABLE}").columns:
        # A load log written before source_origin existed.
        spark.sql(
            f"alter table {RAW_SCHEMA}.{LOAD_LOG_TABLE}"
            " add columns (source_origin string)"
        )
    spark.createDataFrame(
        [tuple(run.load_log_row("spark", rows))],
        schema=_LOAD_LOG_COLUMNS,
    ).write.insertInto(f"{RAW_SCHEMA}.{LOAD_LOG_TABLE}")


def _is_current(spark, table: str) -> bool:
    """Whether raw.vouchers already reads ``table`` (the swap went through)."""
    try:
        plan = spark.sql(f"show create table {RAW_SCHEMA}.{VOUCHERS_TABLE}")
        return table in plan.collect()[0][0]
    except Exception:
        return False
