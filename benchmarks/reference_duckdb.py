"""The whole job as one hand-written DuckDB query over the Parquet file.

The yardstick of the pipeline benchmark (issue: within 3x of this): parse,
clean, segment, count and take the mode with its tie-break in one statement,
straight from the file, without raw tables, dbt or tests. Written from the
rules in the README, independently of the dbt models: DuckDB's own timestamp
cast behind a shape check instead of the portable macro, the segment bounds
typed in (tests/pipeline/oracle.py's) instead of read from the seed.

    .venv/bin/python benchmarks/reference_duckdb.py FILE [--countries Peru,China]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# The README's shapes of an ISO 8601 instant and a whole number, as the
# pandas oracle spells them; DuckDB's cast then checks the calendar. Two
# spellings it would judge differently are settled first: hour 24 (DuckDB
# rolls it over; the rules refuse it) and HH:MM followed by an offset (DuckDB
# wants the seconds; the rules do not).
from tests.pipeline.oracle import ISO_SHAPE, SEGMENTS, WHOLE_NUMBER  # noqa: E402


def _timestamp(column: str) -> str:
    text = f"nullif(trim({column}), '')"
    with_seconds = (
        f"regexp_replace({text}, '^([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[T ]"
        f"[0-9]{{2}}:[0-9]{{2}})([Z+-].*)?$', '\\1:00\\2')"
    )
    return f"""case
        when regexp_full_match({text}, '{ISO_SHAPE}')
            and (length({text}) = 10 or substring({text}, 12, 2)::int <= 23)
            then try_cast({with_seconds} as timestamptz)
    end"""


def _variants(measure: str, variants) -> str:
    whens = " ".join(
        f"when {measure} between {low} and {high} then '{name}'"
        if high != float("inf")
        else f"when {measure} >= {low} then '{name}'"
        for name, low, high in variants
    )
    return f"case {whens} end"


def query(parquet: Path, countries: Sequence[str]) -> str:
    # The countries as literals: an IN list of constants is several times
    # faster here than a join to an unnested list.
    keys = ", ".join(f"'{country.strip().lower()}'" for country in countries)
    names = " ".join(
        f"when '{country.strip().lower()}' then '{country}'" for country in countries
    )
    frequent = _variants("orders", SEGMENTS["frequent_segment"])
    recency = _variants("days", SEGMENTS["recency_segment"])
    return f"""
with source as (
    select
        lower(trim(country_code)) as country_key,
        nullif(trim("timestamp"), '') as given_text,
        nullif(trim(last_order_ts), '') as last_text,
        nullif(trim(total_orders), '') as orders_text,
        first_order_ts::timestamptz as first_at,
        voucher_amount
    from read_parquet('{parquet}')
),
in_scope as (
    select
        case country_key {names} end as country_code,
        given_text, last_text, first_at,
        {_timestamp("given_text")} as given_at,
        {_timestamp("last_text")} as last_at,
        case when regexp_full_match(orders_text, '{WHOLE_NUMBER}')
            then orders_text::decimal(12, 1)::int end as orders,
        case when voucher_amount >= 0 and voucher_amount < 1e9
            and voucher_amount = floor(voucher_amount)
            and not signbit(voucher_amount)
            then voucher_amount::int end as amount
    from source
    where country_key in ({keys})
),
kept as (
    select
        country_code, orders, amount,
        cast(given_at as date) - cast(last_at as date) as days
    from in_scope
    where orders is not null
        and amount is not null
        and (given_text is null or given_at is not null)
        and (last_text is null or last_at is not null)
        and not (orders = 0 and (last_at is not null or first_at is not null))
        and not coalesce(last_at < first_at, false)
),
placed as (
    select country_code, amount,
        'frequent_segment' as segment_name, {frequent} as segment_variant
    from kept
    union all
    select country_code, amount, 'recency_segment', {recency}
    from kept
),
counted as (
    select country_code, segment_name, segment_variant, amount, count(*) as n
    from placed
    where segment_variant is not null
    group by all
),
segment_modes as (
    select
        country_code, segment_name, segment_variant,
        arg_min(amount, (-n, amount)) as voucher_amount,
        max(n) as voucher_amount_count,
        sum(n) as segment_voucher_count
    from counted
    group by all
),
country_counted as (
    select country_code, amount, count(*) as n from kept group by all
),
country_modes as (
    select
        country_code,
        arg_min(amount, (-n, amount)) as voucher_amount,
        max(n) as voucher_amount_count,
        sum(n) as country_voucher_count
    from country_counted
    group by all
)
select 'segment' as kind, to_json(segment_modes) from segment_modes
union all
select 'country', to_json(country_modes) from country_modes
union all
select 'totals', to_json({{
    'in_scope': (select count(*) from in_scope),
    'kept': (select count(*) from kept)
}})
"""


def answers(parquet: Path, countries: Sequence[str]) -> dict:
    """{"segment_modes": [...], "country_modes": [...], "in_scope", "kept"}."""
    connection = duckdb.connect()
    connection.execute("set TimeZone = 'UTC'")
    rows = connection.execute(query(parquet, countries)).fetchall()
    connection.close()
    result: dict = {"segment_modes": [], "country_modes": []}
    for kind, document in rows:
        value = json.loads(document)
        if kind == "totals":
            result.update(value)
        else:
            result[f"{kind}_modes"].append(value)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parquet", type=Path)
    parser.add_argument("--countries", default="Peru")
    args = parser.parse_args()
    started = time.perf_counter()
    result = answers(args.parquet, args.countries.split(","))
    print(json.dumps(result, indent=1, sort_keys=True))
    print(f"{time.perf_counter() - started:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
