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


def kept_rows(parquet: Path, countries: Sequence[str]) -> pd.DataFrame:
    """The rows that survive the cleaning rules, with their measures."""
    frame = pd.read_parquet(parquet)
    canonical = {country.lower(): country for country in countries}
    frame["country"] = frame["country_code"].str.strip().str.lower().map(canonical)
    frame = frame[frame["country"].notna()]

    orders = pd.to_numeric(frame["total_orders"].str.strip(), errors="coerce")
    whole = orders.notna() & (orders >= 0) & (orders == np.floor(orders))
    frame = frame.assign(orders=orders)[whole & frame["voucher_amount"].notna()]

    given = pd.to_datetime(frame["timestamp"], format="ISO8601")
    last = pd.to_datetime(frame["last_order_ts"], format="ISO8601")
    first = pd.to_datetime(frame["first_order_ts"])
    dated = last.notna() | first.notna()
    valid = ~((frame["orders"] == 0) & dated) & ~(last < first)
    frame = frame.assign(
        days=(given.dt.normalize() - last.dt.normalize()).dt.days,
        amount=frame["voucher_amount"].astype("int64"),
    )
    return frame[valid]


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
