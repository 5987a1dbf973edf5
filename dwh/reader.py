"""Read-only access to the warehouse: the API's snapshots and the report.

A reader runs a list of queries as of one moment and hands back their rows:
on DuckDB it opens the file read-only and closes it straight away (an open
file, even read-only, stops dbt and the loader from writing it); on
PostgreSQL it runs them in one REPEATABLE READ, READ ONLY transaction. Every
failure is a WarehouseError whose ``code`` is a stable reason a service may
show to anyone; the message (with paths, hosts, server text) is for logs.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from dwh.errors import WarehouseError, first_line
from dwh.settings import (
    PostgresSettings,
    Target,
    duckdb_settings,
    postgres_settings,
    serving_target,
)

Rows = tuple[tuple[Any, ...], ...]

# Stable reasons, safe to show to anyone (no host, path or server text).
UNREACHABLE = "warehouse_unreachable"
BUSY = "warehouse_busy"
NOT_PUBLISHED = "nothing_published"
QUERY_FAILED = "warehouse_query_failed"


class ReadFailed(WarehouseError):
    """A read failed; ``code`` says why in a word, the message in detail."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class Reader(Protocol):
    """Runs queries read-only, all of them as of one moment."""

    description: str  # where it reads, for logs only

    def change_token(self) -> Hashable | None:
        """Something cheap that changes when the data may have (None: unknown)."""

    def query_all(self, queries: Sequence[str]) -> list[Rows]:
        """The rows of each query."""


class DuckDBReader:
    """Reads the DuckDB file read-only, holding it open for milliseconds."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.description = f"duckdb:{self.path}"

    def change_token(self) -> Hashable:
        stamps: list[Any] = []
        for path in (self.path, Path(f"{self.path}.wal")):
            try:
                stat = os.stat(path)
            except FileNotFoundError:
                if path == self.path:
                    raise ReadFailed(f"no DuckDB file at {path}", UNREACHABLE) from None
                stamps.append(None)
                continue
            except OSError as error:
                raise ReadFailed(f"cannot stat {path}: {error}", UNREACHABLE) from None
            stamps.append((stat.st_ino, stat.st_size, stat.st_mtime_ns))
        return tuple(stamps)

    def query_all(self, queries: Sequence[str]) -> list[Rows]:
        import duckdb

        if not self.path.is_file():
            raise ReadFailed(f"no DuckDB file at {self.path}", UNREACHABLE)
        try:
            connection = duckdb.connect(str(self.path), read_only=True)
        except duckdb.Error as error:
            text = first_line(error)
            code = BUSY if "lock" in text.lower() else UNREACHABLE
            raise ReadFailed(f"{self.description}: {text}", code) from None
        try:
            return [_rows(connection.execute(query).fetchall()) for query in queries]
        except duckdb.CatalogException as error:
            raise ReadFailed(first_line(error), NOT_PUBLISHED) from None
        except duckdb.Error as error:
            raise ReadFailed(first_line(error), QUERY_FAILED) from None
        finally:
            connection.close()


class PostgresReader:
    """Reads PostgreSQL in one short connection and one read-only transaction."""

    def __init__(
        self,
        settings: PostgresSettings,
        *,
        application_name: str,
        statement_timeout_ms: int = 5000,
        connect_timeout: int = 3,
    ) -> None:
        self._params = {
            **settings.connect_kwargs(application_name=application_name),
            "connect_timeout": connect_timeout,
            "options": f"-c statement_timeout={statement_timeout_ms}",
        }
        self.description = f"postgres:{settings.describe()}"

    def change_token(self) -> None:
        return None  # every check asks the server; it is one cheap query

    def query_all(self, queries: Sequence[str]) -> list[Rows]:
        import psycopg2
        import psycopg2.errors

        try:
            connection = psycopg2.connect(**self._params)
        except psycopg2.Error as error:
            raise ReadFailed(
                f"{self.description}: {first_line(error)}", UNREACHABLE
            ) from None
        try:
            connection.set_session(isolation_level="REPEATABLE READ", readonly=True)
            with connection.cursor() as cursor:
                results = []
                for query in queries:
                    cursor.execute(query)
                    results.append(_rows(cursor.fetchall()))
            connection.rollback()
            return results
        except (
            psycopg2.errors.UndefinedTable,
            psycopg2.errors.InvalidSchemaName,
        ) as error:
            raise ReadFailed(first_line(error), NOT_PUBLISHED) from None
        except psycopg2.Error as error:
            raise ReadFailed(first_line(error), QUERY_FAILED) from None
        finally:
            connection.close()


def reader_for(
    *,
    target: str | None = None,
    environ: Mapping[str, str] | None = None,
    postgres: PostgresSettings | None = None,
    application_name: str = "voucher",
) -> Reader:
    """The reader of the serving warehouse: ``target``, else SERVE_TARGET, else
    DBT_TARGET when it is DuckDB or PostgreSQL, else DuckDB (serving_target).

    ``postgres`` overrides the connection settings (the API's own role).
    """
    resolved = serving_target(target, environ)
    if resolved is Target.DUCKDB:
        return DuckDBReader(duckdb_settings(environ).path)
    return PostgresReader(
        postgres or postgres_settings(environ), application_name=application_name
    )


def _rows(rows: Sequence[Sequence[Any]]) -> Rows:
    return tuple(tuple(row) for row in rows)
