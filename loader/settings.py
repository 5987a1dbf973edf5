"""Which warehouse to load and how to reach it, read from the environment.

The variables are the ones ``profiles.yml`` reads, with the same defaults, so the
loader and dbt always talk to the same warehouse: ``DBT_TARGET`` picks it,
``DUCKDB_PATH`` locates the DuckDB file, the libpq variables (``PGHOST`` ...)
locate PostgreSQL and ``SPARK_WAREHOUSE`` the folder of the local Spark
warehouse (metastore, tables, loads).
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from loader.errors import ConfigError


class Target(StrEnum):
    """A warehouse the loader can write to (the dbt target of the same name)."""

    DUCKDB = "duckdb"
    POSTGRES = "postgres"
    SPARK = "spark"


@dataclass(frozen=True)
class DuckDBSettings:
    """Where the DuckDB database file lives."""

    path: Path


@dataclass(frozen=True)
class SparkSettings:
    """Where the local Spark warehouse keeps its metastore, tables and loads."""

    warehouse: Path

    @property
    def loads_dir(self) -> Path:
        """The folders of the raw loads (external tables behind raw.vouchers)."""
        return self.warehouse / "raw_loads"

    def session_config(self) -> dict[str, str]:
        """SparkSession settings: the server_side_parameters of profiles.yml."""
        return {
            "spark.master": "local[2]",
            "spark.sql.warehouse.dir": str(self.warehouse / "tables"),
            "spark.hadoop.javax.jdo.option.ConnectionURL": (
                f"jdbc:derby:;databaseName={self.warehouse / 'metastore_db'}"
                ";create=true"
            ),
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.shuffle.partitions": "2",
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
        }


@dataclass(frozen=True)
class PostgresSettings:
    """Connection parameters for PostgreSQL."""

    host: str
    port: int
    user: str
    password: str
    database: str

    def connect_kwargs(self, database: str | None = None) -> dict[str, object]:
        """Keyword arguments for ``psycopg2.connect``, optionally for another db."""
        kwargs: dict[str, object] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "dbname": database or self.database,
            "application_name": "voucher-loader",
            "connect_timeout": 10,
        }
        if self.password:
            kwargs["password"] = self.password
        return kwargs

    def describe(self) -> str:
        """``user@host:port/database`` for messages (never the password)."""
        return f"{self.user}@{self.host}:{self.port}/{self.database}"


def resolve_target(
    override: str | None = None, environ: Mapping[str, str] | None = None
) -> Target:
    """The ``--target`` override if given, else ``DBT_TARGET``, else DuckDB."""
    environ = os.environ if environ is None else environ
    name = override or environ.get("DBT_TARGET") or Target.DUCKDB.value
    try:
        return Target(name)
    except ValueError:
        known = ", ".join(target.value for target in Target)
        raise ConfigError(
            f"unknown target {name!r} (expected one of: {known})"
        ) from None


def duckdb_settings(environ: Mapping[str, str] | None = None) -> DuckDBSettings:
    """DuckDB settings; a relative ``DUCKDB_PATH`` is relative to the cwd, as in dbt."""
    environ = os.environ if environ is None else environ
    return DuckDBSettings(
        path=Path(environ.get("DUCKDB_PATH") or "warehouse/voucher.duckdb")
    )


def spark_settings(environ: Mapping[str, str] | None = None) -> SparkSettings:
    """Spark settings; a relative ``SPARK_WAREHOUSE`` is relative to the cwd."""
    environ = os.environ if environ is None else environ
    return SparkSettings(
        warehouse=Path(environ.get("SPARK_WAREHOUSE") or "warehouse/spark")
    )


def postgres_settings(environ: Mapping[str, str] | None = None) -> PostgresSettings:
    """PostgreSQL settings from the libpq variables, with profiles.yml's defaults."""
    environ = os.environ if environ is None else environ
    port_text = environ.get("PGPORT") or "5432"
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(f"PGPORT must be a number, got {port_text!r}") from None
    return PostgresSettings(
        host=environ.get("PGHOST") or "127.0.0.1",
        port=port,
        user=environ.get("PGUSER") or "postgres",
        password=environ.get("PGPASSWORD", ""),
        database=environ.get("PGDATABASE") or "voucher",
    )
