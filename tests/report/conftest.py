"""One real warehouse and one report for the whole suite.

The warehouse is built the way a user builds it (synthetic Parquet, the
loader, dbt build) with the Pipeline of tests/conftest.py, and the report
is written by `python -m report` itself. Tests then compare the HTML with
the marts, read here with their own SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import BIN, Pipeline
from tests.report.page import Page

# Two countries with data and one without any (every variant without
# history, no country-wide mode, and a name with a space).
COUNTRIES = ("Peru", "China", "New Zealand")
# A country without rows fails the build unless told it is expected: here it
# is, so the build warns (naming it) and still publishes.
EMPTY_COUNTRY_SEVERITY = "warn"


@dataclass(frozen=True)
class BuiltReport:
    """A built warehouse and the report written from it."""

    pipeline: Pipeline
    parquet: Path
    warehouse: Path
    out: Path
    html: str
    page: Page
    query: Callable[[str], list[tuple[Any, ...]]]


def run_report(pipeline: Pipeline, out: Path, *args: str) -> str:
    """Run `python -m report` as a user would; return the HTML it wrote."""
    pipeline.run(str(BIN / "python"), "-m", "report", "--out", str(out), *args)
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="package")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltReport:
    work = tmp_path_factory.mktemp("report")
    pipeline = Pipeline.on_duckdb(work)
    warehouse = Path(pipeline.env["DUCKDB_PATH"])
    parquet = pipeline.generate(rows=20000, seed=7)
    pipeline.load(parquet)
    pipeline.build(COUNTRIES, country_without_rows_severity=EMPTY_COUNTRY_SEVERITY)
    pipeline.publish()
    out = work / "site" / "index.html"
    html = run_report(pipeline, out)

    def query(sql: str) -> list[tuple[Any, ...]]:
        connection = duckdb.connect(str(warehouse), read_only=True)
        try:
            return connection.execute(sql).fetchall()
        finally:
            connection.close()

    return BuiltReport(pipeline, parquet, warehouse, out, html, Page(html), query)
