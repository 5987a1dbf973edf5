"""SQL on a Spark warehouse, the same statements through a local session
(target spark) or the Thrift server of a cluster (target spark_cluster): what
the loader and the publish step use to talk to Spark."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

from dwh.errors import WarehouseError, first_line
from dwh.settings import SparkSettings


class SparkSql(Protocol):
    """Where the loader's statements run: a local session or a Thrift server."""

    def rows(self, statement: str) -> list[tuple[Any, ...]]:
        """Run one statement; its rows (none for DDL and inserts)."""


class _SessionSql:
    def __init__(self, spark) -> None:
        self._spark = spark

    def rows(self, statement: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._spark.sql(statement).collect()]


class _ThriftSql:
    def __init__(self, connection) -> None:
        self._connection = connection

    def rows(self, statement: str) -> list[tuple[Any, ...]]:
        """As a session gives them: HiveServer2 sends timestamps as text."""
        cursor = self._connection.cursor()
        try:
            cursor.execute(statement)
            if not cursor.description:
                return []
            stamps = [column[1] == "TIMESTAMP_TYPE" for column in cursor.description]
            return [
                tuple(
                    _timestamp(value) if stamp else value
                    for value, stamp in zip(row, stamps, strict=True)
                )
                for row in cursor.fetchall()
            ]
        finally:
            cursor.close()


def _timestamp(value: Any) -> Any:
    """PyHive gives some timestamps as text, some already parsed."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


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


@contextlib.contextmanager
def sql_over(settings: SparkSettings) -> Iterator[SparkSql]:
    """A SparkSql on the warehouse: a connection to its Thrift server when it
    has one, else a local session; closed (stopped) on leaving."""
    if settings.thrift is None:
        with session_over(settings) as spark:
            yield _SessionSql(spark)
        return
    from pyhive import hive

    host, port = settings.thrift
    try:
        connection = hive.connect(host=host, port=port, username="voucher-loader")
    except Exception as error:
        raise WarehouseError(
            f"cannot reach the Spark Thrift server at {host}:{port}"
            f" ({first_line(error)}): start it with `make spark-cluster`"
        ) from None
    try:
        yield _ThriftSql(connection)
    finally:
        connection.close()


def spark_literal(value: object) -> str:
    """A Spark SQL literal: null, a number, a timestamp or a quoted string."""
    if value is None:
        return "null"
    if isinstance(value, datetime):
        return f"timestamp'{value.replace(tzinfo=None).isoformat(sep=' ')}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"
