"""Deterministic synthetic voucher data with the real file's schema and its dirt.

The distributions loosely follow ``data.parquet.gzip`` (countries, the amounts each
country hands out, the hour of day, order counts and the gap between first and last
order), but the recency at voucher time is spread over every segment range so the
dbt rules have something to bite on. On top come the kinds of dirt the pipeline
must survive: ``''`` and junk in ``total_orders``, null amounts, voucher timestamps
shifted into 2015, mixed country spelling, zero orders with order dates present,
last orders before first orders and unparseable timestamps.

Rows are produced in fixed-size chunks, each from its own ``Generator`` seeded by
``(seed, chunk index)``, so the output depends only on ``seed`` and ``rows`` and
memory stays bounded however many rows are asked for.
"""

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dwh.origin import ORIGIN_METADATA_KEY, ORIGIN_SYNTHETIC

# The real file's Arrow schema, field for field.
VOUCHER_SCHEMA: Final = pa.schema(
    [
        ("timestamp", pa.string()),
        ("country_code", pa.string()),
        ("last_order_ts", pa.string()),
        ("first_order_ts", pa.timestamp("ms")),
        ("total_orders", pa.string()),
        ("voucher_amount", pa.float64()),
    ]
)

# Part of the output contract: changing it changes every generated file.
CHUNK_ROWS: Final = 262_144

_EPOCH = date(1970, 1, 1)
_FIRST_VOUCHER_DAY: Final = (date(2018, 6, 9) - _EPOCH).days
VOUCHER_DAYS: Final = 53  # 2018-06-09 .. 2018-07-31, as in the real file
# The real file moves ~8 % of voucher timestamps back by exactly this many days
# (2018-06-09 -> 2015-04-09); order dates stay in 2018.
_SHIFT_DAYS: Final = 1157
_SHIFT_SHARE: Final = 0.08
_US_PER_DAY: Final = 86_400_000_000
_US_PER_HOUR: Final = 3_600_000_000

# Vouchers per hour of day (13h .. 23h) in the real file.
_HOURS: Final = np.arange(13, 24)
_HOUR_WEIGHTS: Final = np.array(
    [807, 11597, 28688, 34796, 53189, 50902, 48027, 36716, 15158, 5689, 1], float
)

_COUNTRIES: Final = ("China", "Australia", "Latvia", "Peru")
_COUNTRY_WEIGHTS: Final = np.array([99738, 78396, 62516, 44920], float)
# How the country is spelled: clean most of the time, otherwise one of these.
_SPELLINGS: Final[tuple[Callable[[str], str], ...]] = (
    lambda name: name,
    lambda name: f" {name.lower()} ",
    lambda name: name.upper(),
    lambda name: name.lower(),
    lambda name: f"{name} ",
)
_MESSY_SPELLING_SHARE: Final = 0.01

# Voucher amounts per country (same order as _COUNTRIES) and how often each occurs;
# a NaN amount becomes a null.
_AMOUNTS: Final = (
    ((1760, 47483), (8800, 22780), (4400, 17871), (5720, 5955), (3080, 5308)),
    ((2200, 28670), (5720, 25234), (11000, 14607), (1760, 4802), (3520, 4520)),
    ((4400, 23980), (13200, 21968), (8800, 10343), (1540, 3138), (3080, 3079)),
    ((2640, 23040), (3520, 10640), (4400, 10421)),
)
_NULL_AMOUNT_SHARE: Final = (0.0034, 0.0072, 0.0001, 0.0182)

# Days between last order and voucher: one range per recency segment
# (<30, 30-60, 61-90, 91-120, 121-180, 180+), inclusive bounds.
_RECENCY_RANGES: Final = (
    (0, 29),
    (30, 60),
    (61, 90),
    (91, 120),
    (121, 180),
    (181, 730),
)
_RECENCY_WEIGHTS: Final = np.array([0.06, 0.32, 0.14, 0.28, 0.13, 0.07])

# Orders per frequency segment (0-4, 5-13, 14-37, 38+), as shares of the real file.
_FREQUENCY_RANGES: Final = ((0, 4), (5, 13), (14, 37), (38, 466))
_FREQUENCY_WEIGHTS: Final = np.array([115431, 68053, 46521, 32720], float)
_LOW_ORDER_WEIGHTS: Final = np.array([33496, 14564, 35137, 9446, 22788], float)
_HEAVY_USER_MEAN_EXTRA: Final = 60.0
_EMPTY_ORDERS_SHARE: Final = 0.08
_JUNK_ORDERS_SHARE: Final = 0.002
_JUNK_ORDERS: Final = ("abc", "-3.0", "2.5", "n/a", "1,0", " 7.0")

# Days between first and last order: log-normal around the real median (82 days),
# and a sixth of customers ordered on one day only.
_SAME_DAY_SHARE: Final = 0.16
_SPAN_MEDIAN_DAYS: Final = 90.0
_SPAN_SIGMA: Final = 1.1
_SPAN_MAX_DAYS: Final = 2900
_LAST_BEFORE_FIRST_SHARE: Final = 0.005

_BAD_TIMESTAMP_SHARE: Final = 0.0005
_BAD_TIMESTAMPS: Final = ("not a timestamp", "2018-13-45 25:61:00", "21/07/2018 18:59")
_BAD_DATES: Final = ("2018-02-30", "unknown", "20180621")


def generate(
    out: Path,
    rows: int,
    seed: int,
    on_progress: Callable[[int], None] | None = None,
    day: int | None = None,
) -> None:
    """Write ``rows`` synthetic vouchers to the Parquet file ``out``.

    The same ``rows``, ``seed`` and ``day`` give a byte-identical file (for one
    pyarrow version). ``day``: every voucher is given on that campaign day
    (0 = 2018-06-09) instead of across the campaign, as in a daily file (the
    2015-shifted and unparseable ones aside). ``on_progress`` is called with
    the rows written so far.
    """
    if rows < 0:
        raise ValueError("rows must not be negative")
    out.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename, so a killed run leaves no half file.
    partial = out.with_name(out.name + ".partial")
    # Marked as the generator's, so the product can say it serves demo data.
    schema = VOUCHER_SCHEMA.with_metadata({ORIGIN_METADATA_KEY: ORIGIN_SYNTHETIC})
    with pq.ParquetWriter(partial, schema, compression="zstd") as writer:
        written = 0
        chunk_index = 0
        while written < rows:
            size = min(CHUNK_ROWS, rows - written)
            key = [seed, chunk_index] if day is None else [seed, day, chunk_index]
            rng = np.random.default_rng(key)
            writer.write_batch(voucher_batch(rng, size, day), row_group_size=CHUNK_ROWS)
            written += size
            chunk_index += 1
            if on_progress is not None:
                on_progress(written)
    partial.replace(out)


def generate_daily(
    folder: Path,
    rows: int,
    seed: int,
    days: int,
    on_progress: Callable[[int], None] | None = None,
) -> list[Path]:
    """Write ``rows`` synthetic vouchers as ``days`` daily files in ``folder``,
    ``vouchers-<day>.parquet`` from the campaign's first day; return them."""
    if not 1 <= days <= VOUCHER_DAYS:
        raise ValueError(f"days must be between 1 and {VOUCHER_DAYS}")
    paths = []
    done = 0
    for day in range(days):
        size = rows // days + (1 if day < rows % days else 0)
        given = _EPOCH + timedelta(days=_FIRST_VOUCHER_DAY + day)
        path = folder / f"vouchers-{given:%Y-%m-%d}.parquet"

        def progress(written: int, before: int = done) -> None:
            if on_progress is not None:
                on_progress(before + written)

        generate(path, size, seed, progress, day=day)
        done += size
        paths.append(path)
    return paths


def voucher_batch(
    rng: np.random.Generator, rows: int, day: int | None = None
) -> pa.RecordBatch:
    """One chunk of synthetic vouchers drawn from ``rng`` (on one campaign
    ``day``, or across the campaign)."""
    voucher_us = _voucher_times(rng, rows, day)
    voucher_day = voucher_us // _US_PER_DAY
    country = rng.choice(len(_COUNTRIES), rows, p=_shares(_COUNTRY_WEIGHTS))
    last_order_day = voucher_day - _draw_ranges(
        rng, rows, _RECENCY_RANGES, _RECENCY_WEIGHTS
    )
    orders = _order_counts(rng, rows)
    first_order_day = last_order_day - _order_spans(rng, orders)

    shifted = rng.random(rows) < _SHIFT_SHARE
    voucher_us = np.where(shifted, voucher_us - _SHIFT_DAYS * _US_PER_DAY, voucher_us)
    swapped = rng.random(rows) < _LAST_BEFORE_FIRST_SHARE
    first_order_day = np.where(
        swapped, last_order_day + rng.integers(1, 61, rows), first_order_day
    )

    return pa.record_batch(
        [
            _with_junk(
                rng,
                pc.strftime(
                    pa.array(voucher_us, pa.timestamp("us")),
                    format="%Y-%m-%d %H:%M:%S",
                ),
                _BAD_TIMESTAMP_SHARE,
                _BAD_TIMESTAMPS,
            ),
            _country_names(rng, country),
            _with_junk(
                rng,
                pa.array(last_order_day.astype(np.int32), pa.date32()).cast(
                    pa.string()
                ),
                _BAD_TIMESTAMP_SHARE,
                _BAD_DATES,
            ),
            pa.array(first_order_day * 86_400_000, pa.timestamp("ms")),
            _order_text(rng, orders),
            _amounts(rng, country),
        ],
        schema=VOUCHER_SCHEMA,
    )


def _shares(weights: np.ndarray) -> np.ndarray:
    return weights / weights.sum()


def _voucher_times(
    rng: np.random.Generator, rows: int, day: int | None = None
) -> np.ndarray:
    """Microseconds since the epoch: a campaign day, an hour as in the real file."""
    if day is None:
        day = _FIRST_VOUCHER_DAY + rng.integers(0, VOUCHER_DAYS, rows)
    else:
        day = np.full(rows, _FIRST_VOUCHER_DAY + day)
    hour = rng.choice(_HOURS, rows, p=_shares(_HOUR_WEIGHTS))
    within_hour = rng.integers(0, _US_PER_HOUR, rows)
    return day * _US_PER_DAY + hour * _US_PER_HOUR + within_hour


def _draw_ranges(
    rng: np.random.Generator,
    rows: int,
    ranges: tuple[tuple[int, int], ...],
    weights: np.ndarray,
) -> np.ndarray:
    """Pick a range per row by weight, then a uniform integer inside it."""
    bounds = np.array(ranges)
    which = rng.choice(len(ranges), rows, p=_shares(weights))
    low, high = bounds[which, 0], bounds[which, 1]
    return low + (rng.random(rows) * (high - low + 1)).astype(np.int64)


def _order_counts(rng: np.random.Generator, rows: int) -> np.ndarray:
    counts = _draw_ranges(rng, rows, _FREQUENCY_RANGES, _FREQUENCY_WEIGHTS)
    # Within 0-4 and 38+ the real file is far from uniform.
    low = counts <= _FREQUENCY_RANGES[0][1]
    counts[low] = rng.choice(5, int(low.sum()), p=_shares(_LOW_ORDER_WEIGHTS))
    heavy = counts >= _FREQUENCY_RANGES[-1][0]
    extra = rng.exponential(_HEAVY_USER_MEAN_EXTRA, int(heavy.sum())).astype(np.int64)
    counts[heavy] = np.minimum(
        _FREQUENCY_RANGES[-1][0] + extra, _FREQUENCY_RANGES[-1][1]
    )
    return counts


def _order_spans(rng: np.random.Generator, orders: np.ndarray) -> np.ndarray:
    """Days from first to last order; zero for one-order customers."""
    rows = len(orders)
    span = rng.lognormal(np.log(_SPAN_MEDIAN_DAYS), _SPAN_SIGMA, rows)
    span = np.minimum(span, _SPAN_MAX_DAYS).astype(np.int64)
    same_day = (rng.random(rows) < _SAME_DAY_SHARE) | (orders == 1)
    return np.where(same_day, 0, span)


def _country_names(rng: np.random.Generator, country: np.ndarray) -> pa.Array:
    rows = len(country)
    spelling = np.where(
        rng.random(rows) < _MESSY_SPELLING_SHARE,
        rng.integers(1, len(_SPELLINGS), rows),
        0,
    )
    vocabulary = pa.array(
        [spell(name) for name in _COUNTRIES for spell in _SPELLINGS], pa.string()
    )
    return vocabulary.take(pa.array(country * len(_SPELLINGS) + spelling))


def _order_text(rng: np.random.Generator, orders: np.ndarray) -> pa.Array:
    """Order counts as the real file writes them ('4.0'), with '' and junk."""
    text = pc.binary_join_element_wise(pa.array(orders).cast(pa.string()), ".0", "")
    draw = rng.random(len(orders))
    text = pc.if_else(pa.array(draw < _EMPTY_ORDERS_SHARE), "", text)
    return _with_junk(rng, text, _JUNK_ORDERS_SHARE, _JUNK_ORDERS)


def _amounts(rng: np.random.Generator, country: np.ndarray) -> pa.Array:
    rows = len(country)
    amount = np.empty(rows)
    for index, table in enumerate(_AMOUNTS):
        in_country = country == index
        values = np.array([value for value, _ in table], float)
        weights = np.array([count for _, count in table], float)
        amount[in_country] = rng.choice(
            values, int(in_country.sum()), p=_shares(weights)
        )
    is_null = rng.random(rows) < np.array(_NULL_AMOUNT_SHARE)[country]
    return pa.array(amount, pa.float64(), mask=is_null)


def _with_junk(
    rng: np.random.Generator,
    text: pa.Array,
    share: float,
    junk: tuple[str, ...],
) -> pa.Array:
    """Replace a ``share`` of values by picks from ``junk``."""
    rows = len(text)
    is_junk = pa.array(rng.random(rows) < share)
    picks = pa.array(junk, pa.string()).take(pa.array(rng.integers(0, len(junk), rows)))
    return pc.if_else(is_junk, picks, text)
