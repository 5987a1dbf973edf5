"""`python -m serving summary`: the published build's figures equal the
marts' (read from the build schemas, not serving), on DuckDB."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from dwh.reader import DuckDBReader
from report.marts import CountryMode, DataSource, SegmentMode
from serving.summary import PublishedBuild, Summary, read_summary, render
from tests.conftest import BIN, REPO_ROOT, Pipeline

COUNTRIES = ("Peru", "Latvia")


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Pipeline:
    """A DuckDB warehouse with one published build of two countries."""
    work = tmp_path_factory.mktemp("summary")
    pipeline = Pipeline.on_duckdb(work)
    pipeline.load(pipeline.generate(rows=4000, seed=7))
    pipeline.build(countries=COUNTRIES)
    pipeline.publish()
    return pipeline


@pytest.fixture(scope="module")
def summary(published) -> Summary:
    return read_summary(DuckDBReader(Path(published.env["DUCKDB_PATH"])))


def mart_rows(pipeline: Pipeline, sql: str) -> list[tuple]:
    with duckdb.connect(pipeline.env["DUCKDB_PATH"], read_only=True) as connection:
        return connection.execute(sql).fetchall()


def serving(pipeline: Pipeline, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "python"), "-m", "serving", *args],
        cwd=REPO_ROOT,
        env={**pipeline.env, **env},
        capture_output=True,
        text=True,
    )


def test_the_build_is_the_published_one(published, summary):
    results = Path(published.env["DBT_TARGET_PATH"], "run_results.json")
    invocation = json.loads(results.read_text())["metadata"]["invocation_id"]
    assert (summary.build.publish_id, summary.build.invocation_id) == (1, invocation)


def test_the_row_counts_are_the_marts(published, summary):
    [(loaded,)] = mart_rows(published, "select count(*) from raw.vouchers")
    [(in_scope, kept)] = mart_rows(
        published,
        "select count(*) filter (where is_in_scope), count(*) filter (where is_kept)"
        " from intermediate.int_vouchers_validated",
    )
    assert (summary.rows_loaded, summary.rows_in_scope, summary.rows_kept) == (
        loaded,
        in_scope,
        kept,
    )
    assert 0 < kept < in_scope < loaded
    assert sorted(summary.countries) == sorted(COUNTRIES)


def test_the_answers_are_the_marts(published, summary):
    columns = (
        "country_code, segment_name, segment_variant, voucher_amount,"
        " voucher_amount_count, segment_voucher_count"
    )
    modes = mart_rows(published, f"select {columns} from marts.voucher_segment_modes")
    assert sorted(summary.answers, key=str) == sorted(modes, key=str)
    assert len(modes) == 8 * len(COUNTRIES)
    fallbacks = mart_rows(
        published,
        "select country_code, voucher_amount, voucher_amount_count,"
        " country_voucher_count from marts.voucher_country_modes",
    )
    assert sorted(summary.fallbacks) == sorted(fallbacks)


def test_the_command_prints_each_answer_with_its_share(published, summary):
    result = serving(published, "summary")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        f"Published build #1 (dbt invocation {summary.build.invocation_id})"
    )
    assert (
        f"{summary.rows_loaded:,} loaded, {summary.rows_in_scope:,} in scope"
        in lines[2]
    )
    for answer in summary.answers:
        (row,) = [
            line.split()
            for line in lines
            if line.split()[:3]
            == [answer.country_code, answer.segment_name, answer.segment_variant]
        ]
        if answer.voucher_amount is None:
            assert row[3:5] == ["-", "no"], row
            continue
        share = answer.voucher_amount_count / answer.segment_voucher_count
        assert row[3:] == [
            str(answer.voucher_amount),
            f"{share:.1%}",
            "of",
            f"{answer.segment_voucher_count:,}",
        ]


def test_nothing_published_is_one_line(tmp_path):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    result = subprocess.run(
        [str(BIN / "python"), "-m", "serving", "summary", "--target", "duckdb"],
        cwd=REPO_ROOT,
        env={"DUCKDB_PATH": str(empty), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "serving: error: nothing is published in this warehouse yet: run"
        " `python -m serving publish` after a dbt build that passed"
    ]


def test_a_variant_without_history_names_the_fallback():
    summary = Summary(
        build=PublishedBuild(3, "abc", datetime(2026, 1, 2, 3, 4, 5)),
        data=DataSource("data.parquet", datetime(2026, 1, 2), 10, "file", 1),
        rows_in_scope=8,
        rows_kept=6,
        answers=[
            SegmentMode("Peru", "recency_segment", "30-60", 2640, 4, 6),
            SegmentMode("Peru", "recency_segment", "61-90", None, 0, 0),
        ],
        fallbacks=[CountryMode("Peru", 1760, 3, 6)],
    )
    assert render(summary).splitlines()[2:] == [
        "Rows: 10 loaded, 8 in scope (Peru), 6 kept (75.0% of in scope)",
        "",
        "country  segment          variant  amount  share of the variant's vouchers",
        "Peru     recency_segment  30-60      2640  66.7% of 6",
        "Peru     recency_segment  61-90         -  no history: the API answers the"
        " fallback, 1760",
        "Peru     any (fallback)   -          1760  50.0% of 6",
    ]


def test_a_build_of_several_loads_says_how_many_and_the_newest():
    summary = Summary(
        build=PublishedBuild(4, "abc", datetime(2026, 1, 2, 3, 4, 5)),
        data=DataSource("day-3.parquet", datetime(2026, 1, 3), 30, "synthetic", 3),
        rows_in_scope=8,
        rows_kept=6,
        answers=[],
        fallbacks=[CountryMode("Peru", 1760, 3, 6)],
    )
    assert render(summary).splitlines()[1] == (
        "Data: 3 loads (synthetic demo data), the newest day-3.parquet,"
        " loaded 2026-01-03 00:00:00 UTC"
    )
