"""The report says what the marts say: every figure is compared with the mart
it comes from, read here with independent SQL."""

from __future__ import annotations

import base64
import re

import pytest

from tests.report.conftest import COUNTRIES, BuiltReport
from tests.report.page import number

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "-", name.lower()).strip("-")


def seed_variants(built: BuiltReport, segment: str) -> list[str]:
    return [
        variant
        for (variant,) in built.query(
            "select segment_variant from marts.segment_definitions "
            f"where segment_name = '{segment}' order by lower_bound"
        )
    ]


def segments(built: BuiltReport) -> list[str]:
    rows = built.query("select distinct segment_name from marts.segment_definitions")
    return sorted(name for (name,) in rows)


def test_summary_figures_equal_the_marts(built: BuiltReport):
    summary = {label: value for label, value in built.page.tables["summary-figures"]}
    outcomes = built.query(
        "select outcome, is_in_scope, row_count from marts.cleaning_summary"
    )
    loaded = sum(count for _, _, count in outcomes)
    in_scope = sum(count for _, scoped, count in outcomes if scoped)
    kept = sum(count for outcome, _, count in outcomes if outcome == "kept")
    (anomalies,) = built.query("select count(*) from marts.voucher_anomalies")[0]
    (built_at,) = built.query("select max(built_at) from marts.voucher_segment_modes")[
        0
    ]

    assert number(summary["Rows loaded"]) == loaded == 20_000
    assert number(summary["In scope"]) == in_scope
    assert number(summary["Out of scope (country not selected)"]) == loaded - in_scope
    assert number(summary["Kept"]) == kept
    assert number(summary["Rejected by a cleaning rule"]) == in_scope - kept
    assert number(summary["Anomalies among the kept rows"]) == anomalies > 0
    assert summary["Built at"] == f"{built_at:%Y-%m-%d %H:%M:%S} UTC"


def test_every_outcome_appears_with_its_count(built: BuiltReport):
    shown = {
        outcome: (scoped, number(count))
        for outcome, scoped, count, _share in built.page.tables["cleaning-outcomes"]
    }
    expected = {
        outcome: ("yes" if scoped else "no", count)
        for outcome, scoped, count in built.query(
            "select outcome, is_in_scope, row_count from marts.cleaning_summary"
        )
    }
    assert shown == expected
    assert "country_not_selected" in shown and len(shown) >= 5
    # The chart's text alternative names every rule that removed rows.
    (chart,) = built.page.images["cleaning"]
    for outcome, (_scoped, count) in expected.items():
        if outcome != "kept":
            assert f"{outcome}: {count:,}" in chart["alt"]


def test_rejected_examples_are_rows_of_rejected_vouchers(built: BuiltReport):
    examples = built.page.tables["rejected-examples"]
    rejected = dict(
        built.query("select voucher_id, rejection_reason from marts.rejected_vouchers")
    )
    assert {rule for rule, *_ in examples} == set(rejected.values())
    for rule, voucher_id, *_ in examples:
        assert rejected[int(voucher_id)] == rule


def test_the_page_loads_nothing_from_elsewhere(built: BuiltReport):
    page = built.page
    images = page.images["histograms"] + page.images["distributions"]
    assert len(images) == 4 * len(COUNTRIES)
    assert not [url for url in page.urls if re.match(r"(?i)\s*(https?:)?//", url)]
    assert all(
        url.startswith("#") or url.startswith("data:image/png;base64,")
        for url in page.urls
    )
    assert not {"script", "link", "iframe", "object"} & set(page.tags)
    assert not re.search(r"(?i)@import|url\(", built.html)
    for image in page.images["summary"] + page.images["cleaning"] + images:
        assert image["alt"].strip()
        png = base64.b64decode(image["src"].removeprefix("data:image/png;base64,"))
        assert png.startswith(PNG_MAGIC)


def test_the_page_is_structured_for_assistive_technology(built: BuiltReport):
    assert '<html lang="en">' in built.html
    assert built.page.tags.count("h1") == 1
    assert built.page.tags.count("th") > 50
    assert built.page.tags.count("caption") == built.page.tags.count("table")


@pytest.mark.parametrize(
    ("decision", "phrases"),
    [
        ("decision-recency", ["voucher", "UTC calendar date", "today"]),
        ("decision-inclusive-bounds", ["both included", "segment_definitions"]),
        ("decision-ties", ["smaller one wins", "cheaper"]),
        ("decision-fallback", ["no variant", "no history", "country-wide mode"]),
    ],
)
def test_each_decision_has_its_paragraph(built: BuiltReport, decision, phrases):
    text = built.page.texts[decision]
    assert len(text) > 300
    for phrase in phrases:
        assert phrase in text


def test_inclusive_bounds_example_comes_from_the_seed(built: BuiltReport):
    text = built.page.texts["decision-inclusive-bounds"]
    first_bounded = built.query(
        "select measure, upper_bound, segment_variant from marts.segment_definitions "
        "where upper_bound is not null order by segment_name, lower_bound limit 1"
    )[0]
    assert "a {} of exactly {} falls in {}".format(*first_bounded) in text
    seed = built.query(
        "select segment_variant, lower_bound, upper_bound "
        "from marts.segment_definitions order by segment_name, lower_bound"
    )
    shown = [
        (variant, int(lower), None if upper == "none" else int(upper))
        for _segment, variant, _measure, lower, upper in built.page.tables[
            "segment-bounds"
        ]
    ]
    assert shown == seed


def test_histograms_show_every_variant_of_the_seed(built: BuiltReport):
    for country in COUNTRIES:
        for segment in segments(built):
            key = f"{slug(country)}-{slug(segment)}"
            rows = built.page.tables[f"variants-{key}"]
            counts = dict(
                built.query(
                    "select coalesce(segment_variant, 'no variant'), "
                    "sum(voucher_count) from marts.segment_measure_counts "
                    f"where country_code = '{country}' and segment_name = '{segment}' "
                    "group by 1"
                )
            )
            variants = seed_variants(built, segment)
            assert [variant for variant, *_ in rows] == [*variants, "no variant"]
            assert {variant: number(count) for variant, _, count in rows} == {
                variant: counts.get(variant, 0) for variant in [*variants, "no variant"]
            }
            (image,) = built.page.images[f"histogram-{key}"]
            for variant in variants:
                assert f"{variant} (" in image["alt"]


def test_histogram_totals_agree_with_the_segment_modes(built: BuiltReport):
    """Two marts, one truth: a variant's histogram total is the number of
    vouchers its mode was taken from."""
    for country, segment, variant, total in built.query(
        "select country_code, segment_name, segment_variant, segment_voucher_count "
        "from marts.voucher_segment_modes"
    ):
        rows = built.page.tables[f"variants-{slug(country)}-{slug(segment)}"]
        assert {name: number(count) for name, _, count in rows}[variant] == total


def test_marked_modes_are_the_segment_modes(built: BuiltReport):
    modes = built.query(
        "select country_code, segment_name, segment_variant, voucher_amount, "
        "voucher_amount_count, segment_voucher_count from marts.voucher_segment_modes"
    )
    assert len(modes) == len(COUNTRIES) * 8
    for country, segment, variant, amount, amount_count, total in modes:
        key = f"{slug(country)}-{slug(segment)}"
        row = next(r for r in built.page.tables[f"modes-{key}"] if r[0] == variant)
        (image,) = built.page.images[f"distribution-{key}"]
        if amount is None:
            assert row[1:4] == ["no history", "0", "0"]
            assert f"{variant}: no history" in image["alt"]
        else:
            assert [number(cell) for cell in row[1:4]] == [amount, amount_count, total]
            assert (
                f"{variant}: mode {amount:,} ({amount_count:,} of {total:,}"
                in (image["alt"])
            )
    # The empty country: every variant has no history and no fallback either.
    assert all(
        row[1] == "no history" and "no country-wide mode" in row[4]
        for row in built.page.tables["modes-new-zealand-recency_segment"]
    )


def test_country_fallbacks_are_the_country_modes(built: BuiltReport):
    for country, amount in built.query(
        "select country_code, voucher_amount from marts.voucher_country_modes"
    ):
        if amount is None:
            assert f"country-mode-{slug(country)}" not in built.page.texts
            assert (
                f"No kept voucher in {country}"
                in built.page.texts[f"distributions-{slug(country)}"]
            )
        else:
            assert number(built.page.texts[f"country-mode-{slug(country)}"]) == amount
            assert f"{country} {amount:,}" in built.page.texts["decision-fallback"]


def test_anomalies_are_counted_and_shown(built: BuiltReport):
    counts = built.query(
        "select country_code, anomaly, count(*) from marts.voucher_anomalies "
        "group by 1, 2 order by 1, 2"
    )
    shown = [
        (country, anomaly, number(count))
        for country, anomaly, count, *_ in built.page.tables["anomaly-counts"]
    ]
    assert shown == counts
    anomalies = {
        voucher_id: days
        for voucher_id, days in built.query(
            "select voucher_id, days_since_last_order from marts.voucher_anomalies"
        )
    }
    examples = built.page.tables["anomaly-examples"]
    assert len(examples) == min(10, len(anomalies))
    for voucher_id, *_, days in examples:
        assert anomalies[int(voucher_id)] == number(days) < 0


def test_the_readme_figure_is_written_beside_the_report(built: BuiltReport):
    figure = built.out.with_name("recency.png")
    first_country = sorted(COUNTRIES)[0]
    (image,) = built.page.images[f"histogram-{slug(first_country)}-recency_segment"]
    assert figure.read_bytes().startswith(PNG_MAGIC)
    assert base64.b64encode(figure.read_bytes()).decode() == image["src"].split(",")[1]


def test_the_footer_names_the_version(built: BuiltReport):
    from dwh.version import VERSION

    footer = built.html.split("<footer>", 1)[1]
    assert f"voucher-selection {VERSION}" in footer


def test_the_header_says_the_data_is_synthetic_demo_data(built: BuiltReport):
    # The suite's warehouse is loaded from the generator's output.
    header = built.html.split("</header>", 1)[0]
    assert built.page.texts["synthetic-data"] == "synthetic demo data"
    assert built.parquet.name in header
    rows = built.query("select count(*) from raw.vouchers")[0][0]
    assert f"{rows:,} rows" in header
