"""Where snapshots come from: the DuckDB file or the PostgreSQL marts.

A source answers two questions: "has anything changed?" (version, cheap) and
"give me all the mart rows" (read). Every failure to reach the warehouse is
raised as WarehouseUnavailable so the caller can keep serving what it has.
"""

from __future__ import annotations

import os
from collections.abc import Hashable
from pathlib import Path
from typing import Any, Protocol

from api.snapshot import MartRows

# Explicit column lists: the order is the contract with MartSnapshot.from_rows.
# The bounds come with the modes (same table, same build), never from the seed
# table marts.segment_definitions, which dbt replaces at another moment.
SELECT_SEGMENT_MODES = """
    select country_code, segment_name, segment_variant, measure, lower_bound,
           upper_bound, voucher_amount, voucher_amount_count,
           segment_voucher_count, built_at
    from marts.voucher_segment_modes
"""
SELECT_COUNTRY_MODES = """
    select country_code, voucher_amount, voucher_amount_count,
           country_voucher_count, built_at
    from marts.voucher_country_modes
"""
SELECT_AMOUNT_COUNTS = """
    select country_code, segment_name, segment_variant, voucher_amount,
           voucher_count, built_at
    from marts.voucher_amount_counts
"""
# What identifies a build in PostgreSQL without reading every row.
SELECT_BUILD_VERSION = """
    select
        (select max(built_at) from marts.voucher_segment_modes),
        (select max(built_at) from marts.voucher_country_modes),
        (select max(built_at) from marts.voucher_amount_counts),
        -- two builds in the same second still differ in their content
        (select count(*) || ':' || coalesce(sum(voucher_amount), 0) || ':'
                || sum(segment_voucher_count) || ':' || sum(lower_bound) || ':'
                || coalesce(sum(upper_bound), 0) || ':' || count(upper_bound)
         from marts.voucher_segment_modes)
"""


class WarehouseUnavailable(Exception):
    """The warehouse could not be read right now; the message says why."""


class MartSource(Protocol):
    """Anything that can hand over the mart rows (the warehouses, test fakes)."""

    description: str

    def version(self) -> Hashable:
        """A cheap token that changes whenever the mart may have changed."""

    def read(self) -> MartRows:
        """All rows of the mart tables, read consistently."""


class DuckDBSource:
    """Reads the DuckDB file read-only, holding it open for milliseconds.

    An open DuckDB file, even read-only, stops dbt from writing it. So the file
    is only opened when its size or mtime changed, and closed straight away.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.description = f"duckdb:{self.path}"

    def version(self) -> Hashable:
        stamps: list[Any] = []
        for path in (self.path, Path(f"{self.path}.wal")):
            try:
                stat = os.stat(path)
            except FileNotFoundError:
                if path == self.path:
                    raise WarehouseUnavailable(
                        f"no DuckDB file at {self.path}"
                    ) from None
                stamps.append(None)
                continue
            except OSError as error:
                raise WarehouseUnavailable(f"cannot stat {path}: {error}") from None
            stamps.append((stat.st_ino, stat.st_size, stat.st_mtime_ns))
        return tuple(stamps)

    def read(self) -> MartRows:
        import duckdb

        try:
            connection = duckdb.connect(str(self.path), read_only=True)
        except duckdb.Error as error:
            raise WarehouseUnavailable(_duckdb_reason(error)) from None
        try:
            return MartRows(
                segment_modes=_fetch(connection, SELECT_SEGMENT_MODES),
                country_modes=_fetch(connection, SELECT_COUNTRY_MODES),
                amount_counts=_fetch(connection, SELECT_AMOUNT_COUNTS),
            )
        except duckdb.Error as error:
            raise WarehouseUnavailable(_duckdb_reason(error)) from None
        finally:
            connection.close()


class PostgresSource:
    """Reads the PostgreSQL marts as the API's own read-only role.

    Each check is one short connection and one REPEATABLE READ, READ ONLY
    transaction, so the three tables are read as of one moment.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        dbname: str,
        user: str,
        password: str = "",
        connect_timeout: int = 3,
    ) -> None:
        self._params = {
            "host": host,
            "port": port,
            "dbname": dbname,
            "user": user,
            "password": password,
            "connect_timeout": connect_timeout,
            "application_name": "voucher-api",
            "options": "-c statement_timeout=5000",
        }
        self.description = f"postgres://{user}@{host}:{port}/{dbname}"

    def version(self) -> Hashable:
        return self._run([SELECT_BUILD_VERSION])[0][0]

    def read(self) -> MartRows:
        segment_modes, country_modes, amount_counts = self._run(
            [SELECT_SEGMENT_MODES, SELECT_COUNTRY_MODES, SELECT_AMOUNT_COUNTS]
        )
        return MartRows(segment_modes, country_modes, amount_counts)

    def _run(self, queries: list[str]) -> list[tuple[tuple[Any, ...], ...]]:
        import psycopg2

        try:
            connection = psycopg2.connect(**self._params)
        except psycopg2.Error as error:
            raise WarehouseUnavailable(_first_line(error)) from None
        try:
            connection.set_session(isolation_level="REPEATABLE READ", readonly=True)
            with connection.cursor() as cursor:
                results = []
                for query in queries:
                    cursor.execute(query)
                    results.append(tuple(tuple(row) for row in cursor.fetchall()))
            connection.rollback()
            return results
        except psycopg2.Error as error:
            raise WarehouseUnavailable(_first_line(error)) from None
        finally:
            connection.close()


def source_for(config) -> MartSource:
    """The source the config (DBT_TARGET and friends) points at."""
    if config.warehouse == "postgres":
        return PostgresSource(
            host=config.pg_host,
            port=config.pg_port,
            dbname=config.pg_database,
            user=config.pg_user,
            password=config.pg_password,
        )
    return DuckDBSource(config.duckdb_path)


def _fetch(connection: Any, query: str) -> tuple[tuple[Any, ...], ...]:
    return tuple(tuple(row) for row in connection.execute(query).fetchall())


def _duckdb_reason(error: Exception) -> str:
    text = _first_line(error)
    if "lock" in text.lower():
        return f"DuckDB file is locked by another process (a dbt build?): {text}"
    return text


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
