"""The exploratory SQL in analyses/ compiles, runs on the built warehouse and
agrees with the marts the report reads."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml

from tests.conftest import BIN, REPO_ROOT
from tests.report.conftest import COUNTRIES, BuiltReport

ANALYSES = REPO_ROOT / "analyses"


def compile_analyses(built: BuiltReport) -> dict[str, str]:
    """dbt compile the analyses; return name -> compiled SQL."""
    quoted = ", ".join(f'"{country}"' for country in COUNTRIES)
    built.pipeline.run(
        str(BIN / "dbt"), "--no-version-check", "compile",
        "--select", "resource_type:analysis",
        "--vars", f'{{"countries": [{quoted}]}}',
    )  # fmt: skip
    compiled = Path(built.pipeline.env["DBT_TARGET_PATH"], "compiled")
    return {path.stem: path.read_text() for path in compiled.glob("*/analyses/*.sql")}


@pytest.fixture(scope="module")
def results(built: BuiltReport) -> dict[str, list[tuple]]:
    return {name: built.query(sql) for name, sql in compile_analyses(built).items()}


def test_every_analysis_compiles_runs_and_returns_rows(results):
    assert set(results) == {path.stem for path in ANALYSES.glob("*.sql")}
    assert len(results) >= 5
    assert all(rows for rows in results.values())


def test_every_analysis_is_described_and_says_what_it_answers():
    properties = yaml.safe_load((ANALYSES / "_analyses__properties.yml").read_text())
    described = {
        entry["name"]: entry["description"].strip() for entry in properties["analyses"]
    }
    for path in ANALYSES.glob("*.sql"):
        assert described.get(path.stem), f"{path.name} has no description"
        # The first paragraph of the header comment is the question.
        lines = path.read_text().splitlines()
        question = " ".join(
            line.removeprefix("-- ")
            for line in itertools.takewhile(lambda line: line.startswith("-- "), lines)
        )
        assert lines[0].startswith("-- ") and question.endswith("?"), path.name


def test_rows_per_rule_add_up_to_the_cleaning_summary(built, results):
    totals: dict[str, int] = {}
    for _scoped, _country, outcome, count, _share in results["rows_removed_per_rule"]:
        totals[outcome] = totals.get(outcome, 0) + count
    assert totals == dict(
        built.query("select outcome, row_count from marts.cleaning_summary")
    )


def test_rank_one_amounts_are_the_segment_and_country_modes(built, results):
    ranked_first = {
        (country, segment, variant): amount
        for country, segment, variant, amount, _, _, rank, _ in results[
            "voucher_amounts_per_country_and_segment"
        ]
        if rank == 1
    }
    modes = {
        (country, segment, variant): amount
        for country, segment, variant, amount in built.query(
            "select country_code, segment_name, segment_variant, voucher_amount "
            "from marts.voucher_segment_modes where voucher_amount is not null"
        )
    }
    modes |= {
        (country, "all", "all"): amount
        for country, amount in built.query(
            "select country_code, voucher_amount from marts.voucher_country_modes "
            "where voucher_amount is not null"
        )
    }
    assert ranked_first == modes


def test_recency_at_voucher_time_matches_the_histogram_mart(built, results):
    per_variant: dict[tuple, int] = {}
    for country, variant, _today, count, _, _ in results["recency_at_voucher_time"]:
        key = (country, variant)
        per_variant[key] = per_variant.get(key, 0) + count
    assert per_variant == {
        (country, variant): count
        for country, variant, count in built.query(
            "select country_code, segment_variant, sum(voucher_count) "
            "from marts.segment_measure_counts "
            "where segment_name = 'recency_segment' group by 1, 2"
        )
    }


def test_vouchers_dated_before_the_last_order_include_the_anomalies(built, results):
    rows = results["timestamps_shifted_to_2015"]
    (anomalies,) = built.query("select count(*) from marts.voucher_anomalies")[0]
    # The analysis counts every in-scope row, the mart only the kept ones.
    assert 0 < anomalies <= sum(row[5] for row in rows)
    for _country, given_year, last_order_year, *_, before_count, _, _ in rows:
        if before_count:
            assert given_year <= last_order_year
