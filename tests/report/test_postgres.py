"""The same report from PostgreSQL: the same figures as from DuckDB, and the
analyses compile and run there too."""

from __future__ import annotations

from pathlib import Path

import psycopg2
import pytest

from tests.conftest import BIN, Pipeline, fresh_postgres_database
from tests.report.conftest import (
    COUNTRIES,
    EMPTY_COUNTRY_SEVERITY,
    BuiltReport,
    run_report,
)
from tests.report.page import Page

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def postgres(built: BuiltReport, tmp_path_factory) -> Pipeline:
    """The DuckDB suite's Parquet file, loaded and built in PostgreSQL."""
    work = tmp_path_factory.mktemp("report-postgres")
    pipeline = Pipeline(
        "postgres", fresh_postgres_database("voucher_test_report"), work
    )
    pipeline.load(built.parquet)
    pipeline.build(COUNTRIES, country_without_rows_severity=EMPTY_COUNTRY_SEVERITY)
    pipeline.publish()
    return pipeline


def test_postgres_report_shows_the_same_figures(built: BuiltReport, postgres):
    out = Path(postgres.env["DBT_TARGET_PATH"]).parent / "site" / "index.html"
    html = run_report(postgres, out, "--target", "postgres")
    page = Page(html)

    def comparable(tables: dict[str, list[list[str]]]) -> dict:
        # Builds differ in when they ran, nothing else.
        summary = [row for row in tables["summary-figures"] if row[0] != "Built at"]
        return {**tables, "summary-figures": summary}

    assert "postgres:postgres@" in html
    assert len(page.tables) >= 15
    assert comparable(page.tables) == comparable(built.page.tables)


def test_analyses_compile_and_run_on_postgres(postgres):
    quoted = ", ".join(f'"{country}"' for country in COUNTRIES)
    postgres.run(
        str(BIN / "dbt"), "--no-version-check", "compile",
        "--select", "resource_type:analysis",
        "--vars", f'{{"countries": [{quoted}]}}',
    )  # fmt: skip
    compiled = sorted(
        Path(postgres.env["DBT_TARGET_PATH"], "compiled").glob("*/analyses/*.sql")
    )
    assert len(compiled) >= 5
    connection = psycopg2.connect(
        host=postgres.env["PGHOST"],
        port=postgres.env["PGPORT"],
        user=postgres.env["PGUSER"],
        password=postgres.env["PGPASSWORD"] or None,
        dbname=postgres.env["PGDATABASE"],
    )
    try:
        with connection.cursor() as cursor:
            for path in compiled:
                cursor.execute(path.read_text())
                assert cursor.fetchall(), path.name
    finally:
        connection.close()
