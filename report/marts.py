"""What the report reads: the published copies of the dbt marts, as typed rows.

Only the serving schema is read (the marts the `data_quality_report` exposure
depends on, copied there by `python -m serving publish`), never raw, staging
or the build schemas, so every figure is from the build the API serves and
one that passed every test. The queries only filter, sort and total what the
models hold; the row types below name the mart each comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, TypeVar

from dwh.origin import ORIGIN_SYNTHETIC
from dwh.reader import Reader
from serving.schema import CURRENT_BUILD_VIEW, SCHEMA

# How many rows of the anomalies and of each rejection reason to show.
EXAMPLE_ROWS = 10
EXAMPLES_PER_REASON = 2

Row = TypeVar("Row", bound=tuple)


class CleaningOutcome(NamedTuple):
    """A row of marts.cleaning_summary: `kept` or the rule that dropped rows."""

    outcome: str
    is_in_scope: bool
    row_count: int


class SegmentBound(NamedTuple):
    """A row of marts.segment_definitions (the seed): inclusive bounds."""

    segment_name: str
    segment_variant: str
    measure: str
    lower_bound: int
    upper_bound: int | None  # None: unbounded above


class MeasureCount(NamedTuple):
    """A row of marts.segment_measure_counts: one bar of a histogram."""

    country_code: str
    segment_name: str
    measure_value: int | None
    segment_variant: str | None
    voucher_count: int


class AmountCount(NamedTuple):
    """A row of marts.voucher_amount_counts: one bar of a distribution."""

    country_code: str
    segment_name: str
    segment_variant: str
    voucher_amount: int
    voucher_count: int


class SegmentMode(NamedTuple):
    """A row of marts.voucher_segment_modes (amount None: no history)."""

    country_code: str
    segment_name: str
    segment_variant: str
    voucher_amount: int | None
    voucher_amount_count: int
    segment_voucher_count: int


class CountryMode(NamedTuple):
    """A row of marts.voucher_country_modes: the fallback answer."""

    country_code: str
    voucher_amount: int | None
    voucher_amount_count: int
    country_voucher_count: int


class AnomalyCount(NamedTuple):
    """marts.voucher_anomalies totalled per country and kind of anomaly."""

    country_code: str
    anomaly: str
    anomaly_count: int
    first_given_at: datetime
    last_given_at: datetime
    min_days_since_last_order: int
    max_days_since_last_order: int


class Anomaly(NamedTuple):
    """A row of marts.voucher_anomalies."""

    voucher_id: int
    country_code: str
    anomaly: str
    given_at: datetime
    last_order_at: datetime
    days_since_last_order: int


class RejectedExample(NamedTuple):
    """A row of marts.rejected_vouchers, with its text as loaded."""

    rejection_reason: str
    voucher_id: int
    country_code: str
    given_at_text: str | None
    last_order_at_text: str | None
    first_order_at_text: str | None
    total_orders_text: str | None
    voucher_amount_text: str | None


def _select(row_type: type[NamedTuple], table: str, order_by: str) -> str:
    """A select of the row type's fields, in their order, from a mart."""
    return (
        f"select {', '.join(row_type._fields)} from {SCHEMA}.{table}"
        f" order by {order_by}"
    )


class DataSource(NamedTuple):
    """The files the published build read (serving.current_build): the
    newest one's name, time and origin, all loads' rows, how many loads."""

    source_file: str
    loaded_at: datetime
    source_rows: int
    source_origin: str  # dwh.origin: "synthetic" for the generator's demo data
    load_count: int

    @property
    def synthetic(self) -> bool:
        return self.source_origin == ORIGIN_SYNTHETIC


QUERIES = {
    "cleaning": _select(CleaningOutcome, "cleaning_summary", "row_count desc, outcome"),
    "bounds": _select(SegmentBound, "segment_definitions", "segment_name, lower_bound"),
    "measures": _select(
        MeasureCount,
        "segment_measure_counts",
        "country_code, segment_name, measure_value",
    ),
    "amounts": _select(
        AmountCount,
        "voucher_amount_counts",
        "country_code, segment_name, segment_variant, voucher_amount",
    ),
    # Variants in the seed's order (by lower bound), not as text, where
    # '121-180' sorts before '30-60'.
    "segment_modes": f"""
        select {", ".join(f"modes.{field}" for field in SegmentMode._fields)}
        from {SCHEMA}.voucher_segment_modes as modes
        inner join {SCHEMA}.segment_definitions as bounds
            on modes.segment_name = bounds.segment_name
            and modes.segment_variant = bounds.segment_variant
        order by modes.country_code, modes.segment_name, bounds.lower_bound
    """,
    "country_modes": _select(CountryMode, "voucher_country_modes", "country_code"),
    "anomaly_counts": f"""
        select
            country_code,
            anomaly,
            count(*),
            min(given_at),
            max(given_at),
            min(days_since_last_order),
            max(days_since_last_order)
        from {SCHEMA}.voucher_anomalies
        group by country_code, anomaly
        order by country_code, anomaly
    """,
    "anomalies": _select(Anomaly, "voucher_anomalies", "voucher_id")
    + f" limit {EXAMPLE_ROWS}",
    "rejected_examples": f"""
        select {", ".join(RejectedExample._fields)}
        from (
            select
                *,
                row_number() over (
                    partition by rejection_reason order by voucher_id
                ) as example_number
            from {SCHEMA}.rejected_vouchers
        ) as numbered
        where example_number <= {EXAMPLES_PER_REASON}
        order by rejection_reason, voucher_id
    """,
    "built_at": f"select max(built_at) from {SCHEMA}.voucher_segment_modes",
    "data": f"select {', '.join(DataSource._fields)} from {CURRENT_BUILD_VIEW}",
}


@dataclass(frozen=True, slots=True)
class Marts:
    """Everything the report shows, as read from one build of the marts."""

    source: str
    built_at: datetime | None
    data: DataSource | None
    cleaning: list[CleaningOutcome]
    bounds: list[SegmentBound]
    measures: list[MeasureCount]
    amounts: list[AmountCount]
    segment_modes: list[SegmentMode]
    country_modes: list[CountryMode]
    anomaly_counts: list[AnomalyCount]
    anomalies: list[Anomaly]
    rejected_examples: list[RejectedExample]


def read_marts(reader: Reader) -> Marts:
    """Read the published build (schema serving) in one connection."""
    answers = reader.query_all(list(QUERIES.values()))
    results = dict(zip(QUERIES, answers, strict=True))

    def rows(name: str, row_type: type[Row]) -> list[Row]:
        return [row_type._make(row) for row in results[name]]

    return Marts(
        source=reader.description,
        built_at=results["built_at"][0][0],
        data=next(iter(rows("data", DataSource)), None),
        cleaning=rows("cleaning", CleaningOutcome),
        bounds=rows("bounds", SegmentBound),
        measures=rows("measures", MeasureCount),
        amounts=rows("amounts", AmountCount),
        segment_modes=rows("segment_modes", SegmentMode),
        country_modes=rows("country_modes", CountryMode),
        anomaly_counts=rows("anomaly_counts", AnomalyCount),
        anomalies=rows("anomalies", Anomaly),
        rejected_examples=rows("rejected_examples", RejectedExample),
    )
