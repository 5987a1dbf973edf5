"""The hot path's own parsing and rendering, against the slow obvious versions."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.contract import encode
from api.timestamps import (
    PARSED_TIMESTAMPS_KEPT,
    TIMESTAMP_PATTERN,
    InvalidTimestamp,
    format_utc,
    parse_timestamp,
)


@pytest.mark.parametrize(
    "instant",
    [
        datetime(2024, 6, 30, 12, 0, 0, tzinfo=UTC),
        datetime(2024, 6, 30, 12, 0, 0, 1, tzinfo=UTC),
        datetime(2024, 6, 30, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=UTC),
    ],
)
def test_answers_render_instants_as_format_utc_does(instant):
    answer = {"as_of": instant, "voucher_amount": 2640}
    assert json.loads(encode(answer)) == {
        "as_of": format_utc(instant),
        "voucher_amount": 2640,
    }


@pytest.mark.parametrize("big", [2**64, -(2**63) - 1, 10**30])
def test_integers_past_64_bits_are_echoed_exactly(big):
    instant = datetime(2024, 6, 30, 12, tzinfo=UTC)
    answer = {"customer_id": big, "as_of": instant, "country_code": "Perú"}
    assert json.loads(encode(answer)) == {
        "customer_id": big,
        "as_of": "2024-06-30T12:00:00Z",
        "country_code": "Perú",
    }


def test_non_ascii_text_is_utf_8_json():
    encoded = encode({"customer_id": "Señora 李"})
    assert json.loads(encoded.decode("utf-8")) == {"customer_id": "Señora 李"}


def _reference_parse(text: str) -> datetime:
    """What parse_timestamp means, written the plain way."""
    parsed = datetime.fromisoformat(text.upper())
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-01",
        "2024-05-01 08:00",
        "2024-05-01T08:00:00",
        "2024-05-01t08:00:00z",
        "2024-05-01T08:00:00Z",
        "2024-05-01 08:00:00.123456789",
        "2024-05-01T08:00:00.5+05:30",
        "2024-05-01T23:30:00-05:00",
        "2024-05-01T08:00:00+0530",
        "2024-05-01T08:00:00-00:00",
        "2024-02-29",
        "9999-12-31T23:59:59",
    ],
)
def test_timestamps_parse_as_fromisoformat_in_utc(text):
    parsed = parse_timestamp(text)
    assert parsed.utc == _reference_parse(text)
    assert parsed.utc.tzinfo is UTC
    assert parsed.date_only is (len(text) == 10)


@pytest.mark.parametrize(
    "text",
    ["2023-02-29", "2024-05-01T24:00:00", "0001-01-01T00:00:00+05:00", "2024-5-1"],
)
def test_impossible_timestamps_are_refused(text):
    with pytest.raises(InvalidTimestamp):
        parse_timestamp(text)


def test_an_offset_instant_is_converted_to_utc():
    parsed = parse_timestamp("2024-05-31T23:30:00-05:00")
    expected = datetime(2024, 5, 31, 23, 30, tzinfo=timezone(-timedelta(hours=5)))
    assert parsed.utc == expected
    assert date.fromordinal(parsed.utc_day).isoformat() == "2024-06-01"


@settings(max_examples=500, deadline=None)
@given(st.from_regex(TIMESTAMP_PATTERN, fullmatch=True))
def test_every_spelling_the_pattern_admits_parses_as_fromisoformat(text):
    try:
        expected = _reference_parse(text)
    except (ValueError, OverflowError):  # e.g. 2023-02-29, 0001-01-01+05:00
        with pytest.raises(InvalidTimestamp):
            parse_timestamp(text)
        return
    parsed = parse_timestamp(text)
    assert parsed.utc == expected
    assert parsed.utc_day == expected.toordinal()


def test_parsed_timestamps_are_kept_but_refusals_are_not():
    parse_timestamp.cache_clear()
    first = parse_timestamp("2018-05-03 00:00:00")
    assert parse_timestamp("2018-05-03 00:00:00") is first
    for _ in range(3):
        with pytest.raises(InvalidTimestamp):
            parse_timestamp("2018-02-30")
    info = parse_timestamp.cache_info()
    assert (info.hits, info.currsize) == (1, 1)
    assert info.maxsize == PARSED_TIMESTAMPS_KEPT
