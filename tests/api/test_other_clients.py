"""Clients of other implementations of this challenge work unchanged.

The original write-up (an Airflow + PostgreSQL solution whose request shape
this API copies) tests its API with GET /api/healthcheck and a POST whose body
is `json.dumps(...)` with no Content-Type at all; its README's sample request
carries a string customer_id; other solutions spell the segment
`frequency_segment`. Each case is sent as those clients send it, over HTTP to
gunicorn as `make serve` runs it, only the URL changed.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import pytest

from tests.api.fake_mart import mart_rows
from tests.api.gunicorn_server import Server, start_server, write_duckdb

# The write-up's test body and its README's sample request, as written there.
WRITE_UP_TEST_BODY = {
    "country_code": "Peru",
    "last_order_ts": "2020-03-22 00:00:00+00:00",
    "first_order_ts": "2014-04-17T05:30:00.000+05:30",
    "total_orders": 36,
    "segment_name": "frequent_segment",
}
WRITE_UP_README_BODY = {"customer_id": "1", **WRITE_UP_TEST_BODY}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    tmp_path = tmp_path_factory.mktemp("other-clients")
    write_duckdb(tmp_path / "voucher.duckdb", mart_rows())
    yield from start_server(tmp_path, "api.asgi:app")


def send(server: Server, method: str, path: str, body: bytes | None, headers: dict):
    """One request with exactly these headers (http.client adds only Host,
    Accept-Encoding and, for a body, Content-Length)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def test_the_write_up_health_check(server):
    status, answer = send(server, "GET", "/api/healthcheck", None, {})
    assert (status, answer) == (200, {"status": "ok"})


def test_the_write_up_lookup_posted_without_a_content_type(server):
    status, answer = send(
        server, "POST", "/api/vouchervalue", json.dumps(WRITE_UP_TEST_BODY), {}
    )
    assert status == 200, answer
    assert answer["segment_name"] == "frequent_segment"
    assert answer["total_orders"] == 36
    assert isinstance(answer["voucher_amount"], int)


def test_the_write_up_readme_sample_request(server):
    status, answer = send(
        server,
        "POST",
        "/api/vouchervalue",
        json.dumps(WRITE_UP_README_BODY),
        {"Content-Type": "application/json"},
    )
    assert status == 200, answer
    assert answer["customer_id"] == "1"


def test_frequency_segment_is_another_spelling_of_frequent_segment(server):
    canonical = send(
        server,
        "POST",
        "/api/vouchervalue",
        json.dumps(WRITE_UP_TEST_BODY),
        {"Content-Type": "application/json"},
    )
    other = send(
        server,
        "POST",
        "/api/vouchervalue",
        json.dumps({**WRITE_UP_TEST_BODY, "segment_name": "frequency_segment"}),
        {"Content-Type": "application/json"},
    )
    assert other[0] == 200, other
    # The same answer, naming the segment as the mart does.
    assert other[1]["segment_name"] == "frequent_segment"
    assert {k: v for k, v in other[1].items() if k != "as_of"} == {
        k: v for k, v in canonical[1].items() if k != "as_of"
    }


def test_a_declared_non_json_body_is_still_415(server):
    status, answer = send(
        server,
        "POST",
        "/api/vouchervalue",
        json.dumps(WRITE_UP_TEST_BODY),
        {"Content-Type": "text/plain"},
    )
    assert status == 415, answer
