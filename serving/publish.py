"""Publish a build that passed the audit; roll back to an earlier one.

The serving schema holds, per published table T, ``serving.T__history`` (the
rows of every kept build, keyed by ``publish_id``) and a view ``serving.T``
over the rows of the current build, which ``serving.current_publish`` (one
row) names. ``serving.publish_log`` has one row per published build. So:

- publishing is one transaction: copy each table's rows under a new
  publish_id, log it, point current_publish at it, forget builds past the
  kept number; readers see the previous build until the commit, then the new;
- rollback is one UPDATE of current_publish;
- dbt rebuilding the marts, failing or being killed never touches serving.

Before copying anything the warehouse itself must agree with the audit: the
build in run_results.json is the latest dbt invocation that started here
(``audit.build_starts``, written by the on-run-start hook), and raw has not
changed since that build started (no load, no unload). The loads the build
read are recorded in ``serving.published_loads``.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from dwh.errors import WarehouseError, first_line
from dwh.settings import (
    SERVING_TARGETS,
    PostgresSettings,
    ServingSettings,
    SparkSettings,
    Target,
    api_postgres_settings,
    duckdb_settings,
    postgres_settings,
    spark_settings,
)
from dwh.spark import SparkSql, spark_literal, sql_over
from serving.audit import AuditedBuild, NotPublishable, PublishedRelation
from serving.schema import (
    CURRENT_BUILD_COLUMNS,
    CURRENT_BUILD_DDL,
    CURRENT_BUILD_VIEW,
    CURRENT_DDL,
    CURRENT_TABLE,
    HISTORY_SUFFIX,
    INVOCATIONS_TABLE,
    LOAD_COLUMNS,
    LOAD_LOG_TABLE,
    LOG_TABLE,
    PUBLISH_LOG_DDL,
    PUBLISH_LOG_UPGRADES,
    PUBLISHED_LOADS_DDL,
    PUBLISHED_LOADS_TABLE,
    SCHEMA,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What a publish or a rollback did."""

    publish_id: int
    invocation_id: str
    changed: bool  # False: this build was already the current one
    row_counts: dict[str, int]


class Session(Protocol):
    """One transaction's worth of statements on the serving warehouse."""

    target: Target

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query (``?`` placeholders) and return its rows."""

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run a statement."""

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert many rows into a table."""


def publish(
    build: AuditedBuild,
    target: Target,
    settings: ServingSettings,
    environ=None,
    built_on: Target | None = None,
) -> PublishResult:
    """Make ``build`` what the API serves, in one transaction of the serving
    warehouse ``target``. A build dbt ran on Spark (``built_on``) is checked
    there and its tables copied over (the marts are a few hundred rows; the
    data-quality tables grow with the history: 45,000 rows at 1M)."""
    built_on = built_on or target
    if built_on in SERVING_TARGETS:
        with _transaction(target, settings, environ) as session:
            _prepare(session)
            started = _check_invocation(session, build)
            loads = _check_raw_loads(session, started)
            result = _publish_into(
                session, build, settings, environ, started, loads,
                functools.partial(_copy, session),
            )  # fmt: skip
    else:
        fetched = _fetch_spark_build(build, spark_settings(environ, built_on))
        with _transaction(target, settings, environ, create=True) as session:
            _prepare(session)
            result = _publish_into(
                session, build, settings, environ, fetched.started, fetched.loads,
                lambda relation, publish_id: _copy_fetched(
                    session, relation, fetched.tables[relation.name], publish_id
                ),
            )  # fmt: skip
    if result.changed:
        log.info(
            "build published",
            extra={
                "event": "published",
                "publish_id": result.publish_id,
                "invocation_id": result.invocation_id,
                "row_counts": result.row_counts,
            },
        )
    return result


def _publish_into(
    session: Session,
    build: AuditedBuild,
    settings: ServingSettings,
    environ,
    started: dict[str, Any],
    loads: list[tuple[Any, ...]],
    copy: Callable[[PublishedRelation, int], int],
) -> PublishResult:
    """The serving side of a publish, inside its transaction: copy each table
    under a new publish id, log it, point current_publish at it."""
    current = _current(session)
    if current is not None and current[1] == build.invocation_id:
        return PublishResult(current[0], build.invocation_id, False, {})
    publish_id = session.rows(
        f"select coalesce(max(publish_id), 0) + 1 from {LOG_TABLE}"
    )[0][0]
    row_counts = {
        relation.name: copy(relation, publish_id) for relation in build.relations
    }
    now = _utc_now()
    entry = {
        "publish_id": publish_id,
        "invocation_id": build.invocation_id,
        "dbt_version": build.dbt_version,
        "build_target": build.adapter_type,
        "dbt_vars": json.dumps(build.vars, sort_keys=True),
        "built_at": started["started_at"],
        "build_finished_at": _naive_utc(build.finished_at),
        "published_at": now,
        **_load_columns(loads),
        "row_counts": json.dumps(row_counts, sort_keys=True),
        "models_passed": build.passed.get("model", 0),
        "seeds_passed": build.passed.get("seed", 0),
        "snapshots_passed": build.passed.get("snapshot", 0),
        "data_tests_passed": build.passed.get("test", 0),
        "unit_tests_passed": build.passed.get("unit_test", 0),
        "warnings": build.warnings,
    }
    session.run(
        f"insert into {LOG_TABLE} ({', '.join(entry)})"
        f" values ({', '.join(['?'] * len(entry))})",
        list(entry.values()),
    )
    for load in loads:
        session.run(
            f"insert into {PUBLISHED_LOADS_TABLE} values (?, ?, ?, ?, ?, ?)",
            [publish_id, *load[:5]],
        )
    _point_at(session, publish_id)
    _forget_old_builds(session, build.relations, settings.keep_builds, now)
    if session.target is Target.POSTGRES:
        _grant_api(session, build.relations, environ)
    return PublishResult(publish_id, build.invocation_id, True, row_counts)


@dataclass(frozen=True)
class _FetchedTable:
    """A table of a Spark build, read whole: its columns, their types in the
    serving warehouse, its rows."""

    columns: list[str]
    types: dict[str, str]
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True)
class _FetchedBuild:
    started: dict[str, Any]
    loads: list[tuple[Any, ...]]
    tables: dict[str, _FetchedTable]


def _fetch_spark_build(build: AuditedBuild, spark: SparkSettings) -> _FetchedBuild:
    """Check a Spark build where it ran (the latest invocation there, raw
    unchanged since it started) and read the tables to publish; checked again
    after reading, so no later build can have rewritten them meanwhile."""
    try:
        with sql_over(spark) as sql:
            session = _SparkSession(sql)
            started = _check_invocation(session, build)
            loads = _check_raw_loads(session, started)
            tables = {
                relation.name: _fetch_table(sql, relation)
                for relation in build.relations
            }
            _check_raw_loads(session, _check_invocation(session, build))
    except (NotPublishable, WarehouseError):
        raise
    except Exception as error:
        raise WarehouseError(f"Spark: {first_line(error)}") from None
    return _FetchedBuild(started, loads, tables)


# Spark's column types as the serving warehouses (DuckDB, PostgreSQL) spell
# them; decimal(p,s) is the same in all three.
_SERVING_TYPES = {
    "string": "varchar",
    "bigint": "bigint",
    "int": "integer",
    "smallint": "smallint",
    "double": "double precision",
    "float": "real",
    "boolean": "boolean",
    "timestamp": "timestamp",
    "timestamp_ntz": "timestamp",
    "date": "date",
}


def _fetch_table(sql: SparkSql, relation: PublishedRelation) -> _FetchedTable:
    table = f"{relation.build_schema}.{relation.name}"
    columns: list[str] = []
    types: dict[str, str] = {}
    # describe lists the columns, then "# Partition Information" and so on.
    for name, kind, *_ in sql.rows(f"describe {table}"):
        if not name or name.startswith("#"):
            break
        if name in types:
            continue
        columns.append(name)
        types[name] = (
            kind if kind.startswith("decimal") else _SERVING_TYPES.get(kind, "")
        )
        if not types[name]:
            raise NotPublishable(
                f"{table}.{name} has a type serving cannot hold: {kind}"
            )
    selected = ", ".join(f"`{name}`" for name in columns)
    return _FetchedTable(columns, types, sql.rows(f"select {selected} from {table}"))


class _SparkSession:
    """The build-side checks' queries, run on Spark (``?`` inlined as literals)."""

    target = Target.SPARK

    def __init__(self, sql: SparkSql) -> None:
        self._sql = sql

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        parts = sql.split("?")
        if len(parts) != len(params) + 1:
            raise ValueError(f"{len(params)} parameters for {sql!r}")
        inlined = parts[0] + "".join(
            spark_literal(value) + part
            for value, part in zip(params, parts[1:], strict=True)
        )
        return self._sql.rows(inlined)

    def exists(self, qualified: str) -> bool:
        schema, table = qualified.split(".")
        try:
            return table in {
                row[1] for row in self._sql.rows(f"show tables in {schema}")
            }
        except Exception:  # no such database
            return False


def rollback(target: Target, settings: ServingSettings, environ=None) -> PublishResult:
    """Serve the newest kept build published before the current one."""
    with _transaction(target, settings, environ) as session:
        _prepare(session)
        current = _current(session)
        if current is None:
            raise NotPublishable("nothing is published yet: nothing to roll back")
        previous = session.rows(
            f"select publish_id, invocation_id from {LOG_TABLE}"
            " where publish_id < ? and discarded_at is null"
            " order by publish_id desc limit 1",
            [current[0]],
        )
        if not previous:
            raise NotPublishable(
                f"no build published before #{current[0]} is kept: nothing to roll"
                " back to"
            )
        publish_id, invocation_id = previous[0]
        session.run(
            f"update {LOG_TABLE} set rolled_back_at = ? where publish_id = ?",
            [_utc_now(), current[0]],
        )
        _point_at(session, publish_id)
    log.info(
        "rolled back",
        extra={"event": "rolled_back", "from": current[0], "to": publish_id},
    )
    return PublishResult(publish_id, invocation_id, True, {})


def history(target: Target, settings: ServingSettings, environ=None) -> list[dict]:
    """The publish log, newest first, with which build is current."""
    with _transaction(target, settings, environ) as session:
        _prepare(session)
        current = _current(session)
        columns = [
            "publish_id",
            "invocation_id",
            "built_at",
            "published_at",
            "source_file",
            "row_counts",
            "warnings",
            "rolled_back_at",
            "discarded_at",
        ]
        rows = session.rows(
            f"select {', '.join(columns)} from {LOG_TABLE} order by publish_id desc"
        )
    return [
        {
            **dict(zip(columns, row, strict=True)),
            "current": current is not None and row[0] == current[0],
        }
        for row in rows
    ]


def _prepare(session: Session) -> None:
    session.run(f"create schema if not exists {SCHEMA}")
    session.run(PUBLISH_LOG_DDL)
    for upgrade in PUBLISH_LOG_UPGRADES:
        session.run(upgrade)
    session.run(PUBLISHED_LOADS_DDL)
    session.run(CURRENT_DDL)
    if _columns(session, *CURRENT_BUILD_VIEW.split(".")) != list(CURRENT_BUILD_COLUMNS):
        session.run(CURRENT_BUILD_DDL)


def _check_invocation(session: Session, build: AuditedBuild) -> dict[str, Any]:
    """The build's row of audit.build_starts; it must be the latest one."""
    if not _exists(session, INVOCATIONS_TABLE):
        raise NotPublishable(
            f"this warehouse has no {INVOCATIONS_TABLE}: the build in"
            " run_results.json did not run here"
        )
    rows = session.rows(
        f"select invocation_id, command, started_at, raw_changed_at"
        f" from {INVOCATIONS_TABLE} order by started_at desc limit 1"
    )
    fields = ("invocation_id", "command", "started_at", "raw_changed_at")
    latest = dict(zip(fields, rows[0], strict=True))
    if latest["invocation_id"] != build.invocation_id:
        known = session.rows(
            f"select count(*) from {INVOCATIONS_TABLE} where invocation_id = ?",
            [build.invocation_id],
        )[0][0]
        if not known:
            raise NotPublishable(
                f"build {build.invocation_id} did not run on this warehouse"
                " (check DBT_TARGET and the target folder)"
            )
        raise NotPublishable(
            f"`dbt {latest['command']}` {latest['invocation_id']} started after"
            f" build {build.invocation_id} (at {latest['started_at']:%H:%M:%S})"
            " and did not finish as a passing build: its tables may be half"
            " written; run `dbt build` again"
        )
    return latest


def _check_raw_loads(
    session: Session, started: dict[str, Any]
) -> list[tuple[Any, ...]]:
    """The loads raw holds, which must be the ones the build read (raw has not
    changed since it started): load id, file, SHA-256, rows, loaded at and
    origin of each, oldest first."""
    rows = session.rows(
        f"select load_id, source_file, source_sha256, row_count, finished_at,"
        f" coalesce(source_origin, 'file') from {LOAD_LOG_TABLE}"
        " where unloaded_at is null order by finished_at, load_id"
    )
    if not rows or started["raw_changed_at"] is None:
        raise NotPublishable("raw holds no load: load a file and build first")
    (changed_at,) = session.rows(
        f"select max(coalesce(unloaded_at, finished_at)) from {LOAD_LOG_TABLE}"
    )[0]
    if changed_at != started["raw_changed_at"]:
        raise NotPublishable(
            f"raw changed during or after the build (a load or an unload at"
            f" {changed_at:%Y-%m-%d %H:%M:%S}; newest load {rows[-1][0]},"
            f" {rows[-1][1]}); run `dbt build` again"
        )
    return rows


def _load_columns(loads: list[tuple[Any, ...]]) -> dict[str, Any]:
    """The publish log's LOAD_COLUMNS: the newest load, and all loads' rows."""
    newest = loads[-1]
    values = (
        newest[0],
        newest[1],
        newest[2],
        sum(load[3] for load in loads),
        newest[4],
        newest[5],
        len(loads),
    )
    return dict(zip(LOAD_COLUMNS, values, strict=True))


def _current(session: Session) -> tuple[int, str] | None:
    rows = session.rows(
        f"select current_publish.publish_id, published.invocation_id"
        f" from {CURRENT_TABLE} as current_publish"
        f" inner join {LOG_TABLE} as published"
        " on published.publish_id = current_publish.publish_id"
    )
    return (int(rows[0][0]), rows[0][1]) if rows else None


def _copy(session: Session, relation: PublishedRelation, publish_id: int) -> int:
    """Copy the build's rows of one table under publish_id; return how many."""
    source = f"{_ident(relation.build_schema)}.{_ident(relation.name)}"
    history_table = f"{SCHEMA}.{_ident(relation.name + HISTORY_SUFFIX)}"
    columns = _columns(session, relation.build_schema, relation.name)
    if not columns:
        raise NotPublishable(f"the build has no table {source}")
    selected = ", ".join(_ident(column) for column in columns)
    kept = _history_columns(session, relation)
    if not _history_ready(
        session, relation, kept, columns, lambda: _types(session, relation)
    ):
        session.run(
            f"create table {history_table} as"
            f" select cast(0 as bigint) as publish_id, * from {source} where 1 = 0"
        )
        _create_view(session, relation, history_table, selected)
    session.run(
        f"insert into {history_table} (publish_id, {selected})"
        f" select ?, {selected} from {source}",
        [publish_id],
    )
    return int(
        session.rows(
            f"select count(*) from {history_table} where publish_id = ?", [publish_id]
        )[0][0]
    )


def _copy_fetched(
    session: Session, relation: PublishedRelation, table: _FetchedTable, publish_id: int
) -> int:
    """Insert the rows of a table read from Spark under publish_id."""
    history_table = f"{SCHEMA}.{_ident(relation.name + HISTORY_SUFFIX)}"
    kept = _history_columns(session, relation)
    table = _in_history_order(kept, table)
    if not _history_ready(session, relation, kept, table.columns, lambda: table.types):
        columns = ", ".join(
            f"{_ident(name)} {table.types[name]}" for name in table.columns
        )
        session.run(f"create table {history_table} (publish_id bigint, {columns})")
        selected = ", ".join(_ident(column) for column in table.columns)
        _create_view(session, relation, history_table, selected)
    session.insert_rows(
        history_table,
        ["publish_id", *table.columns],
        [(publish_id, *row) for row in table.rows],
    )
    return len(table.rows)


def _history_columns(session: Session, relation: PublishedRelation) -> list[str] | None:
    """The published history's columns after publish_id; None without one."""
    if not _exists(session, f"{SCHEMA}.{relation.name + HISTORY_SUFFIX}"):
        return None
    return _columns(session, SCHEMA, relation.name + HISTORY_SUFFIX)[1:]


def _in_history_order(kept: list[str] | None, table: _FetchedTable) -> _FetchedTable:
    """The table's columns in the published history's order, new ones after:
    Spark puts a partition column (load_id) last, where DuckDB and
    PostgreSQL keep it where the model selects it."""
    if kept is None or not set(kept) <= set(table.columns):
        return table  # _history_ready refuses it, naming both
    order = kept + [name for name in table.columns if name not in kept]
    positions = [table.columns.index(name) for name in order]
    rows = [tuple(row[i] for i in positions) for row in table.rows]
    return _FetchedTable(order, table.types, rows)


def _history_ready(
    session: Session,
    relation: PublishedRelation,
    kept: list[str] | None,
    columns: list[str],
    types: Callable[[], Mapping[str, str]],
) -> bool:
    """Whether the table's published history exists (its columns ``kept``,
    from _history_columns); if it does, the build's columns must start with
    the history's, and columns added at the end join it (the builds kept from
    before have nulls there) and the view."""
    if kept is None:
        return False
    history_table = f"{SCHEMA}.{_ident(relation.name + HISTORY_SUFFIX)}"
    if columns[: len(kept)] != kept:
        raise NotPublishable(
            f"{relation.build_schema}.{relation.name} has columns"
            f" ({', '.join(columns)}) but the published history has"
            f" ({', '.join(kept)}): a schema change other than columns added at"
            f" the end needs a new serving schema (drop schema {SCHEMA} cascade,"
            " then publish)"
        )
    if len(columns) > len(kept):
        _add_columns(session, relation, history_table, columns[len(kept) :], types())
        selected = ", ".join(_ident(column) for column in columns)
        _create_view(session, relation, history_table, selected)
    return True


def _types(session: Session, relation: PublishedRelation) -> dict[str, str]:
    """The build table's column types, as its warehouse names them."""
    return dict(
        session.rows(
            "select column_name, data_type from information_schema.columns"
            " where table_schema = ? and table_name = ?",
            [relation.build_schema, relation.name],
        )
    )


def _create_view(
    session: Session, relation: PublishedRelation, history_table: str, selected: str
) -> None:
    """The view of the current build's rows; `or replace` keeps its grants
    (PostgreSQL lets a replaced view gain columns at its end)."""
    session.run(
        f"create or replace view {SCHEMA}.{_ident(relation.name)} as"
        f" select {selected} from {history_table}"
        f" where publish_id = (select publish_id from {CURRENT_TABLE})"
    )


def _add_columns(
    session: Session,
    relation: PublishedRelation,
    history_table: str,
    added: Sequence[str],
    types: Mapping[str, str],
) -> None:
    for column in added:
        session.run(
            f"alter table {history_table} add column {_ident(column)} {types[column]}"
        )
    log.info(
        "serving history gained columns",
        extra={"event": "columns_added", "table": relation.name, "columns": added},
    )


def _point_at(session: Session, publish_id: int) -> None:
    session.run(f"delete from {CURRENT_TABLE}")
    session.run(f"insert into {CURRENT_TABLE} values (?)", [publish_id])


def _forget_old_builds(
    session: Session,
    relations: Sequence[PublishedRelation],
    keep: int,
    now: datetime,
) -> None:
    """Delete the rows of all but the newest `keep` builds (the current one kept)."""
    kept = [
        row[0]
        for row in session.rows(
            f"select publish_id from {LOG_TABLE} where discarded_at is null"
            " order by publish_id desc limit ?",
            [keep],
        )
    ]
    marks = ", ".join(["?"] * len(kept))
    for relation in relations:
        session.run(
            f"delete from {SCHEMA}.{_ident(relation.name + HISTORY_SUFFIX)}"
            f" where publish_id not in ({marks})",
            kept,
        )
    session.run(
        f"update {LOG_TABLE} set discarded_at = ?"
        f" where discarded_at is null and publish_id not in ({marks})",
        [now, *kept],
    )


def _grant_api(
    session: Session, relations: Sequence[PublishedRelation], environ
) -> None:
    """PostgreSQL: the API's role reads the API's serving views, nothing else.

    CONNECT and TEMPORARY on the database are taken from PUBLIC, so only the
    roles granted here (and the owner) can connect; the role may not read the
    build schemas (rejected_vouchers holds raw text) nor create temp tables.
    """
    role = api_postgres_settings(environ)
    quoted = _ident(role.user)
    # Roles belong to the server, not the database: a publish into another
    # database may create it concurrently (its CREATE then wins, ours waits
    # for it and raises unique_violation, which is no error here).
    session.run(
        f"do $$ begin create role {quoted} login; exception"
        " when duplicate_object or unique_violation then null; end $$"
    )
    if role.password:
        session.run(f"alter role {quoted} password ?", [role.password])
    database = _ident(session.rows("select current_database()")[0][0])
    session.run(f"revoke all on database {database} from public")
    session.run(f"revoke temporary on database {database} from {quoted}")
    session.run(f"grant connect on database {database} to {quoted}")
    for schema in ("marts", "intermediate", "staging", "raw", "audit"):
        if session.rows("select 1 from pg_namespace where nspname = ?", [schema]):
            session.run(f"revoke all on all tables in schema {schema} from {quoted}")
            session.run(f"revoke all on schema {schema} from {quoted}")
            session.run(
                f"alter default privileges in schema {schema}"
                f" revoke all on tables from {quoted}"
            )
    session.run(f"revoke all on all tables in schema {SCHEMA} from {quoted}")
    session.run(f"grant usage on schema {SCHEMA} to {quoted}")
    readable = [CURRENT_BUILD_VIEW] + [
        f"{SCHEMA}.{_ident(relation.name)}"
        for relation in relations
        if relation.for_api
    ]
    session.run(f"grant select on {', '.join(readable)} to {quoted}")


def _columns(session: Session, schema: str, table: str) -> list[str]:
    return [
        row[0]
        for row in session.rows(
            "select column_name from information_schema.columns"
            " where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        )
    ]


def _exists(session: Session, qualified: str) -> bool:
    if isinstance(session, _SparkSession):
        return session.exists(qualified)
    schema, table = qualified.split(".")
    return bool(
        session.rows(
            "select 1 from information_schema.tables"
            " where table_schema = ? and table_name = ?",
            [schema, table],
        )
    )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


@contextmanager
def _transaction(
    target: Target, settings: ServingSettings, environ, create: bool = False
) -> Iterator[Session]:
    """A transaction on the serving warehouse; ``create``: a DuckDB file that
    does not exist yet is created (a Spark build served from DuckDB)."""
    if target is Target.DUCKDB:
        path = duckdb_settings(environ).path
        with _duckdb_transaction(path, create) as session:
            yield session
    elif target is Target.POSTGRES:
        with _postgres_transaction(postgres_settings(environ), settings) as session:
            yield session
    else:
        raise WarehouseError(
            f"{target.value} is not a serving warehouse: publish into DuckDB or"
            " PostgreSQL"
        )


class _DuckDBSession:
    target = Target.DUCKDB

    def __init__(self, connection) -> None:
        self._connection = connection

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._connection.execute(sql, list(params)).fetchall()

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._connection.execute(sql, list(params))

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        if not rows:
            return
        # Through an Arrow table: executemany takes about 0.4 ms a row.
        import pyarrow as pa

        incoming = pa.table(
            {f"c{i}": [row[i] for row in rows] for i in range(len(columns))}
        )
        self._connection.register("incoming_rows", incoming)
        try:
            self._connection.execute(
                f"insert into {table} ({', '.join(map(_ident, columns))})"
                f" select * from incoming_rows"
            )
        finally:
            self._connection.unregister("incoming_rows")


class _PostgresSession:
    target = Target.POSTGRES

    def __init__(self, cursor) -> None:
        self._cursor = cursor

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._cursor.execute(sql.replace("?", "%s"), list(params))
        return self._cursor.fetchall()

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cursor.execute(sql.replace("?", "%s"), list(params))

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        from psycopg2.extras import execute_values

        execute_values(
            self._cursor,
            f"insert into {table} ({', '.join(map(_ident, columns))}) values %s",
            rows,
            page_size=1000,
        )


@contextmanager
def _duckdb_transaction(path, create: bool = False) -> Iterator[Session]:
    import duckdb

    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.is_file():
        raise NotPublishable(f"no DuckDB file at {path}: load and build first")
    try:
        connection = duckdb.connect(str(path))
    except duckdb.Error as error:
        raise WarehouseError(f"cannot open {path}: {first_line(error)}") from None
    try:
        connection.execute("begin transaction")
        yield _DuckDBSession(connection)
        connection.execute("commit")
    except duckdb.Error as error:
        raise WarehouseError(f"DuckDB {path}: {first_line(error)}") from None
    finally:
        connection.close()  # an uncommitted transaction is rolled back


# Publishes on one database wait for each other (pg_advisory_xact_lock).
_PUBLISH_LOCK = 7_305_117


@contextmanager
def _postgres_transaction(
    postgres: PostgresSettings, settings: ServingSettings
) -> Iterator[Session]:
    import psycopg2

    try:
        connection = psycopg2.connect(
            **postgres.connect_kwargs(application_name="voucher-publish")
        )
    except psycopg2.Error as error:
        raise WarehouseError(
            f"PostgreSQL {postgres.describe()}: {first_line(error)}"
        ) from None
    try:
        with connection.cursor() as cursor:
            cursor.execute("set local lock_timeout = %s", [settings.lock_timeout])
            cursor.execute("select pg_advisory_xact_lock(%s)", [_PUBLISH_LOCK])
            yield _PostgresSession(cursor)
        connection.commit()
    except psycopg2.errors.LockNotAvailable:
        raise WarehouseError(
            f"PostgreSQL {postgres.describe()}: waited {settings.lock_timeout}"
            " (VOUCHER_LOCK_TIMEOUT) for a lock held by another session; nothing"
            " was published"
        ) from None
    except psycopg2.Error as error:
        raise WarehouseError(
            f"PostgreSQL {postgres.describe()}: {first_line(error)}"
        ) from None
    finally:
        connection.close()
