"""Loading into the local Spark warehouse: exact text, one load kept, atomicity.

Each test starts its own warehouse under tmp_path; the loader runs in this
process (one JVM for the whole module), so nothing else opens the warehouse's
embedded metastore at the same time.
"""

from pathlib import Path

import pytest

from dwh.settings import Target, spark_settings
from loader.errors import SourceError
from loader.load import load_paths, unload
from tests.conftest import require_spark, spark_rows
from tests.loader.helpers import SAMPLE_TEXT, corrupt_last_row_group

pytestmark = pytest.mark.spark

SOURCE_TEXT = (
    "select `timestamp`, country_code, last_order_ts, first_order_ts,"
    " total_orders, voucher_amount from raw.vouchers order by _source_row_number"
)


@pytest.fixture
def spark_env(tmp_path: Path) -> dict[str, str]:
    require_spark()
    return {"SPARK_WAREHOUSE": str(tmp_path / "spark")}


def loaded_tables(env: dict[str, str]) -> list[str]:
    rows = spark_rows(env, "show tables in raw")
    return sorted(name for _, name, _ in rows if name.startswith("_vouchers_"))


def test_a_load_keeps_every_value_as_text_with_its_metadata(spark_env, sample_file):
    result = load_paths([sample_file], Target.SPARK, environ=spark_env, replace=True)

    assert spark_rows(spark_env, SOURCE_TEXT) == SAMPLE_TEXT
    assert spark_rows(
        spark_env, "select distinct _load_id, _source_file from raw.vouchers"
    ) == [(result.load_id, "sample.parquet")]
    assert spark_rows(
        spark_env, "select load_id, target, row_count from raw.load_log"
    ) == [(result.load_id, "spark", len(SAMPLE_TEXT))]


def test_a_new_load_replaces_the_previous_one_and_all_other_files(
    spark_env, sample_file, other_file
):
    first = load_paths([other_file], Target.SPARK, environ=spark_env, replace=True)
    # What a load killed while writing leaves: a folder and no table.
    (spark_settings(spark_env).loads_dir / "_vouchers_loaded_killed").mkdir()
    second = load_paths([sample_file], Target.SPARK, environ=spark_env, replace=True)

    assert spark_rows(spark_env, SOURCE_TEXT) == SAMPLE_TEXT
    suffix = second.load_id.replace("-", "")
    assert loaded_tables(spark_env) == [f"_vouchers_loaded_{suffix}"]
    # The replaced load's files stay until the next load, for a query still
    # reading them; the killed load's folder has gone.
    loads = spark_settings(spark_env).loads_dir
    assert sorted(folder.name for folder in loads.iterdir()) == sorted(
        f"_vouchers_loaded_{load.load_id.replace('-', '')}" for load in (first, second)
    )
    logged = spark_rows(spark_env, "select load_id from raw.load_log")
    assert sorted(logged) == sorted([(first.load_id,), (second.load_id,)])


def test_a_broken_file_keeps_the_previous_load(spark_env, tmp_path, sample_file):
    previous = load_paths([sample_file], Target.SPARK, environ=spark_env, replace=True)
    broken = corrupt_last_row_group(tmp_path)

    with pytest.raises(SourceError):
        load_paths([broken], Target.SPARK, environ=spark_env, replace=True)

    assert spark_rows(spark_env, SOURCE_TEXT) == SAMPLE_TEXT
    suffix = previous.load_id.replace("-", "")
    assert loaded_tables(spark_env) == [f"_vouchers_loaded_{suffix}"]
    loads = spark_settings(spark_env).loads_dir
    assert [folder.name for folder in loads.iterdir()] == [f"_vouchers_loaded_{suffix}"]
    assert spark_rows(spark_env, "select count(*) from raw.load_log") == [(1,)]


def test_appends_skips_and_unloads_with_one_view_swap_each(
    spark_env, tmp_path, sample_file, other_file
):
    first = load_paths([other_file], Target.SPARK, environ=spark_env)
    second = load_paths([sample_file, other_file], Target.SPARK, environ=spark_env)
    # The known file is skipped; the new one is appended beside the first.
    assert [skip.path for skip in second.applied.skipped] == [other_file.resolve()]
    counts = spark_rows(
        spark_env,
        "select _source_file, count(*) from raw.vouchers group by _source_file",
    )
    assert sorted(counts) == [("previous.parquet", 25), ("sample.parquet", 7)]

    withdrawn = unload("previous.parquet", Target.SPARK, spark_env)
    assert withdrawn.load_id == first.load_id
    assert spark_rows(spark_env, SOURCE_TEXT) == SAMPLE_TEXT
    suffix = second.load_id.replace("-", "")
    assert loaded_tables(spark_env) == [f"_vouchers_loaded_{suffix}"]
    log = spark_rows(spark_env, "select load_id, unloaded_at is null from raw.load_log")
    assert sorted(log) == sorted([(first.load_id, False), (second.load_id, True)])

    # A broken file among several: none of them is loaded.
    broken = corrupt_last_row_group(tmp_path)
    with pytest.raises(SourceError):
        load_paths([other_file, broken], Target.SPARK, environ=spark_env)
    assert spark_rows(spark_env, SOURCE_TEXT) == SAMPLE_TEXT
    assert loaded_tables(spark_env) == [f"_vouchers_loaded_{suffix}"]

    # The last load withdrawn: raw.vouchers is empty, not missing.
    unload(second.load_id, Target.SPARK, spark_env)
    assert spark_rows(spark_env, "select count(*) from raw.vouchers") == [(0,)]
