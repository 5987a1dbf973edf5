"""An in-memory mart for the API tests, and writers that put it into a warehouse.

The segment definitions are read from the real seed so the fake cannot drift
from it, and repeated on every voucher_segment_modes row as the model does
(measure and bounds copied from the seed in the same build); the amounts are
made up, one distinct amount per variant so a test can
tell from the answer which variant was chosen.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any

from api.config import ApiConfig
from api.contract import REQUEST_FIELDS as DECLARED_FIELDS
from api.snapshot import MartRows
from dwh.reader import UNREACHABLE, ReadFailed
from serving.schema import SCHEMA

# No background thread in unit tests: they call store.refresh() themselves.
TEST_CONFIG = ApiConfig(refresh_seconds=0)
# The fields of a lookup body, as api.contract declares them.
REQUEST_FIELDS = tuple(field.name for field in DECLARED_FIELDS)
SEED = Path(__file__).resolve().parents[2] / "seeds" / "segment_definitions.csv"
BUILT_AT = datetime(2025, 1, 1, 3, 0, 0)
NEW_BUILD = datetime(2025, 2, 1, 4, 0, 0)  # a later build, for swap tests


PERU_FALLBACK = 2640
# Peru: amount per variant; None = the variant has no history.
PERU_AMOUNTS = {
    ("frequent_segment", "0-4"): 1000,
    ("frequent_segment", "5-13"): 1500,
    ("frequent_segment", "14-37"): 2000,
    ("recency_segment", "30-60"): 3000,
    ("recency_segment", "61-90"): 3500,
    ("recency_segment", "91-120"): None,
    ("recency_segment", "121-180"): 4000,
    ("recency_segment", "180+"): 4500,
}
CHINA_FALLBACK = 700


with SEED.open(newline="") as _seed:
    _SEED_ROWS = tuple(csv.DictReader(_seed))


# The seed's segments, in the order the API lists them (by name).
SEED_SEGMENT_NAMES = sorted({row["segment_name"] for row in _SEED_ROWS})


def seed_definitions() -> tuple[tuple[Any, ...], ...]:
    return tuple(
        (
            row["segment_name"],
            row["segment_variant"],
            row["measure"],
            int(row["lower_bound"]),
            int(row["upper_bound"]) if row["upper_bound"] else None,
        )
        for row in _SEED_ROWS
    )


# (segment, variant) -> the seed's (segment_label, variant_label).
SEED_LABELS = {
    (row["segment_name"], row["segment_variant"]): (
        row["segment_label"],
        row["variant_label"],
    )
    for row in _SEED_ROWS
}


def build_row(built_at: datetime = BUILT_AT) -> tuple[Any, ...]:
    """serving.current_build for a build made at built_at (one per build)."""
    return (
        int(built_at.timestamp()),  # a publish id of its own per build
        f"fake-invocation-{built_at:%Y%m%d%H%M}",
        built_at,
        built_at,
        "fake-load",
        "vouchers.parquet",
        "ab" * 32,
        1000,
        built_at,
        "file",
        1,
        "duckdb",
    )


def mart_rows(
    built_at: datetime = BUILT_AT,
    peru_shift: int = 0,
    definitions: tuple[tuple[Any, ...], ...] | None = None,
) -> MartRows:
    """Peru with history in most variants; China only a country mode; Chile none.

    peru_shift adds to every Peru amount, to tell two builds apart.
    definitions replaces the seed's rows (segment, variant, measure, lower,
    upper); variants not in PERU_AMOUNTS have no history.
    """
    segment_modes = []
    amount_counts = []
    for definition in definitions or seed_definitions():
        segment, variant = definition[:2]
        amount = PERU_AMOUNTS.get((segment, variant))
        if amount is not None:
            amount += peru_shift
            amount_counts += [
                ("Peru", segment, variant, amount, 7, built_at),
                ("Peru", segment, variant, amount + 100, 3, built_at),
            ]
        count = 7 if amount is not None else 0
        labels = SEED_LABELS.get((segment, variant), (None, None))
        segment_modes.append(
            ("Peru", *definition, amount, count, 10 if count else 0, built_at, *labels)
        )
        for empty_country in ("China", "Chile"):
            segment_modes.append(
                (empty_country, *definition, None, 0, 0, built_at, *labels)
            )
    country_modes = (
        ("Peru", PERU_FALLBACK + peru_shift, 40, 100, built_at),
        ("China", CHINA_FALLBACK, 1, 1, built_at),
        # In scope, but every voucher was cleaned away: not covered.
        ("Chile", None, 0, 0, built_at),
    )
    return MartRows(
        segment_modes=tuple(segment_modes),
        country_modes=country_modes,
        amount_counts=tuple(amount_counts),
        build=build_row(built_at),
    )


class InMemorySource:
    """A MartSource whose content and availability the test controls."""

    description = "memory:fake"
    warehouse = "memory"

    def __init__(self, rows: MartRows | None = None) -> None:
        self.rows = rows if rows is not None else mart_rows()
        self.failure: str | None = None
        self.generation = 0
        self.reads = 0

    def publish(self, rows: MartRows) -> None:
        """A new build lands."""
        self.rows = rows
        self.generation += 1

    def version(self) -> int:
        if self.failure:
            raise ReadFailed(self.failure, UNREACHABLE)
        return self.generation

    def read(self) -> MartRows:
        if self.failure:
            raise ReadFailed(self.failure, UNREACHABLE)
        self.reads += 1
        return self.rows


# The exact columns of the contract, for writing real warehouses in tests as
# the publish step leaves them (plain tables stand in for its views). The seed
# table segment_definitions is left out: the API does not read it.
MART_DDL = {
    "voucher_segment_modes": (
        "country_code varchar, segment_name varchar, segment_variant varchar, "
        "measure varchar, lower_bound integer, upper_bound integer, "
        "voucher_amount integer, voucher_amount_count bigint, "
        "segment_voucher_count bigint, built_at timestamp, "
        "segment_label varchar, variant_label varchar"
    ),
    "voucher_country_modes": (
        "country_code varchar, voucher_amount integer, voucher_amount_count bigint, "
        "country_voucher_count bigint, built_at timestamp"
    ),
    "voucher_amount_counts": (
        "country_code varchar, segment_name varchar, segment_variant varchar, "
        "voucher_amount integer, voucher_count bigint, built_at timestamp"
    ),
    "current_build": (
        "publish_id bigint, invocation_id varchar, built_at timestamp, "
        "published_at timestamp, load_id varchar, source_file varchar, "
        "source_sha256 varchar, source_rows bigint, loaded_at timestamp, "
        "source_origin varchar, load_count bigint, build_target varchar"
    ),
    "current_publish": "publish_id bigint",
}


def _tables(rows: MartRows) -> dict[str, tuple[tuple[Any, ...], ...]]:
    return {
        "voucher_segment_modes": rows.segment_modes,
        "voucher_country_modes": rows.country_modes,
        "voucher_amount_counts": rows.amount_counts,
        "current_build": (rows.build,) if rows.build else (),
        "current_publish": ((rows.build[0],),) if rows.build else (),
    }


def write_mart(connection: Any, rows: MartRows, placeholder: str = "?") -> None:
    """(Re)create the serving schema's relations the API reads, on a DB-API
    connection, as if `rows` had been published.

    placeholder is '?' for DuckDB and '%s' for psycopg2.
    """
    cursor = connection.cursor()
    cursor.execute(f"create schema if not exists {SCHEMA}")
    for table, columns in MART_DDL.items():
        cursor.execute(f"drop table if exists {SCHEMA}.{table}")
        cursor.execute(f"create table {SCHEMA}.{table} ({columns})")
        data = _tables(rows)[table]
        if data:
            marks = ", ".join([placeholder] * len(data[0]))
            cursor.executemany(f"insert into {SCHEMA}.{table} values ({marks})", data)
    connection.commit()
