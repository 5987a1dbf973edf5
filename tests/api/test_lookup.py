"""POST /api/vouchervalue through the HTTP route, on the in-memory mart.

Every boundary of both segments, the fallbacks, and the timestamp rules. Each
test runs against the WSGI and the ASGI app (see conftest.make_client).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from api.examples import EXAMPLE_REQUEST
from tests.api.fake_mart import CHINA_FALLBACK, PERU_FALLBACK

AS_OF = "2024-06-30T12:00:00Z"
AS_OF_DATE = date(2024, 6, 30)


def lookup(client, **body):
    return client.simulate_post("/api/vouchervalue", json=body)


def frequent(client, total_orders, country="Peru", **extra):
    body = {"country_code": country, "segment_name": "frequent_segment"}
    return lookup(client, total_orders=total_orders, **body, **extra)


def recency(client, days_ago, country="Peru", **extra):
    last = (AS_OF_DATE - timedelta(days=days_ago)).isoformat() + " 08:15:00"
    body = {"country_code": country, "segment_name": "recency_segment"}
    return lookup(client, last_order_ts=last, as_of=AS_OF, **body, **extra)


@pytest.mark.parametrize(
    ("total_orders", "variant", "amount", "source"),
    [
        (0, "0-4", 1000, "segment"),
        (4, "0-4", 1000, "segment"),
        (5, "5-13", 1500, "segment"),
        (13, "5-13", 1500, "segment"),
        (14, "14-37", 2000, "segment"),
        (37, "14-37", 2000, "segment"),
        (38, None, PERU_FALLBACK, "country_fallback"),
        (50, None, PERU_FALLBACK, "country_fallback"),
        (10**30, None, PERU_FALLBACK, "country_fallback"),
    ],
)
def test_frequent_segment_boundaries(client, total_orders, variant, amount, source):
    response = frequent(client, total_orders)
    assert response.status_code == 200, response.json
    assert response.json["segment_variant"] == variant
    assert response.json["voucher_amount"] == amount
    assert response.json["source"] == source
    assert response.json["total_orders"] == total_orders


@pytest.mark.parametrize(
    ("days", "variant", "amount", "source"),
    [
        (0, None, PERU_FALLBACK, "country_fallback"),
        (10, None, PERU_FALLBACK, "country_fallback"),
        (29, None, PERU_FALLBACK, "country_fallback"),
        (30, "30-60", 3000, "segment"),
        (60, "30-60", 3000, "segment"),
        (61, "61-90", 3500, "segment"),
        (90, "61-90", 3500, "segment"),
        # 91-120 has no history in the fake: the variant is named, the amount
        # is the country's.
        (91, "91-120", PERU_FALLBACK, "country_fallback"),
        (120, "91-120", PERU_FALLBACK, "country_fallback"),
        (121, "121-180", 4000, "segment"),
        (180, "121-180", 4000, "segment"),
        (181, "180+", 4500, "segment"),
        (5000, "180+", 4500, "segment"),
    ],
)
def test_recency_segment_boundaries(client, days, variant, amount, source):
    response = recency(client, days)
    assert response.status_code == 200, response.json
    assert response.json["days_since_last_order"] == days
    assert response.json["segment_variant"] == variant
    assert response.json["voucher_amount"] == amount
    assert response.json["source"] == source


def test_issue_example_body(client):
    response = lookup(client, **EXAMPLE_REQUEST, as_of="2019-01-01")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    # 2018-05-03 -> 2019-01-01 is 243 days: 180+.
    assert response.json == {
        "customer_id": 123,
        "country_code": "Peru",
        "segment_name": "recency_segment",
        "segment_variant": "180+",
        "voucher_amount": 4500,
        "source": "segment",
        "total_orders": 15,
        "days_since_last_order": 243,
        "as_of": "2019-01-01T00:00:00Z",
        "built_at": "2025-01-01T03:00:00Z",
    }


def test_issue_example_with_offsets(client):
    response = lookup(
        client,
        customer_id="abc",
        country_code="Peru",
        last_order_ts="2020-03-22 00:00:00+00:00",
        first_order_ts="2014-04-17T05:30:00.000+05:30",
        total_orders=15,
        segment_name="frequent_segment",
    )
    assert response.status_code == 200, response.json
    assert response.json["segment_variant"] == "14-37"
    assert response.json["voucher_amount"] == 2000
    assert response.json["customer_id"] == "abc"


def test_late_evening_offset_counts_the_utc_date(client):
    # 23:30 at -05:00 on May 31 is 04:30 UTC on June 1: 29 days before June 30
    # in UTC (no variant), although the local date would give 30 days.
    response = lookup(
        client,
        country_code="Peru",
        segment_name="recency_segment",
        last_order_ts="2024-05-31T23:30:00-05:00",
        as_of=AS_OF,
    )
    assert response.json["days_since_last_order"] == 29
    assert response.json["segment_variant"] is None
    assert response.json["source"] == "country_fallback"


def test_reference_time_with_offset_counts_the_utc_date(client):
    # as_of 22:00 at -03:00 on June 30 is July 1 in UTC: 30 days after June 1.
    response = lookup(
        client,
        country_code="Peru",
        segment_name="recency_segment",
        last_order_ts="2024-06-01T10:00:00Z",
        as_of="2024-06-30T22:00:00-03:00",
    )
    assert response.json["days_since_last_order"] == 30
    assert response.json["segment_variant"] == "30-60"
    assert response.json["as_of"] == "2024-07-01T01:00:00Z"


def test_without_as_of_the_reference_is_now(client):
    last = datetime.now(UTC) - timedelta(days=45)
    response = lookup(
        client,
        country_code="Peru",
        segment_name="recency_segment",
        last_order_ts=last.isoformat(),
    )
    assert response.status_code == 200
    assert response.json["days_since_last_order"] == 45
    assert response.json["segment_variant"] == "30-60"
    as_of = datetime.fromisoformat(response.json["as_of"])
    assert abs((datetime.now(UTC) - as_of).total_seconds()) < 60


@pytest.mark.parametrize(
    "last_order_ts",
    [
        "2024-05-01",
        "2024-05-01 08:00",
        "2024-05-01T08:00:00",
        "2024-05-01T08:00:00Z",
        "2024-05-01t08:00:00z",
        "2024-05-01 08:00:00.123456789",
        "2024-05-01T08:00:00.5+05:30",
        "2024-05-01T08:00:00+0530",
        "2024-05-01T08:00:00-00:00",
    ],
)
def test_accepted_timestamp_spellings(client, last_order_ts):
    response = lookup(
        client,
        country_code="Peru",
        segment_name="recency_segment",
        last_order_ts=last_order_ts,
        as_of=AS_OF,
    )
    assert response.status_code == 200, response.json
    assert response.json["days_since_last_order"] in (60, 61)
    assert response.json["segment_variant"] in ("30-60", "61-90")


@pytest.mark.parametrize("spelling", ["Peru", "peru", "  PERU ", "\tpErU\n"])
def test_country_is_trimmed_and_case_insensitive(client, spelling):
    response = frequent(client, 5, country=spelling)
    assert response.status_code == 200
    assert response.json["country_code"] == "Peru"
    assert response.json["voucher_amount"] == 1500


def test_country_without_any_segment_history_falls_back(client):
    response = frequent(client, 5, country="china")
    assert response.json["country_code"] == "China"
    assert response.json["segment_variant"] == "5-13"
    assert response.json["voucher_amount"] == CHINA_FALLBACK
    assert response.json["source"] == "country_fallback"


@pytest.mark.parametrize(
    ("given", "echoed"),
    [(123, 123), ("c-123", "c-123"), (12.0, 12), (None, None), ("", "")],
)
def test_customer_id_is_echoed(client, given, echoed):
    response = frequent(client, 3, customer_id=given)
    assert response.status_code == 200
    assert response.json["customer_id"] == echoed


def test_customer_id_is_optional(client):
    response = frequent(client, 3)
    assert response.json["customer_id"] is None


def test_integral_float_total_orders_is_accepted(client):
    response = frequent(client, 15.0)
    assert response.json["total_orders"] == 15
    assert response.json["segment_variant"] == "14-37"


def test_unknown_fields_are_ignored(client):
    response = frequent(client, 5, favourite_colour="teal", nested={"x": [1, 2]})
    assert response.status_code == 200
    assert "favourite_colour" not in response.json


def test_other_segment_inputs_are_not_needed(client):
    # recency needs no total_orders; frequent needs no timestamps.
    assert recency(client, 45).status_code == 200
    assert frequent(client, 5).status_code == 200


def test_timestamps_are_checked_even_when_the_segment_does_not_use_them(client):
    response = frequent(client, 5, last_order_ts="not a date")
    assert response.status_code == 422


def test_date_only_last_order_on_the_day_of_a_timed_first_order_is_consistent(
    client,
):
    # A date-only value stands for its whole UTC day, so it is not "before"
    # a first order at 23:00 on that same day.
    response = lookup(
        client,
        country_code="Peru",
        segment_name="recency_segment",
        first_order_ts="2024-05-16T23:00:00Z",
        last_order_ts="2024-05-16",
        as_of=AS_OF,
    )
    assert response.status_code == 200, response.json
    assert response.json["days_since_last_order"] == 45


def test_date_only_as_of_covers_the_whole_day(client):
    response = lookup(
        client,
        country_code="Peru",
        segment_name="recency_segment",
        last_order_ts="2024-06-30T18:00:00Z",
        as_of="2024-06-30",
    )
    assert response.status_code == 200, response.json
    assert response.json["days_since_last_order"] == 0


def test_response_says_which_build_answered(client):
    response = frequent(client, 5)
    assert response.json["built_at"] == "2025-01-01T03:00:00Z"
