"""Which warehouse to use and how to reach it, read from the environment.

Every variable the product reads, with its default, is in ENV_DEFAULTS and
nowhere else in Python. ``profiles.yml`` and the dbt macros read the same
variables with the same defaults (tests/dwh/test_settings.py checks it), so the
loader, dbt, the publish step, the API and the report always talk to the same
warehouse: ``DBT_TARGET`` picks it, ``DUCKDB_PATH`` locates the DuckDB file, the
libpq variables (``PGHOST`` ...) locate PostgreSQL and ``SPARK_WAREHOUSE`` the
folder of the local Spark warehouse (metastore, tables, loads). The API, the
report and the publish step read ``SERVE_TARGET`` instead (serving_target):
a Spark build is published into DuckDB or PostgreSQL.
"""

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from dwh.errors import ConfigError

ENV_DEFAULTS: dict[str, str] = {
    "DBT_TARGET": "duckdb",
    # The warehouse the API serves from and builds are published into
    # (duckdb or postgres); empty: DBT_TARGET when it is one of them, else
    # duckdb (a Spark build is published into the embedded default).
    "SERVE_TARGET": "",
    "DUCKDB_PATH": "warehouse/voucher.duckdb",
    "SPARK_WAREHOUSE": "warehouse/spark",
    # The local Spark cluster (make spark-cluster, target spark_cluster): its
    # pids, logs and work folders; the warehouse folder every node and the
    # loader share (on a real cluster: object storage or HDFS); the Thrift
    # server dbt and the loader talk to; its Hive metastore's database, on
    # the PostgreSQL above.
    "SPARK_CLUSTER_DIR": "build/spark",
    "SPARK_CLUSTER_WAREHOUSE": "build/spark/warehouse",
    "SPARK_THRIFT_HOST": "127.0.0.1",
    "SPARK_THRIFT_PORT": "10000",
    "SPARK_METASTORE_DB": "spark_metastore",
    "PGHOST": "127.0.0.1",
    "PGPORT": "5432",
    "PGUSER": "postgres",
    "PGPASSWORD": "",
    "PGDATABASE": "voucher",
    # The role the API reads the serving schema as (SELECT on it only).
    "VOUCHER_API_PGUSER": "voucher_api",
    "VOUCHER_API_PGPASSWORD": "",
    # How long a build or a publish waits for a lock a reader holds before it
    # fails (PostgreSQL): long enough for the API's millisecond reads.
    "VOUCHER_LOCK_TIMEOUT": "10s",
    # Published builds kept in the serving schema, the current one included,
    # so that `rollback` has somewhere to go back to.
    "VOUCHER_KEEP_BUILDS": "3",
    # Where dbt writes run_results.json and manifest.json (dbt's own default).
    "DBT_TARGET_PATH": "target",
}


def setting(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The variable's value, or its default when unset or empty."""
    environ = os.environ if environ is None else environ
    return environ.get(name) or ENV_DEFAULTS[name]


class Target(StrEnum):
    """A warehouse the loader can write to (the dbt target of the same name)."""

    DUCKDB = "duckdb"
    POSTGRES = "postgres"
    SPARK = "spark"
    SPARK_CLUSTER = "spark_cluster"


# The warehouses the publish step can serve from (the API and the report read
# them); a Spark build is published into one of them.
SERVING_TARGETS = (Target.DUCKDB, Target.POSTGRES)


@dataclass(frozen=True)
class DuckDBSettings:
    """Where the DuckDB database file lives."""

    path: Path


@dataclass(frozen=True)
class SparkSettings:
    """Where a Spark warehouse keeps its tables and loads, and how to reach
    it: a local session over its own metastore (target spark), or the Thrift
    server of a cluster (target spark_cluster) whose nodes share the folder."""

    warehouse: Path
    # (host, port) of the cluster's Thrift server; None: a local session.
    thrift: tuple[str, int] | None = None

    @property
    def target(self) -> Target:
        return Target.SPARK if self.thrift is None else Target.SPARK_CLUSTER

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

    def connect_kwargs(
        self, database: str | None = None, *, application_name: str = "voucher"
    ) -> dict[str, object]:
        """Keyword arguments for ``psycopg2.connect``, optionally for another db."""
        kwargs: dict[str, object] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "dbname": database or self.database,
            "application_name": application_name,
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
    name = override or setting("DBT_TARGET", environ)
    try:
        return Target(name)
    except ValueError:
        known = ", ".join(target.value for target in Target)
        raise ConfigError(
            f"unknown target {name!r} (expected one of: {known})"
        ) from None


def duckdb_settings(environ: Mapping[str, str] | None = None) -> DuckDBSettings:
    """DuckDB settings; a relative ``DUCKDB_PATH`` is relative to the cwd, as in dbt."""
    return DuckDBSettings(path=Path(setting("DUCKDB_PATH", environ)))


def spark_settings(
    environ: Mapping[str, str] | None = None, target: Target = Target.SPARK
) -> SparkSettings:
    """Spark settings of the local session (``SPARK_WAREHOUSE``) or of the
    cluster (``SPARK_CLUSTER_WAREHOUSE``, ``SPARK_THRIFT_HOST``/``_PORT``); a
    relative folder is relative to the cwd."""
    if target is Target.SPARK_CLUSTER:
        return SparkSettings(
            warehouse=Path(setting("SPARK_CLUSTER_WAREHOUSE", environ)),
            thrift=(
                setting("SPARK_THRIFT_HOST", environ),
                _number("SPARK_THRIFT_PORT", environ),
            ),
        )
    return SparkSettings(warehouse=Path(setting("SPARK_WAREHOUSE", environ)))


def serving_target(
    override: str | None = None, environ: Mapping[str, str] | None = None
) -> Target:
    """The warehouse the API serves from and the publish step publishes into:
    the ``--target`` override, else ``SERVE_TARGET``, else ``DBT_TARGET`` when
    it is a serving warehouse, else DuckDB (a Spark build is published into
    the embedded default unless told otherwise)."""
    environ = os.environ if environ is None else environ
    chosen = override or setting("SERVE_TARGET", environ)
    if chosen:
        names = [serving.value for serving in SERVING_TARGETS]
        if chosen not in names:
            raise ConfigError(
                f"SERVE_TARGET={chosen} is not a serving warehouse: serve from"
                f" {' or '.join(names)}"
            )
        return Target(chosen)
    built = resolve_target(None, environ)
    return built if built in SERVING_TARGETS else Target.DUCKDB


def postgres_settings(environ: Mapping[str, str] | None = None) -> PostgresSettings:
    """PostgreSQL settings from the libpq variables, with profiles.yml's defaults."""
    return PostgresSettings(
        host=setting("PGHOST", environ),
        port=_number("PGPORT", environ),
        user=setting("PGUSER", environ),
        password=setting("PGPASSWORD", environ),
        database=setting("PGDATABASE", environ),
    )


def api_postgres_settings(
    environ: Mapping[str, str] | None = None,
) -> PostgresSettings:
    """PostgreSQL settings of the API's read-only role, on the same database."""
    return dataclasses.replace(
        postgres_settings(environ),
        user=setting("VOUCHER_API_PGUSER", environ),
        password=setting("VOUCHER_API_PGPASSWORD", environ),
    )


@dataclass(frozen=True)
class ServingSettings:
    """How the publish step keeps published builds (see serving/)."""

    keep_builds: int
    lock_timeout: str  # a PostgreSQL duration such as '10s' or '500ms'
    dbt_target_path: Path  # where run_results.json and manifest.json are


_DURATION = re.compile(r"\d+(ms|s|min)?")


def serving_settings(environ: Mapping[str, str] | None = None) -> ServingSettings:
    """Publish settings: builds kept, lock timeout, dbt's artifacts folder."""
    keep = _number("VOUCHER_KEEP_BUILDS", environ)
    if keep < 2:
        raise ConfigError(
            f"VOUCHER_KEEP_BUILDS must be at least 2 (one to serve, one to roll"
            f" back to), got {keep}"
        )
    timeout = setting("VOUCHER_LOCK_TIMEOUT", environ).strip()
    if not _DURATION.fullmatch(timeout):
        raise ConfigError(
            f"VOUCHER_LOCK_TIMEOUT must be a duration like 10s or 500ms,"
            f" got {timeout!r}"
        )
    return ServingSettings(
        keep_builds=keep,
        lock_timeout=timeout,
        dbt_target_path=Path(setting("DBT_TARGET_PATH", environ)),
    )


def _number(name: str, environ: Mapping[str, str] | None) -> int:
    text = setting(name, environ)
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {text!r}") from None
