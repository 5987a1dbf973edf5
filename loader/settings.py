"""Which warehouse to load and how to reach it, read from the environment.

The variables are the ones ``profiles.yml`` reads, with the same defaults, so the
loader and dbt always talk to the same warehouse: ``DBT_TARGET`` picks it,
``DUCKDB_PATH`` locates the DuckDB file and the libpq variables (``PGHOST`` ...)
locate PostgreSQL.
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


@dataclass(frozen=True)
class DuckDBSettings:
    """Where the DuckDB database file lives."""

    path: Path


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
