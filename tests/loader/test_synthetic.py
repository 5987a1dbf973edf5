"""The synthetic data generator: determinism, the real schema, the dirt."""

from datetime import date, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import loader.synthetic
from loader.synthetic import VOUCHER_SCHEMA, generate

REAL_AMOUNTS = {1540, 1760, 2200, 2640, 3080, 3520, 4400, 5720, 8800, 11000, 13200}


@pytest.fixture(scope="module")
def vouchers(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    path = tmp_path_factory.mktemp("synthetic") / "vouchers.parquet"
    generate(path, rows=40_000, seed=3)
    return pq.read_table(path).to_pylist()


def test_same_seed_gives_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small chunks, so the test also covers the chunk boundaries and a short tail.
    monkeypatch.setattr(loader.synthetic, "CHUNK_ROWS", 1_000)
    first, second, other = (tmp_path / f"{name}.parquet" for name in "abc")
    generate(first, rows=3_500, seed=11)
    generate(second, rows=3_500, seed=11)
    generate(other, rows=3_500, seed=12)
    assert first.read_bytes() == second.read_bytes()
    assert pq.read_metadata(first).num_rows == 3_500
    assert pq.read_metadata(first).num_row_groups == 4
    assert pq.read_table(first) != pq.read_table(other)


def test_chunks_differ_from_each_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loader.synthetic, "CHUNK_ROWS", 1_000)
    path = tmp_path / "chunks.parquet"
    generate(path, rows=2_000, seed=5)
    table = pq.read_table(path)
    assert (
        table.slice(0, 1_000).column("timestamp").to_pylist()
        != table.slice(1_000, 1_000).column("timestamp").to_pylist()
    )


@pytest.mark.shared_data
def test_schema_matches_the_real_file(tmp_path: Path, shared_data_file: Path) -> None:
    real = pq.read_schema(shared_data_file)
    path = tmp_path / "schema.parquet"
    generate(path, rows=10, seed=1)
    generated = pq.read_schema(path)
    assert [(f.name, f.type) for f in generated] == [(f.name, f.type) for f in real]
    assert [(f.name, f.type) for f in VOUCHER_SCHEMA] == [
        (f.name, f.type) for f in real
    ]


def _share(rows: list[dict], predicate) -> float:
    return sum(1 for row in rows if predicate(row)) / len(rows)


def _parse_timestamp(text: str | None) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f")
    except (TypeError, ValueError):
        return None


def _parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text and len(text) == 10 else None
    except ValueError:
        return None


def _orders(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def test_total_orders_dirt(vouchers: list[dict]) -> None:
    values = {row["total_orders"] for row in vouchers}
    assert 0.05 < _share(vouchers, lambda r: r["total_orders"] == "") < 0.11
    assert {"abc", "-3.0", "2.5"} <= values
    assert "4.0" in values and "0.0" in values
    # Zero orders, yet order timestamps are present.
    assert any(
        row["total_orders"] == "0.0" and row["first_order_ts"] and row["last_order_ts"]
        for row in vouchers
    )


def test_amounts_are_the_real_ones_with_nulls(vouchers: list[dict]) -> None:
    amounts = {row["voucher_amount"] for row in vouchers}
    assert None in amounts
    assert amounts - {None} == REAL_AMOUNTS
    assert 0.001 < _share(vouchers, lambda r: r["voucher_amount"] is None) < 0.02


def test_countries_with_messy_spelling(vouchers: list[dict]) -> None:
    spellings = {row["country_code"] for row in vouchers}
    assert {"Peru", "China", "Latvia", "Australia"} <= spellings
    assert {" peru ", "PERU"} <= spellings
    assert {name.strip().lower() for name in spellings} == {
        "peru",
        "china",
        "latvia",
        "australia",
    }
    messy = _share(
        vouchers, lambda r: r["country_code"] != r["country_code"].strip().title()
    )
    assert 0.003 < messy < 0.03


def test_timestamps_shifted_into_2015_and_unparseable(vouchers: list[dict]) -> None:
    years = [row["timestamp"][:4] for row in vouchers]
    assert 0.05 < years.count("2015") / len(years) < 0.11
    assert years.count("2018") / len(years) > 0.85
    assert any(_parse_timestamp(row["timestamp"]) is None for row in vouchers)
    assert any(_parse_date(row["last_order_ts"]) is None for row in vouchers)


def test_last_order_before_first_order_occurs(vouchers: list[dict]) -> None:
    swapped = _share(
        vouchers,
        lambda r: (
            (last := _parse_date(r["last_order_ts"])) is not None
            and last < r["first_order_ts"].date()
        ),
    )
    assert 0.001 < swapped < 0.02


def _recency_segment(days: int) -> str:
    if days < 30:
        return "<30"
    for low, high in ((30, 60), (61, 90), (91, 120), (121, 180)):
        if low <= days <= high:
            return f"{low}-{high}"
    return "180+"


def test_recency_spreads_over_every_segment(vouchers: list[dict]) -> None:
    segments: dict[str, int] = {}
    for row in vouchers:
        voucher_at = _parse_timestamp(row["timestamp"])
        last = _parse_date(row["last_order_ts"])
        if voucher_at is None or last is None or voucher_at.year != 2018:
            continue
        segment = _recency_segment((voucher_at.date() - last).days)
        segments[segment] = segments.get(segment, 0) + 1
    total = sum(segments.values())
    assert set(segments) == {"<30", "30-60", "61-90", "91-120", "121-180", "180+"}
    assert all(count / total > 0.03 for count in segments.values()), segments


def test_order_counts_spread_over_every_frequency_segment(
    vouchers: list[dict],
) -> None:
    counts = [n for row in vouchers if (n := _orders(row["total_orders"])) is not None]
    shares = {
        "0-4": sum(0 <= n <= 4 for n in counts) / len(counts),
        "5-13": sum(5 <= n <= 13 for n in counts) / len(counts),
        "14-37": sum(14 <= n <= 37 for n in counts) / len(counts),
        "38+": sum(n >= 38 for n in counts) / len(counts),
    }
    assert all(share > 0.08 for share in shares.values()), shares
    assert 0.35 < shares["0-4"] < 0.55  # the real file: 44 %


def test_voucher_hours_and_days_look_like_the_real_file(vouchers: list[dict]) -> None:
    parsed = [t for row in vouchers if (t := _parse_timestamp(row["timestamp"]))]
    in_2018 = [t for t in parsed if t.year == 2018]
    assert min(in_2018).date() >= date(2018, 6, 9)
    assert max(in_2018).date() <= date(2018, 7, 31)
    assert {t.hour for t in parsed} <= set(range(13, 24))
    first_orders = {row["first_order_ts"].time() for row in vouchers}
    assert first_orders == {datetime.min.time()}  # dates at midnight, as in the file
