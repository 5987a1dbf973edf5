"""What the report says, section by section, built from the mart rows.

Everything here is arrangement: grouping mart rows by country and segment,
totalling them for a table, choosing what a chart shows and writing its alt
text. The counts themselves are the marts'.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from report import figures
from report.marts import (
    AmountCount,
    Anomaly,
    AnomalyCount,
    CleaningOutcome,
    CountryMode,
    DataSource,
    Marts,
    MeasureCount,
    RejectedExample,
    SegmentBound,
    SegmentMode,
)

MEASURE_LABELS = {
    "total_orders": "orders placed (total_orders)",
    "days_since_last_order": "days since the last order, at the voucher's time",
}
# How far past the last finite bound a histogram reaches: far enough to show
# what lies beyond the bounds, near enough that the narrow variants stay legible.
HISTOGRAM_REACH = 1.5


@dataclass(frozen=True, slots=True)
class Image:
    """A PNG to inline, with the text a screen reader reads instead."""

    png: bytes
    alt: str

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True, slots=True)
class Summary:
    """The headline figures, all from marts.cleaning_summary and anomalies."""

    rows_loaded: int
    rows_out_of_scope: int
    rows_in_scope: int
    rows_kept: int
    rows_rejected: int
    anomalies: int
    built_at: datetime | None
    countries: list[str]


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    """A row of the rules table."""

    outcome: str
    is_in_scope: bool
    row_count: int
    share_of_loaded: float


@dataclass(frozen=True, slots=True)
class VariantTotal:
    """How many kept vouchers of a histogram fall in one variant."""

    segment_variant: str
    bounds: str
    voucher_count: int


@dataclass(frozen=True, slots=True)
class Histogram:
    """One segment's measure in one country, with the seed's bounds drawn."""

    country_code: str
    segment_name: str
    measure_label: str
    image: Image
    variants: list[VariantTotal]
    no_variant_count: int
    not_drawn: list[str]


@dataclass(frozen=True, slots=True)
class ModeRow:
    """The mode of one variant as marts.voucher_segment_modes holds it."""

    segment_variant: str
    voucher_amount: int | None
    voucher_amount_count: int
    segment_voucher_count: int
    tied_amounts: list[int]


@dataclass(frozen=True, slots=True)
class Distribution:
    """The amounts given in each variant of one segment in one country."""

    country_code: str
    segment_name: str
    image: Image
    modes: list[ModeRow]


@dataclass(frozen=True, slots=True)
class CountrySection:
    """Everything the report shows for one country in scope."""

    country_code: str
    country_mode: CountryMode | None
    histograms: list[Histogram]
    distributions: list[Distribution]


@dataclass(frozen=True, slots=True)
class Report:
    """The whole report, ready to render."""

    source: str
    data: DataSource | None  # the file the build read; None: not published
    summary: Summary
    outcomes: list[OutcomeRow]
    cleaning_image: Image
    rejected_examples: list[RejectedExample]
    bounds: list[SegmentBound]
    countries: list[CountrySection]
    anomaly_counts: list[AnomalyCount]
    anomalies: list[Anomaly]

    @property
    def tied_variant_count(self) -> int:
        """How many variants' modes won a tie on price."""
        return sum(
            1
            for country in self.countries
            for distribution in country.distributions
            for mode in distribution.modes
            if mode.tied_amounts
        )

    def histogram(self, country: str, segment: str) -> Histogram | None:
        """One histogram, e.g. to save it beside the report."""
        for section in self.countries:
            for histogram in section.histograms:
                if histogram.country_code == country and (
                    histogram.segment_name == segment
                ):
                    return histogram
        return None


def build_report(marts: Marts) -> Report:
    """Arrange the marts into the report's sections and draw the charts."""
    summary = _summary(marts)
    return Report(
        source=marts.source,
        data=marts.data,
        summary=summary,
        outcomes=[
            OutcomeRow(
                outcome.outcome,
                outcome.is_in_scope,
                outcome.row_count,
                outcome.row_count / summary.rows_loaded if summary.rows_loaded else 0,
            )
            for outcome in marts.cleaning
        ],
        cleaning_image=Image(
            figures.png(figures.cleaning_chart(marts.cleaning)),
            _cleaning_alt(marts.cleaning),
        ),
        rejected_examples=marts.rejected_examples,
        bounds=marts.bounds,
        countries=[_country_section(marts, country) for country in summary.countries],
        anomaly_counts=marts.anomaly_counts,
        anomalies=marts.anomalies,
    )


def bounds_label(bound: SegmentBound) -> str:
    """The inclusive bounds in words: '5 to 13', '181 and more'."""
    if bound.upper_bound is None:
        return f"{bound.lower_bound} and more"
    return f"{bound.lower_bound} to {bound.upper_bound}"


def _summary(marts: Marts) -> Summary:
    def total(outcomes: Iterable[CleaningOutcome]) -> int:
        return sum(outcome.row_count for outcome in outcomes)

    in_scope = total(o for o in marts.cleaning if o.is_in_scope)
    kept = total(o for o in marts.cleaning if o.outcome == "kept")
    return Summary(
        rows_loaded=total(marts.cleaning),
        rows_out_of_scope=total(o for o in marts.cleaning if not o.is_in_scope),
        rows_in_scope=in_scope,
        rows_kept=kept,
        rows_rejected=in_scope - kept,
        anomalies=sum(count.anomaly_count for count in marts.anomaly_counts),
        built_at=marts.built_at,
        countries=sorted(mode.country_code for mode in marts.country_modes),
    )


def _cleaning_alt(outcomes: list[CleaningOutcome]) -> str:
    removed = [o for o in outcomes if o.outcome != "kept"]
    if not removed:
        return "Bar chart of rows removed per cleaning rule: no row was removed."
    parts = "; ".join(f"{o.outcome}: {o.row_count:,}" for o in removed)
    return (
        "Horizontal bar chart of rows removed per cleaning rule, largest "
        f"first, out-of-scope countries in grey. {parts}."
    )


def _country_section(marts: Marts, country: str) -> CountrySection:
    segments = list(dict.fromkeys(bound.segment_name for bound in marts.bounds))
    return CountrySection(
        country_code=country,
        country_mode=next(
            (m for m in marts.country_modes if m.country_code == country), None
        ),
        histograms=[_histogram(marts, country, segment) for segment in segments],
        distributions=[_distribution(marts, country, segment) for segment in segments],
    )


def _histogram(marts: Marts, country: str, segment: str) -> Histogram:
    bounds = [bound for bound in marts.bounds if bound.segment_name == segment]
    counts = [
        count
        for count in marts.measures
        if count.country_code == country and count.segment_name == segment
    ]
    measure_label = MEASURE_LABELS.get(bounds[0].measure, bounds[0].measure)
    last_bound = max(max(bound.lower_bound, bound.upper_bound or 0) for bound in bounds)
    x_limit = math.ceil(last_bound * HISTOGRAM_REACH)
    variants = [
        VariantTotal(
            bound.segment_variant,
            bounds_label(bound),
            _total(c for c in counts if c.segment_variant == bound.segment_variant),
        )
        for bound in bounds
    ]
    no_variant = _total(c for c in counts if c.segment_variant is None)
    not_drawn = _not_drawn(counts, x_limit)
    shaded = ", ".join(f"{v.segment_variant} ({v.bounds})" for v in variants)
    alt = (
        f"Histogram of kept vouchers in {country} by {measure_label}, from 0 "
        f"to {x_limit}, with the inclusive bounds of the {segment} variants "
        f"shaded and labelled: {shaded}. "
        + " ".join(f"{v.segment_variant}: {v.voucher_count:,}." for v in variants)
        + f" In no variant: {no_variant:,}."
    )
    return Histogram(
        country_code=country,
        segment_name=segment,
        measure_label=measure_label,
        image=Image(
            figures.png(
                figures.measure_histogram(
                    counts,
                    bounds,
                    title=f"{country}: {segment}, kept vouchers",
                    x_label=measure_label,
                    x_limit=x_limit,
                )
            ),
            alt,
        ),
        variants=variants,
        no_variant_count=no_variant,
        not_drawn=not_drawn,
    )


def _not_drawn(counts: list[MeasureCount], x_limit: int) -> list[str]:
    """Sentences for the vouchers a histogram leaves out, and why."""
    missing = _total(c for c in counts if c.measure_value is None)
    negative = _total(
        c for c in counts if c.measure_value is not None and c.measure_value < 0
    )
    beyond = _total(
        c for c in counts if c.measure_value is not None and c.measure_value > x_limit
    )
    sentences = []
    if negative:
        sentences.append(
            f"{_vouchers(negative)} dated before the customer's last order "
            "(negative days, listed under Anomalies)"
        )
    if missing:
        sentences.append(f"{_vouchers(missing)} without a value (no last order)")
    if beyond:
        sentences.append(f"{_vouchers(beyond)} above {x_limit}")
    return sentences


def _distribution(marts: Marts, country: str, segment: str) -> Distribution:
    modes = [
        mode
        for mode in marts.segment_modes
        if mode.country_code == country and mode.segment_name == segment
    ]
    counts = [
        count
        for count in marts.amounts
        if count.country_code == country and count.segment_name == segment
    ]
    rows = [_mode_row(mode, counts) for mode in modes]
    described = "; ".join(
        f"{row.segment_variant}: mode {row.voucher_amount:,} "
        f"({row.voucher_amount_count:,} of {row.segment_voucher_count:,} vouchers)"
        if row.voucher_amount is not None
        else f"{row.segment_variant}: no history"
        for row in rows
    )
    alt = (
        f"Bar charts of kept vouchers per amount in each {segment} variant in "
        f"{country}, the mode hatched and labelled. {described}."
    )
    image = Image(
        figures.png(
            figures.amount_distribution(
                [mode.segment_variant for mode in modes],
                counts,
                {mode.segment_variant: mode.voucher_amount for mode in modes},
            )
        ),
        alt,
    )
    return Distribution(country, segment, image, rows)


def _mode_row(mode: SegmentMode, counts: list[AmountCount]) -> ModeRow:
    # Amounts as frequent as the mode lost the tie on price; say so.
    tied = sorted(
        count.voucher_amount
        for count in counts
        if count.segment_variant == mode.segment_variant
        and count.voucher_count == mode.voucher_amount_count
        and count.voucher_amount != mode.voucher_amount
    )
    return ModeRow(
        mode.segment_variant,
        mode.voucher_amount,
        mode.voucher_amount_count,
        mode.segment_voucher_count,
        tied,
    )


def _vouchers(count: int) -> str:
    return "1 voucher" if count == 1 else f"{count:,} vouchers"


def _total(counts: Iterable[MeasureCount]) -> int:
    return sum(count.voucher_count for count in counts)
