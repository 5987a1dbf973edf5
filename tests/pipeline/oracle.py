"""An independent computation of the marts, in pandas, from the Parquet file.

Written differently from the dbt models on purpose: pandas parsing instead of
SQL macros, the segment bounds typed in from the issue instead of read from the
seed, ``value_counts`` instead of window functions. If both agree on the real
file, a mistake would have to be made twice, in two different ways.
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

FREQUENT = [("0-4", 0, 4), ("5-13", 5, 13), ("14-37", 14, 37)]
RECENCY = [
    ("30-60", 30, 60),
    ("61-90", 61, 90),
    ("91-120", 91, 120),
    ("121-180", 121, 180),
    ("180+", 181, np.inf),
]
SEGMENTS = {"frequent_segment": FREQUENT, "recency_segment": RECENCY}
# The README's whole number ('4', '4.0'; nine digits at most) and ISO 8601
# shape; pandas then checks the calendar and the clock.
WHOLE_NUMBER = r"[0-9]{1,9}([.]0*)?"
ISO_SHAPE = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?"
    r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?"
)


def kept_rows(parquet: Path, countries: Sequence[str]) -> pd.DataFrame:
    """The rows that survive the cleaning rules, with their measures."""
    frame = pd.read_parquet(parquet)
    canonical = {country.lower(): country for country in countries}
    frame["country"] = frame["country_code"].str.strip().str.lower().map(canonical)
    frame = frame[frame["country"].notna()]

    orders_text = frame["total_orders"].str.strip()
    orders = pd.to_numeric(orders_text, errors="coerce")
    whole = orders_text.str.fullmatch(WHOLE_NUMBER).fillna(False).astype(bool)
    frame = frame.assign(orders=orders)[whole & frame["voucher_amount"].notna()]

    given, given_ok = _instants(frame["timestamp"])
    last, last_ok = _instants(frame["last_order_ts"])
    first = pd.to_datetime(frame["first_order_ts"], utc=True)
    dated = last.notna() | first.notna()
    valid = given_ok & last_ok & ~((frame["orders"] == 0) & dated) & ~(last < first)
    frame = frame.assign(
        days=(given.dt.normalize() - last.dt.normalize()).dt.days,
        amount=frame["voucher_amount"].astype("int64"),
    )
    return frame[valid]


def _instants(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(UTC instants, whether each row's text is absent or a real instant)."""
    text = text.str.strip().replace("", None)
    shaped = text.str.fullmatch(ISO_SHAPE).fillna(False).astype(bool)
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    if shaped.any():
        parsed[shaped] = pd.to_datetime(
            text[shaped], format="ISO8601", utc=True, errors="coerce"
        )
    return parsed, text.isna() | parsed.notna()


def most_used(amounts: pd.Series) -> tuple[int, int]:
    """(amount, count): the most frequent amount, the smaller one on a tie."""
    counts = amounts.value_counts()
    best = counts.max()
    return int(counts[counts == best].index.min()), int(best)


def segment_modes(kept: pd.DataFrame, countries: Sequence[str]) -> pd.DataFrame:
    """One row per country x segment x variant, as voucher_segment_modes."""
    rows = []
    for country in countries:
        in_country = kept[kept["country"] == country]
        for segment, variants in SEGMENTS.items():
            measure = in_country["orders" if segment == "frequent_segment" else "days"]
            for variant, low, high in variants:
                amounts = in_country.loc[measure.between(low, high), "amount"]
                amount, count = most_used(amounts) if len(amounts) else (None, 0)
                rows.append(
                    {
                        "country_code": country,
                        "segment_name": segment,
                        "segment_variant": variant,
                        "voucher_amount": amount,
                        "voucher_amount_count": count,
                        "segment_voucher_count": len(amounts),
                    }
                )
    return pd.DataFrame(rows)


def country_modes(kept: pd.DataFrame, countries: Sequence[str]) -> pd.DataFrame:
    """One row per country, as voucher_country_modes."""
    rows = []
    for country in countries:
        amounts = kept.loc[kept["country"] == country, "amount"]
        amount, count = most_used(amounts)
        rows.append(
            {
                "country_code": country,
                "voucher_amount": amount,
                "voucher_amount_count": count,
                "country_voucher_count": len(amounts),
            }
        )
    return pd.DataFrame(rows)
