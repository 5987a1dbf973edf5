"""The pipeline's last words: what the published build says, for people.

``python -m serving summary`` (run by ``make publish`` and so ``make
pipeline``) reads the build the API serves from schema ``serving`` in one
read-only moment and tells, in a few lines: which build it is and which file
it read, the rows loaded, in scope and kept, and the answer per country x
segment x variant with the share of the variant's vouchers that got it.
The figures are the marts' own (the queries and row types are the report's,
``report.marts``); nothing is computed here but sums and shares.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from dwh.errors import OneLineError
from dwh.reader import NOT_PUBLISHED, Reader, ReadFailed
from report.marts import (
    QUERIES,
    CleaningOutcome,
    CountryMode,
    DataSource,
    SegmentMode,
)
from serving.schema import CURRENT_BUILD_VIEW

KEPT = "kept"  # the cleaning_summary outcome of the rows the rules kept
WHEN = "%Y-%m-%d %H:%M:%S UTC"


class NothingPublished(OneLineError):
    """The warehouse has no published build to summarise."""


class PublishedBuild(NamedTuple):
    """Which build is current (serving.current_build); the file it read is
    the report's DataSource, from the same view."""

    publish_id: int
    invocation_id: str
    built_at: datetime


@dataclass(frozen=True, slots=True)
class Summary:
    """The published build in figures."""

    build: PublishedBuild
    data: DataSource
    rows_in_scope: int
    rows_kept: int
    answers: list[SegmentMode]  # seed order: country, segment, lower bound
    fallbacks: list[CountryMode]

    @property
    def rows_loaded(self) -> int:
        return self.data.source_rows

    @property
    def countries(self) -> list[str]:
        """The countries in scope (var('countries') of the build)."""
        return [mode.country_code for mode in self.fallbacks]


_NOTHING_PUBLISHED = (
    "nothing is published in this warehouse yet: run `python -m serving publish`"
    " after a dbt build that passed"
)


_BUILD_QUERY = f"select {', '.join(PublishedBuild._fields)} from {CURRENT_BUILD_VIEW}"


def read_summary(reader: Reader) -> Summary:
    """Read the published build's figures, all as of one moment."""
    queries = [
        _BUILD_QUERY,
        QUERIES["data"],
        QUERIES["cleaning"],
        QUERIES["segment_modes"],
        QUERIES["country_modes"],
    ]
    try:
        build, data, cleaning, modes, fallbacks = reader.query_all(queries)
    except ReadFailed as error:
        if error.code == NOT_PUBLISHED:
            raise NothingPublished(_NOTHING_PUBLISHED) from None
        raise
    if not build:
        raise NothingPublished(_NOTHING_PUBLISHED)
    outcomes = [CleaningOutcome._make(row) for row in cleaning]
    in_scope = [outcome for outcome in outcomes if outcome.is_in_scope]
    return Summary(
        build=PublishedBuild._make(build[0]),
        data=DataSource._make(data[0]),
        rows_in_scope=sum(outcome.row_count for outcome in in_scope),
        rows_kept=sum(o.row_count for o in in_scope if o.outcome == KEPT),
        answers=[SegmentMode._make(row) for row in modes],
        fallbacks=[CountryMode._make(row) for row in fallbacks],
    )


def render(summary: Summary) -> str:
    """The summary as a few lines of text and one table."""
    build, data = summary.build, summary.data
    origin = " (synthetic demo data)" if data.synthetic else ""
    lines = [
        f"Published build #{build.publish_id} (dbt invocation"
        f" {build.invocation_id}), built {build.built_at:{WHEN}}",
        (
            f"Data: {data.source_file}{origin}, loaded {data.loaded_at:{WHEN}}"
            if data.load_count == 1
            else f"Data: {data.load_count} loads{origin}, the newest"
            f" {data.source_file}, loaded {data.loaded_at:{WHEN}}"
        ),
        f"Rows: {summary.rows_loaded:,} loaded,"
        f" {summary.rows_in_scope:,} in scope ({', '.join(summary.countries)}),"
        f" {summary.rows_kept:,} kept"
        f" ({_percent(summary.rows_kept, summary.rows_in_scope)} of in scope)",
        "",
    ]
    fallback = {mode.country_code: mode for mode in summary.fallbacks}
    rows = [
        ("country", "segment", "variant", "amount", "share of the variant's vouchers")
    ]
    for answer in summary.answers:
        rows.append(_answer_row(answer, fallback.get(answer.country_code)))
    for mode in summary.fallbacks:
        rows.append(
            (
                mode.country_code,
                "any (fallback)",
                "-",
                _amount(mode.voucher_amount),
                _share(mode.voucher_amount_count, mode.country_voucher_count),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [
            cell.rjust(width) if index == 3 else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _answer_row(
    answer: SegmentMode, fallback: CountryMode | None
) -> tuple[str, str, str, str, str]:
    if answer.voucher_amount is None:
        # The API answers the country's fallback here; say so rather than 0%.
        other = _amount(fallback.voucher_amount) if fallback else "-"
        share = f"no history: the API answers the fallback, {other}"
    else:
        share = _share(answer.voucher_amount_count, answer.segment_voucher_count)
    return (
        answer.country_code,
        answer.segment_name,
        answer.segment_variant,
        _amount(answer.voucher_amount),
        share,
    )


def _amount(amount: int | None) -> str:
    return "-" if amount is None else str(amount)


def _share(count: int, total: int) -> str:
    return f"{_percent(count, total)} of {total:,}"


def _percent(count: int, total: int) -> str:
    return f"{count / total:.1%}" if total else "-"
