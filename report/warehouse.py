"""Where the report reads from: the DuckDB file or the PostgreSQL database.

The same environment variables and defaults as `profiles.yml`, so the report
reads the warehouse the last `dbt build` wrote. Each read opens one short
connection, runs every query in it and closes it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loader.errors import ConfigError, first_line
from loader.settings import (
    Target,
    duckdb_settings,
    postgres_settings,
    resolve_target,
)

TARGETS = tuple(target.value for target in Target)

Rows = list[tuple[Any, ...]]


class WarehouseError(Exception):
    """The warehouse could not be read; the message says why."""


@dataclass(frozen=True, slots=True)
class Warehouse:
    """A dbt target and how to reach it."""

    target: str
    duckdb_path: Path
    pg_params: Mapping[str, Any]

    @classmethod
    def from_env(
        cls, target: str | None = None, environ: Mapping[str, str] | None = None
    ) -> Warehouse:
        """The warehouse `target` (else DBT_TARGET, else duckdb) points at.

        Read with the loader's settings, so the report, the loader and dbt
        resolve the same variables to the same defaults.
        """
        env = os.environ if environ is None else environ
        name = (target or env.get("DBT_TARGET") or "").strip().lower() or None
        try:
            resolved = resolve_target(name, env)
            postgres = postgres_settings(env)
        except ConfigError as error:
            raise WarehouseError(str(error)) from None
        return cls(
            target=resolved.value,
            duckdb_path=duckdb_settings(env).path,
            pg_params={
                **postgres.connect_kwargs(),
                "password": postgres.password,
                "application_name": "voucher-report",
            },
        )

    def describe(self) -> str:
        """Where the data came from, for the report's header (no password)."""
        if self.target == "duckdb":
            return f"duckdb:{self.duckdb_path}"
        params = self.pg_params
        return (
            f"postgres://{params['user']}@{params['host']}:{params['port']}"
            f"/{params['dbname']}"
        )

    def query_all(self, queries: Sequence[str]) -> list[Rows]:
        """The rows of each query, all read in one connection."""
        if self.target == "duckdb":
            return self._query_duckdb(queries)
        return self._query_postgres(queries)

    def _query_duckdb(self, queries: Sequence[str]) -> list[Rows]:
        import duckdb

        if not self.duckdb_path.is_file():
            raise WarehouseError(
                f"no DuckDB file at {self.duckdb_path} (run `make pipeline` first)"
            )
        # Read-only and closed at once: an open file, even read-only, stops
        # dbt and the loader from writing it.
        try:
            connection = duckdb.connect(str(self.duckdb_path), read_only=True)
        except duckdb.Error as error:
            raise WarehouseError(first_line(error)) from None
        try:
            return [connection.execute(query).fetchall() for query in queries]
        except duckdb.Error as error:
            raise WarehouseError(first_line(error)) from None
        finally:
            connection.close()

    def _query_postgres(self, queries: Sequence[str]) -> list[Rows]:
        import psycopg2

        params = dict(self.pg_params)
        if not params["password"]:
            del params["password"]
        try:
            connection = psycopg2.connect(**params)
        except psycopg2.Error as error:
            raise WarehouseError(first_line(error)) from None
        try:
            # One snapshot for every query, so the figures all come from one build.
            connection.set_session(isolation_level="REPEATABLE READ", readonly=True)
            with connection.cursor() as cursor:
                results = []
                for query in queries:
                    cursor.execute(query)
                    results.append(cursor.fetchall())
            connection.rollback()
            return results
        except psycopg2.Error as error:
            raise WarehouseError(first_line(error)) from None
        finally:
            connection.close()
