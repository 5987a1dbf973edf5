"""A model that gains columns at its end keeps its published history.

The publish step copies each build into serving.<table>__history under its
publish id; when the model gains columns at its end (as voucher_segment_modes
did with the seed's labels), the next publish adds them to the history, where
the builds kept from before hold nulls, and to the view. Any other change of
columns is refused with the way out. Driven through the publish step's own
copy on a table of a few rows, on DuckDB and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dwh.settings import Target, serving_settings
from serving.audit import PublishedRelation
from serving.publish import CURRENT_DDL, NotPublishable, _copy, _point_at, _transaction
from tests.conftest import fresh_postgres_database

RELATION = PublishedRelation(name="modes", build_schema="build", for_api=False)


@pytest.fixture(params=[Target.DUCKDB, Target.POSTGRES])
def warehouse(request, tmp_path: Path):
    if request.param is Target.POSTGRES:
        env = fresh_postgres_database("voucher_test_schema_evolution")
    else:
        path = tmp_path / "warehouse.duckdb"
        import duckdb

        duckdb.connect(str(path)).close()
        env = {"DUCKDB_PATH": str(path)}
    settings = serving_settings({**env, "DBT_TARGET": request.param.value})

    def session():
        return _transaction(request.param, settings, env)

    with session() as s:
        s.run("create schema build")
        s.run("create schema serving")
        s.run(CURRENT_DDL)
    return session


def publish(session, publish_id: int, select: str) -> list[tuple]:
    """Build the table as `select`, publish it as publish_id; the view's rows."""
    with session() as s:
        s.run("drop table if exists build.modes")
        s.run(f"create table build.modes as {select}")
        _copy(s, RELATION, publish_id)
        _point_at(s, publish_id)
    with session() as s:
        return s.rows("select * from serving.modes")


def test_columns_added_at_the_end_join_the_history(warehouse):
    assert publish(warehouse, 1, "select 'a' as variant, 1 as amount") == [("a", 1)]
    later = "select 'a' as variant, 2 as amount, 'A words' as label"
    assert publish(warehouse, 2, later) == [("a", 2, "A words")]
    with warehouse() as s:
        history = s.rows(
            "select publish_id, variant, amount, label from serving.modes__history"
            " order by publish_id"
        )
    assert history == [(1, "a", 1, None), (2, "a", 2, "A words")]
    # Rolling back to the older build shows it with a null label.
    with warehouse() as s:
        _point_at(s, 1)
    with warehouse() as s:
        assert s.rows("select * from serving.modes") == [("a", 1, None)]


def test_any_other_change_of_columns_is_refused_and_says_how(warehouse):
    publish(warehouse, 1, "select 'a' as variant, 1 as amount")
    with pytest.raises(NotPublishable, match="drop schema serving cascade"):
        publish(warehouse, 2, "select 1 as amount, 'a' as variant")
    with warehouse() as s:
        assert s.rows("select * from serving.modes") == [("a", 1)]
