"""The build's guards against silent drift and emptiness, run as a user runs
them (``python -m loader`` then ``dbt build``):

- a country of var ``countries`` without kept rows fails the build, naming it;
- a cleaning rule rejecting more than ``max_rejected_percent_per_rule`` of a
  country's rows fails it, past ``warn_rejected_percent_per_rule`` it warns;
- ``marts.voucher_segment_modes`` holds exactly one row per country and
  variant of the seed;
- the real file and the demo data build cleanly with the defaults.
"""

import json
import subprocess
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from loader.synthetic import VOUCHER_SCHEMA, generate
from tests.conftest import BIN, REPO_ROOT, Pipeline

ALL_COUNTRIES = ("Peru", "China", "Latvia", "Australia")
UNKNOWN_COUNTRY_MESSAGE = (
    "country 'Atlantis' in var countries has no rows in int_vouchers_segmented"
)
SHARE_TEST = "no_rule_rejects_too_many_rows_per_country"


def dbt(pipeline: Pipeline, *args: str, **dbt_vars) -> subprocess.CompletedProcess:
    """Run dbt with ``--vars``; unlike ``Pipeline.run``, a failure is returned
    to the test, which asserts on the exit code and the output."""
    return subprocess.run(
        [str(BIN / "dbt"), "--no-version-check", *args, "--vars", json.dumps(dbt_vars)],
        cwd=REPO_ROOT,
        env={**pipeline.env, "DBT_USE_COLORS": "false"},
        capture_output=True,
        text=True,
    )


def build(pipeline: Pipeline, countries=ALL_COUNTRIES, **dbt_vars):
    return dbt(pipeline, "build", countries=list(countries), **dbt_vars)


@pytest.fixture(scope="module")
def small_file(tmp_path_factory) -> Path:
    """2,000 synthetic rows with all four countries and the usual dirt."""
    out = tmp_path_factory.mktemp("guards") / "vouchers.parquet"
    generate(out, rows=2000, seed=5)
    return out


def peru_file(out: Path, rows: int, not_whole_orders: int) -> Path:
    """``rows`` clean Peru vouchers of which the first ``not_whole_orders``
    have total_orders '2.5': that one rule rejects exactly their share."""
    orders = ["2.5"] * not_whole_orders + ["4.0"] * (rows - not_whole_orders)
    table = pa.table(
        {
            "timestamp": ["2018-06-10 13:00:00"] * rows,
            "country_code": ["Peru"] * rows,
            "last_order_ts": ["2018-05-01"] * rows,
            "first_order_ts": [datetime(2018, 1, 2)] * rows,
            "total_orders": orders,
            "voucher_amount": [2640.0] * rows,
        },
        schema=VOUCHER_SCHEMA,
    )
    pq.write_table(table, out)
    return out


def output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


def assert_clean(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, output(result)[-4000:]
    assert " WARN=0 ERROR=0 SKIP=0 " in result.stdout, result.stdout[-4000:]
    for guard in (
        "every_country_in_var_has_kept_rows",
        SHARE_TEST,
        "assert_segment_modes_cover_every_variant",
    ):
        assert f"PASS {guard} " in result.stdout


def assert_fails_naming_atlantis(pipeline: Pipeline, small_file: Path) -> None:
    pipeline.load(small_file)
    result = build(pipeline, ["Peru", "Atlantis"])
    assert result.returncode != 0
    assert UNKNOWN_COUNTRY_MESSAGE in result.stdout
    assert "'Peru'" not in result.stdout
    # The marts are skipped, not built with empty Atlantis rows.
    assert "SKIP relation marts.voucher_segment_modes" in result.stdout


def test_an_unknown_country_fails_the_build_naming_it(duckdb_pipeline, small_file):
    assert_fails_naming_atlantis(duckdb_pipeline, small_file)


@pytest.mark.postgres
def test_an_unknown_country_fails_the_postgres_build(postgres_pipeline, small_file):
    assert_fails_naming_atlantis(postgres_pipeline, small_file)


def test_a_country_without_kept_rows_fails_the_build(duckdb_pipeline, tmp_path):
    # Every row rejected by one rule: present in the data, none kept. (That
    # rule's share is allowed here: failing, its test would skip the models
    # downstream of int_vouchers_validated, and with them this test.)
    duckdb_pipeline.load(peru_file(tmp_path / "v.parquet", 40, 40))
    result = build(
        duckdb_pipeline,
        ["Peru"],
        warn_rejected_percent_per_rule=100,
        max_rejected_percent_per_rule=100,
    )
    assert result.returncode != 0
    assert (
        "country 'Peru' in var countries has no rows in int_vouchers_segmented"
    ) in result.stdout


def test_a_country_without_rows_only_warns_when_asked(duckdb_pipeline, small_file):
    duckdb_pipeline.load(small_file)
    result = build(
        duckdb_pipeline, ["Peru", "Atlantis"], country_without_rows_severity="warn"
    )
    assert result.returncode == 0, output(result)[-4000:]
    assert UNKNOWN_COUNTRY_MESSAGE in result.stdout
    assert "WARN 1 every_country_in_var_has_kept_rows" in result.stdout


@pytest.mark.parametrize(
    ("not_whole_orders", "returncode", "status"),
    [
        (21, 0, "WARN 21"),  # above warn_rejected_percent_per_rule (20)
        (25, 0, "WARN 25"),  # at max_rejected_percent_per_rule: allowed
        (26, 1, "FAIL 26"),
    ],
)
def test_a_rule_rejecting_too_many_rows_warns_then_fails(
    duckdb_pipeline, tmp_path, not_whole_orders, returncode, status
):
    duckdb_pipeline.load(peru_file(tmp_path / "v.parquet", 100, not_whole_orders))
    result = build(duckdb_pipeline, ["Peru"])
    assert result.returncode == returncode, output(result)[-4000:]
    assert f"{status} {SHARE_TEST} " in result.stdout
    assert (
        "country_code Peru, rejection_reason total_orders_not_whole_number:"
        f" {not_whole_orders} % of 100 rows (warn_if >20)"
    ) in result.stdout


def test_the_thresholds_are_vars(duckdb_pipeline, small_file):
    """Synthetic data rejects ~12 % per country (orders_dated_but_total_zero)."""
    duckdb_pipeline.load(small_file)
    result = build(
        duckdb_pipeline,
        warn_rejected_percent_per_rule=5,
        max_rejected_percent_per_rule=10,
    )
    assert result.returncode != 0
    assert "configured to fail if >10" in result.stdout
    assert "rejection_reason orders_dated_but_total_zero" in result.stdout


def test_a_missing_or_duplicated_variant_fails(duckdb_pipeline, small_file):
    duckdb_pipeline.load(small_file)
    assert_clean(build(duckdb_pipeline))
    with duckdb.connect(duckdb_pipeline.env["DUCKDB_PATH"]) as con:
        con.sql(
            "delete from marts.voucher_segment_modes"
            " where country_code = 'Latvia' and segment_variant = '5-13'"
        )
        con.sql(
            "insert into marts.voucher_segment_modes"
            " select * from marts.voucher_segment_modes"
            " where country_code = 'Peru' and segment_variant = '180+'"
        )
    result = dbt(
        duckdb_pipeline,
        "test",
        "--select",
        "assert_segment_modes_cover_every_variant",
        countries=list(ALL_COUNTRIES),
    )
    assert result.returncode != 0
    assert "FAIL 2 assert_segment_modes_cover_every_variant" in result.stdout


@pytest.mark.shared_data
def test_the_real_file_builds_cleanly(duckdb_pipeline, shared_data_file):
    duckdb_pipeline.load(shared_data_file)
    assert_clean(build(duckdb_pipeline))


def test_the_demo_data_builds_cleanly(duckdb_pipeline, tmp_path):
    # The `make run` demo data: 200,000 rows, seed 42.
    demo = tmp_path / "demo.parquet"
    generate(demo, rows=200_000, seed=42)
    duckdb_pipeline.load(demo)
    assert_clean(build(duckdb_pipeline))
