"""The canonical text form of non-string Parquet values (loader.text_format)."""

import decimal
from datetime import date, datetime

import pyarrow as pa
import pytest

from loader.text_format import is_supported, to_text


def test_strings_pass_through_with_empty_and_null_kept_apart() -> None:
    values = pa.array(["", None, " x ", "4.0"])
    assert to_text(values).to_pylist() == ["", None, " x ", "4.0"]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_timestamps_render_like_python_isoformat_with_a_space(unit: str) -> None:
    per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[unit]
    ticks = [0, per_second * 1_532_199_561, -per_second // 2 if unit != "s" else -1]
    if unit != "s":
        ticks.append(per_second * 1_532_199_561 + per_second // 4)
    values = pa.array([*ticks, None], pa.timestamp(unit))
    expected = [None if v is None else str(v) for v in values.to_pylist()]
    assert to_text(values).to_pylist() == expected


def test_timestamp_formats_are_exact() -> None:
    values = pa.array(
        [datetime(2018, 4, 20), datetime(2018, 7, 21, 18, 59, 21, 102761)],
        pa.timestamp("ms"),
    )
    # ms precision: the fraction is zero-padded to microseconds.
    assert to_text(values).to_pylist() == [
        "2018-04-20 00:00:00",
        "2018-07-21 18:59:21.102000",
    ]


def test_nanoseconds_are_not_truncated() -> None:
    values = pa.array([1_000_000_001, 1_000_001_000], pa.timestamp("ns"))
    assert to_text(values).to_pylist() == [
        "1970-01-01 00:00:01.000000001",
        "1970-01-01 00:00:01.000001",
    ]


def test_zoned_timestamps_are_rendered_in_utc() -> None:
    values = pa.array([0, 1_500], pa.timestamp("ms", tz="Asia/Tokyo"))
    assert to_text(values).to_pylist() == [
        "1970-01-01 00:00:00+00:00",
        "1970-01-01 00:00:01.500000+00:00",
    ]


def test_doubles_render_like_python_repr() -> None:
    numbers = [2640.0, 0.1, 1e16, 1e15, -0.0, 0.0, 1.5e-7, 123456789.125]
    values = pa.array([*numbers, float("nan"), float("inf"), None])
    assert to_text(values).to_pylist() == [
        *(repr(number) for number in numbers),
        "nan",
        "inf",
        None,
    ]


def test_float32_uses_its_own_shortest_form() -> None:
    assert to_text(pa.array([0.1, 2640.0], pa.float32())).to_pylist() == [
        "0.1",
        "2640.0",
    ]


def test_other_scalars() -> None:
    assert to_text(pa.array([42, -7, None], pa.int32())).to_pylist() == [
        "42",
        "-7",
        None,
    ]
    assert to_text(pa.array([True, False])).to_pylist() == ["true", "false"]
    assert to_text(pa.array([date(2018, 4, 20)])).to_pylist() == ["2018-04-20"]
    assert to_text(
        pa.array([decimal.Decimal("1.50")], pa.decimal128(5, 2))
    ).to_pylist() == ["1.50"]
    assert to_text(pa.array(["a", None, "a"]).dictionary_encode()).to_pylist() == [
        "a",
        None,
        "a",
    ]
    assert to_text(pa.array(["x"], pa.large_string())).type == pa.string()


def test_nested_types_are_not_supported() -> None:
    assert not is_supported(pa.list_(pa.int64()))
    assert not is_supported(pa.struct([("a", pa.int64())]))
    assert not is_supported(pa.binary())
    with pytest.raises(TypeError):
        to_text(pa.array([[1]]))


def test_repetitive_timestamps_render_the_same_as_unique_ones() -> None:
    # Long and repetitive: takes the render-each-distinct-value-once path.
    days = [86_400_000 * (i % 50) + (i % 3) * 250 for i in range(20_000)]
    values = pa.array([*days, None], pa.timestamp("ms"))
    expected = [None if v is None else str(v) for v in values.to_pylist()]
    assert to_text(values).to_pylist() == expected
