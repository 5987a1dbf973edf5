"""A growing history on Spark: the incremental models overwrite one load's
partition, and the marts equal DuckDB's from the same loads.

A file of its own so that ``make test``'s two processes (pytest-xdist,
``--dist loadfile``) can run it beside tests/pipeline/test_history.py.
"""

from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import Pipeline
from tests.pipeline.marts import ROWS, assert_same_marts, marts

# Seeds and models only. The data and unit tests run on Spark in
# test_spark_cluster.py's build; here they would be about 40 % of each Spark
# build's time (98 s against 57 s, measured), and the marts are compared
# whole anyway.
MODELS_ONLY = ("--exclude-resource-type", "test", "unit_test")


@pytest.mark.spark
def test_spark_appends_and_unloads_incrementally(
    spark_pipeline: Pipeline, tmp_path: Path
) -> None:
    """On Spark the incremental models overwrite one load's partition: in one
    build an appended load adds its own and an unloaded load's is dropped.
    The marts equal DuckDB's from the same loads (whose incremental path
    equals its full refresh: tests/pipeline/test_history.py). Two Spark
    builds: each is about a minute of JVM and per-node overhead."""
    first = spark_pipeline.generate(ROWS, seed=21, name="day-1")
    second = spark_pipeline.generate(ROWS // 2, seed=22, name="day-2")
    reference = Pipeline.on_duckdb(tmp_path / "duckdb")
    reference.work_dir.mkdir()
    expected = build_first_then_swap(reference, first, second)
    actual = build_first_then_swap(spark_pipeline, first, second)
    for marts_of_spark, marts_of_duckdb in zip(actual, expected, strict=True):
        assert_same_marts(marts_of_spark, marts_of_duckdb)


def build_first_then_swap(
    pipeline: Pipeline, first: Path, second: Path
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """The marts of ``first`` alone, then of ``second`` alone after one
    build that appends it and unloads ``first``.

    ``load --replace`` withdraws ``first`` and appends ``second`` in one
    loader run (a Spark session fewer than a load and an unload)."""
    pipeline.load(first)
    pipeline.build(flags=MODELS_ONLY)
    first_only = marts(pipeline)
    pipeline.load(second, replace=True)
    pipeline.build(flags=MODELS_ONLY)
    return first_only, marts(pipeline)
