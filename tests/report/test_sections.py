"""The drawing and arranging, on a few hand-written mart rows: the bounds drawn
where the seed puts them, the mode marked, ties and empty variants said in
words. No warehouse needed."""

from __future__ import annotations

from datetime import datetime

import pytest
from matplotlib.figure import Figure

from report import figures
from report.html import render_report
from report.marts import (
    AmountCount,
    CountryMode,
    Marts,
    MeasureCount,
    SegmentBound,
    SegmentMode,
)
from report.sections import build_report
from tests.report.page import Page

BOUNDS = [
    SegmentBound("frequent_segment", "0-4", "total_orders", 0, 4),
    SegmentBound("frequent_segment", "5-13", "total_orders", 5, 13),
    SegmentBound("recency_segment", "30-60", "days_since_last_order", 30, 60),
    SegmentBound("recency_segment", "61+", "days_since_last_order", 61, None),
]
MEASURES = [
    MeasureCount("Peru", "frequent_segment", 2, "0-4", 6),
    MeasureCount("Peru", "frequent_segment", 5, "5-13", 2),
    MeasureCount("Peru", "frequent_segment", 25, None, 1),
    MeasureCount("Peru", "recency_segment", -10, None, 1),
    MeasureCount("Peru", "recency_segment", None, None, 2),
    MeasureCount("Peru", "recency_segment", 45, "30-60", 6),
]
AMOUNTS = [
    # 2,640 and 3,520 tie in 0-4; the mart chose the cheaper.
    AmountCount("Peru", "frequent_segment", "0-4", 2640, 3),
    AmountCount("Peru", "frequent_segment", "0-4", 3520, 3),
    AmountCount("Peru", "frequent_segment", "5-13", 4400, 2),
    AmountCount("Peru", "recency_segment", "30-60", 3520, 2),
    AmountCount("Peru", "recency_segment", "30-60", 4400, 4),
]
MODES = [
    SegmentMode("Peru", "frequent_segment", "0-4", 2640, 3, 6),
    SegmentMode("Peru", "frequent_segment", "5-13", 4400, 2, 2),
    SegmentMode("Peru", "recency_segment", "30-60", 4400, 4, 6),
    SegmentMode("Peru", "recency_segment", "61+", None, 0, 0),
]


@pytest.fixture
def marts() -> Marts:
    return Marts(
        source="test",
        built_at=datetime(2026, 1, 2, 3, 4, 5),
        data=None,
        cleaning=[],
        bounds=BOUNDS,
        measures=MEASURES,
        amounts=AMOUNTS,
        segment_modes=MODES,
        country_modes=[CountryMode("Peru", 4400, 6, 9)],
        anomaly_counts=[],
        anomalies=[],
        rejected_examples=[],
    )


def bands(figure: Figure) -> dict[str, tuple[float, float]]:
    (axes,) = figure.axes
    return {
        patch.get_label().removeprefix("variant "): (
            patch.get_x(),
            patch.get_x() + patch.get_width(),
        )
        for patch in axes.patches
        if patch.get_label().startswith("variant ")
    }


def test_histogram_bands_cover_exactly_the_inclusive_bounds():
    figure = figures.measure_histogram(
        MEASURES[3:], BOUNDS[2:], title="t", x_label="days", x_limit=91
    )
    # Half a unit either side of each bound: the bars of both bounds are inside.
    assert bands(figure) == {"30-60": (29.5, 60.5), "61+": (60.5, 92.0)}
    labels = {text.get_text() for text in figure.axes[0].texts}
    assert {"30-60", "61+"} <= labels


def test_histogram_draws_only_values_in_range():
    figure = figures.measure_histogram(
        MEASURES[:3], BOUNDS[:2], title="t", x_label="orders", x_limit=20
    )
    bars = [
        patch
        for patch in figure.axes[0].patches
        if not patch.get_label().startswith("variant ")
    ]
    assert sorted(round(bar.get_x() + bar.get_width() / 2) for bar in bars) == [2, 5]


def test_distribution_marks_the_mode_of_each_variant():
    figure = figures.amount_distribution(
        ["0-4", "5-13"], AMOUNTS[:3], {"0-4": 2640, "5-13": 4400}
    )
    for axes, mode in zip(figure.axes, (2640, 4400), strict=True):
        ticks = [label.get_text() for label in axes.get_xticklabels()]
        hatched = [i for i, bar in enumerate(axes.patches) if bar.get_hatch() == "//"]
        assert [ticks[i] for i in hatched] == [f"{mode:,}"]
        assert "mode" in [text.get_text() for text in axes.texts]


def test_distribution_says_no_history_for_an_empty_variant():
    figure = figures.amount_distribution(
        ["30-60", "61+"], AMOUNTS[3:], {"30-60": 4400, "61+": None}
    )
    empty = figure.axes[1]
    assert not empty.patches
    assert [text.get_text() for text in empty.texts] == ["no history"]


def test_ties_and_fallbacks_are_said_in_words(marts: Marts):
    report = build_report(marts)
    (country,) = report.countries
    frequent, recency = country.distributions
    assert [mode.tied_amounts for mode in frequent.modes] == [[3520], []]
    assert report.tied_variant_count == 1

    page = Page(render_report(report))
    tie_row, _ = page.tables["modes-peru-frequent_segment"]
    assert tie_row[4] == "tied with 3,520: the cheaper wins"
    assert "1 variant(s) had a tie" in page.texts["decision-ties"]
    _, empty_row = page.tables["modes-peru-recency_segment"]
    assert empty_row == [
        "61+",
        "no history",
        "0",
        "0",
        "falls back to the country-wide mode (4,400)",
    ]


def test_what_a_histogram_leaves_out_is_stated(marts: Marts):
    (country,) = build_report(marts).countries
    frequent, recency = country.histograms
    assert frequent.not_drawn == ["1 voucher above 20"]
    assert recency.not_drawn == [
        "1 voucher dated before the customer's last order "
        "(negative days, listed under Anomalies)",
        "2 vouchers without a value (no last order)",
    ]
    assert [
        (v.segment_variant, v.bounds, v.voucher_count) for v in recency.variants
    ] == [
        ("30-60", "30 to 60", 6),
        ("61+", "61 and more", 0),
    ]
    assert recency.no_variant_count == 3
