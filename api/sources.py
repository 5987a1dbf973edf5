"""Where snapshots come from: the published build in the serving schema.

A source answers two questions: "has anything changed?" (version, cheap) and
"give me all the rows of the published build" (read). It reads only what the
publish step made visible (schema ``serving``), never dbt's build schemas, so
a build that failed, was killed or is still running is never served. Every
failure to read is a dwh.reader.ReadFailed, whose code /ready shows.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol

from api.config import ApiConfig
from api.snapshot import MartRows
from dwh.reader import NOT_PUBLISHED, DuckDBReader, PostgresReader, Reader, ReadFailed
from dwh.settings import Target
from serving.schema import (
    CURRENT_BUILD_VIEW,
    SCHEMA,
)

# Explicit column lists: the order is the contract with MartSnapshot.from_rows.
# The bounds come with the modes (same table, same build).
SELECT_SEGMENT_MODES = f"""
    select country_code, segment_name, segment_variant, measure, lower_bound,
           upper_bound, voucher_amount, voucher_amount_count,
           segment_voucher_count, built_at, segment_label, variant_label
    from {SCHEMA}.voucher_segment_modes
"""
SELECT_COUNTRY_MODES = f"""
    select country_code, voucher_amount, voucher_amount_count,
           country_voucher_count, built_at
    from {SCHEMA}.voucher_country_modes
"""
SELECT_AMOUNT_COUNTS = f"""
    select country_code, segment_name, segment_variant, voucher_amount,
           voucher_count, built_at
    from {SCHEMA}.voucher_amount_counts
"""
# Every column, not a list: the view only ever gains columns at its end, so a
# serving schema an older version published (before `publish` upgraded it)
# still reads; PublishedBuild.from_row fills in what it lacks.
SELECT_BUILD = f"select * from {CURRENT_BUILD_VIEW}"
# What changes with every publish and rollback, read without the mart rows.
SELECT_VERSION = f"select publish_id from {CURRENT_BUILD_VIEW}"


class MartSource(Protocol):
    """Anything that can hand over the published rows (the warehouses, fakes)."""

    warehouse: str  # the kind of warehouse, safe to show (no host or path)

    def version(self) -> Hashable:
        """A cheap token that changes whenever the published build may have."""

    def read(self) -> MartRows:
        """All rows of the published build, read consistently."""


class PublishedSource:
    """The published build in a warehouse, through a read-only dwh reader."""

    def __init__(self, reader: Reader, warehouse: str) -> None:
        self._reader = reader
        self.warehouse = warehouse
        self.description = reader.description  # for logs only

    def version(self) -> Hashable:
        token = self._reader.change_token()
        if token is not None:
            return token  # DuckDB: the file's stamp, no need to open it
        return self._reader.query_all([SELECT_VERSION])[0]

    def read(self) -> MartRows:
        build, segment_modes, country_modes, amount_counts = self._reader.query_all(
            [
                SELECT_BUILD,
                SELECT_SEGMENT_MODES,
                SELECT_COUNTRY_MODES,
                SELECT_AMOUNT_COUNTS,
            ]
        )
        if not build:
            raise ReadFailed("serving.current_publish names no build", NOT_PUBLISHED)
        return MartRows(segment_modes, country_modes, amount_counts, build=build[0])


def source_for(config: ApiConfig) -> PublishedSource:
    """The published build in the warehouse the config points at."""
    warehouse = Target(config.warehouse)
    if warehouse is Target.POSTGRES:
        reader: Reader = PostgresReader(config.postgres, application_name="voucher-api")
    else:
        reader = DuckDBReader(config.duckdb_path)
    return PublishedSource(reader, warehouse.value)
