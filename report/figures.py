"""The report's charts, drawn with matplotlib's Agg backend.

Each chart function takes mart rows and returns a Figure (so tests can look
at what was drawn); `png` turns it into the bytes the page inlines. None of
them computes a figure the marts do not hold. The object-oriented API (a
Figure with an Agg canvas, no pyplot) keeps no global state and needs no
display.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter

from report.marts import AmountCount, CleaningOutcome, MeasureCount, SegmentBound

# Colour-blind safe (Okabe-Ito); the mode also gets a hatch, not only a colour.
VARIANT_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
NO_VARIANT_COLOUR = "#999999"
MODE_COLOUR = "#D55E00"
OTHER_AMOUNT_COLOUR = "#8FB8DE"
OUT_OF_SCOPE_COLOUR = "#BBBBBB"
REJECTED_COLOUR = "#0072B2"
DPI = 100
THOUSANDS = StrMethodFormatter("{x:,.0f}")


def cleaning_chart(outcomes: Sequence[CleaningOutcome]) -> Figure:
    """Horizontal bars: rows each rule removed, out-of-scope rows in grey."""
    removed = sorted(
        (outcome for outcome in outcomes if outcome.outcome != "kept"),
        key=lambda outcome: outcome.row_count,
    )
    figure = Figure(figsize=(8, 0.45 * len(removed) + 1.2))
    axes = figure.add_subplot()
    if not removed:
        _say(axes, "no row was removed")
        return figure
    labels = [outcome.outcome for outcome in removed]
    counts = [outcome.row_count for outcome in removed]
    colours = [
        REJECTED_COLOUR if outcome.is_in_scope else OUT_OF_SCOPE_COLOUR
        for outcome in removed
    ]
    bars = axes.barh(labels, counts, color=colours)
    axes.bar_label(bars, labels=[f"{count:,}" for count in counts], padding=3)
    axes.set_xlabel("rows removed")
    axes.set_xlim(0, max(counts) * 1.18)
    axes.xaxis.set_major_formatter(THOUSANDS)
    axes.spines[["top", "right"]].set_visible(False)
    return figure


def measure_histogram(
    counts: Sequence[MeasureCount],
    bounds: Sequence[SegmentBound],
    *,
    title: str,
    x_label: str,
    x_limit: int,
) -> Figure:
    """Vouchers per measure value, with each variant's inclusive bounds shaded.

    Values from 0 to `x_limit` are drawn; the caller states how many fall
    outside (negative, missing or beyond the limit). A band runs from half a
    unit below the lower bound to half a unit above the upper one, so it
    covers exactly the bars the bounds include.
    """
    figure = Figure(figsize=(9, 3.8))
    axes = figure.add_subplot()
    colour_of = {
        bound.segment_variant: VARIANT_COLOURS[index % len(VARIANT_COLOURS)]
        for index, bound in enumerate(bounds)
    }
    for bound in bounds:
        # An unbounded variant runs to the edge of the axes.
        upper = x_limit + 0.5 if bound.upper_bound is None else bound.upper_bound
        axes.axvspan(
            bound.lower_bound - 0.5,
            upper + 0.5,
            color=colour_of[bound.segment_variant],
            alpha=0.12,
            linewidth=0,
            label=f"variant {bound.segment_variant}",
        )
        axes.axvline(
            bound.lower_bound - 0.5,
            color=colour_of[bound.segment_variant],
            linestyle="--",
            linewidth=1,
        )
        axes.text(
            (bound.lower_bound + min(upper, x_limit)) / 2,
            1.01,
            bound.segment_variant,
            transform=axes.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=9,
            color=colour_of[bound.segment_variant],
            fontweight="bold",
        )
    drawn = [
        count
        for count in counts
        if count.measure_value is not None and 0 <= count.measure_value <= x_limit
    ]
    axes.bar(
        [count.measure_value for count in drawn],
        [count.voucher_count for count in drawn],
        width=0.9,
        color=[
            colour_of.get(count.segment_variant, NO_VARIANT_COLOUR) for count in drawn
        ],
    )
    if not drawn:
        axes.text(
            0.5,
            0.5,
            f"no kept voucher from 0 to {x_limit}",
            ha="center",
            va="center",
            transform=axes.transAxes,
        )
        axes.set_yticks([])
    axes.set_xlim(-1, x_limit + 1)
    axes.set_ylim(bottom=0)
    axes.set_xlabel(x_label)
    axes.set_ylabel("kept vouchers")
    axes.yaxis.set_major_formatter(THOUSANDS)
    axes.set_title(title, loc="left", pad=22, fontsize=11)
    axes.spines[["top", "right"]].set_visible(False)
    return figure


def amount_distribution(
    variants: Sequence[str],
    counts: Sequence[AmountCount],
    modes: dict[str, int | None],
) -> Figure:
    """One panel per variant: vouchers per amount, the mode hatched and labelled.

    `modes` maps each variant to the amount marts.voucher_segment_modes chose
    (None: no history, drawn as an empty panel saying so). Every panel has
    the same amounts on its x axis so the variants compare at a glance.
    """
    amounts = sorted({count.voucher_amount for count in counts})
    figure = Figure(figsize=(max(2.6 * len(variants), 5), 3.4), layout="constrained")
    panels = figure.subplots(1, len(variants), squeeze=False)[0]
    for axes, variant in zip(panels, variants, strict=True):
        axes.set_title(variant, fontsize=10)
        axes.spines[["top", "right"]].set_visible(False)
        by_amount = {
            count.voucher_amount: count.voucher_count
            for count in counts
            if count.segment_variant == variant
        }
        mode = modes.get(variant)
        if mode is None or not by_amount:
            _say(axes, "no history")
            continue
        positions = range(len(amounts))
        heights = [by_amount.get(amount, 0) for amount in amounts]
        is_mode = [amount == mode for amount in amounts]
        bars = axes.bar(
            positions,
            heights,
            color=[MODE_COLOUR if flag else OTHER_AMOUNT_COLOUR for flag in is_mode],
        )
        for bar, flag in zip(bars, is_mode, strict=True):
            if flag:
                bar.set_hatch("//")
                bar.set_edgecolor("black")
        axes.bar_label(
            bars,
            labels=["mode" if flag else "" for flag in is_mode],
            fontsize=8,
            fontweight="bold",
        )
        axes.set_xticks(
            positions, [f"{amount:,}" for amount in amounts], rotation=60, fontsize=8
        )
        axes.set_ylim(0, max(heights) * 1.15)
        axes.tick_params(axis="y", labelsize=8)
        axes.yaxis.set_major_formatter(THOUSANDS)
    panels[0].set_ylabel("kept vouchers")
    figure.supxlabel("voucher amount", fontsize=9)
    return figure


def _say(axes: Axes, text: str) -> None:
    """An empty panel that says why it is empty."""
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes)
    axes.set_xticks([])
    axes.set_yticks([])
    axes.spines[["left", "bottom"]].set_color(NO_VARIANT_COLOUR)


def png(figure: Figure) -> bytes:
    """The figure as PNG bytes, rendered by Agg."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()
