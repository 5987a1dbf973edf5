"""A growing history on Spark: the incremental models overwrite one load's
partition, and the marts equal DuckDB's from the same loads.

A file of its own so that ``make test``'s two processes (pytest-xdist,
``--dist loadfile``) can run it beside tests/pipeline/test_history.py.
"""

from pathlib import Path

import pytest

from tests.conftest import Pipeline
from tests.pipeline.marts import ROWS, assert_same_marts, marts


@pytest.mark.spark
def test_spark_appends_and_unloads_incrementally(
    spark_pipeline: Pipeline, tmp_path: Path
) -> None:
    """On Spark the incremental models overwrite one load's partition: an
    unloaded load's partition is dropped, an appended load adds its own. The
    marts equal DuckDB's from the same loads (whose incremental path equals
    its full refresh, above)."""
    first = spark_pipeline.generate(ROWS, seed=21, name="day-1")
    second = spark_pipeline.generate(ROWS // 2, seed=22, name="day-2")
    reference = Pipeline.on_duckdb(tmp_path / "duckdb")
    reference.work_dir.mkdir()
    reference.load(first)
    reference.build()
    first_only = marts(reference)
    reference.load(second)
    reference.build()
    both = marts(reference)

    spark_pipeline.load(first, second)
    spark_pipeline.build()
    spark_pipeline.unload("day-2.parquet")
    spark_pipeline.build()
    assert_same_marts(marts(spark_pipeline), first_only)
    spark_pipeline.load(second)
    spark_pipeline.build()
    assert_same_marts(marts(spark_pipeline), both)
