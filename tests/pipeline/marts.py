"""Every mart the API and the report read, compared whole between builds
(tests/pipeline/test_history.py and test_spark_history.py)."""

import pandas as pd

from tests.conftest import Pipeline

ROWS = 6_000
# Every mart the API and the report read, by its key.
MARTS = {
    "voucher_segment_modes": ["country_code", "segment_name", "segment_variant"],
    "voucher_country_modes": ["country_code"],
    "voucher_amount_counts": [
        "country_code", "segment_name", "segment_variant", "voucher_amount",
    ],
    "cleaning_summary": ["outcome", "is_in_scope"],
    "segment_measure_counts": [
        "country_code", "segment_name", "measure_value", "segment_variant",
    ],
}  # fmt: skip


def marts(pipeline: Pipeline) -> dict[str, pd.DataFrame]:
    """Every mart, sorted by its key, without the build time."""
    frames = {}
    tables = pipeline.frames([f"select * from marts.{table}" for table in MARTS])
    for (table, key), frame in zip(MARTS.items(), tables, strict=True):
        frame = frame.drop(columns=["built_at"], errors="ignore")
        frames[table] = frame.sort_values(key, na_position="first").reset_index(
            drop=True
        )
    return frames


def assert_same_marts(
    actual: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame]
) -> None:
    for table in MARTS:
        pd.testing.assert_frame_equal(
            actual[table], expected[table], check_dtype=False, obj=table
        )
