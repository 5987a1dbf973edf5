"""End to end: gunicorn for real on a free localhost port, over a DuckDB mart.

The entry point gets the issue's requests, a new build landing while it
serves, the in-place refresh on SIGHUP, a chunked body over the limit and a
schemathesis run over HTTP.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import time
from collections.abc import Iterator

import pytest

from api.examples import EXAMPLE_REQUEST
from tests.api.fake_mart import NEW_BUILD, mart_rows
from tests.api.gunicorn_server import Server, start_server, write_duckdb

SEED_REQUESTS = [
    EXAMPLE_REQUEST,
    {
        "customer_id": 123,
        "country_code": "Peru",
        "last_order_ts": "2020-03-22 00:00:00+00:00",
        "first_order_ts": "2014-04-17T05:30:00.000+05:30",
        "total_orders": 15,
        "segment_name": "frequent_segment",
    },
]


@pytest.fixture
def asgi_server(tmp_path) -> Iterator[Server]:
    write_duckdb(tmp_path / "voucher.duckdb", mart_rows())
    yield from start_server(tmp_path, "api.asgi:app", VOUCHER_API_REFRESH_SECONDS="0.2")


@pytest.fixture
def sleepy_server(tmp_path) -> Iterator[Server]:
    """A server whose refresher sleeps for an hour."""
    write_duckdb(tmp_path / "voucher.duckdb", mart_rows())
    yield from start_server(
        tmp_path, "api.asgi:app", VOUCHER_API_REFRESH_SECONDS="3600"
    )


def wait_for_build(server: Server, built_at: str, body: dict) -> None:
    deadline = time.monotonic() + 15
    seen: set[str] = set()
    while time.monotonic() < deadline:
        seen = set()
        for _ in range(8):  # several requests: each worker has its own snapshot
            status, _, answer = server.request("POST", "/api/vouchervalue", body)
            assert status == 200, answer
            seen.add(answer["built_at"])
        if seen == {built_at}:
            return
        time.sleep(0.1)
    raise AssertionError(f"still serving {seen}")


def test_seed_requests_over_real_http(asgi_server):
    first, second = SEED_REQUESTS
    status, headers, answer = asgi_server.request(
        "POST", "/api/vouchervalue", first, {"X-Request-ID": "e2e-1"}
    )
    assert status == 200
    assert headers["x-request-id"] == "e2e-1"
    assert headers["content-type"] == "application/json"
    assert answer["segment_variant"] == "180+"
    assert answer["voucher_amount"] == 4500
    assert answer["source"] == "segment"
    status, _, answer = asgi_server.request("POST", "/api/vouchervalue", second)
    assert status == 200
    assert (answer["segment_variant"], answer["voucher_amount"]) == ("14-37", 2000)

    status, headers, problem = asgi_server.request("GET", "/nowhere")
    assert status == 404 and headers["content-type"] == "application/problem+json"

    # One JSON access log line per request, carrying the request id.
    deadline = time.monotonic() + 5
    while "e2e-1" not in asgi_server.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    lines = [json.loads(line) for line in asgi_server.log.read_text().splitlines()]
    access = [line for line in lines if line.get("logger") == "api.access"]
    assert any(
        line["request_id"] == "e2e-1" and line["status"] == 200 for line in access
    )


def test_a_new_build_is_served_without_a_restart(asgi_server, tmp_path):
    workers_before = sorted(asgi_server.workers())
    assert len(workers_before) == 2
    body = SEED_REQUESTS[1]
    write_duckdb(tmp_path / "voucher.duckdb", mart_rows(NEW_BUILD, peru_shift=10))
    wait_for_build(asgi_server, "2025-02-01T04:00:00Z", body)
    assert (
        asgi_server.request("POST", "/api/vouchervalue", body)[2]["voucher_amount"]
        == 2010
    )
    assert sorted(asgi_server.workers()) == workers_before  # nobody restarted


def test_sighup_to_a_worker_refreshes_in_place(sleepy_server, tmp_path):
    body = SEED_REQUESTS[1]
    workers = sorted(sleepy_server.workers())
    write_duckdb(tmp_path / "voucher.duckdb", mart_rows(NEW_BUILD, peru_shift=10))
    time.sleep(0.5)
    # The refresher sleeps for an hour: only the signal can explain a swap.
    assert sleepy_server.request("POST", "/api/vouchervalue", body)[2]["built_at"] == (
        "2025-01-01T03:00:00Z"
    )
    for pid in workers:
        os.kill(pid, signal.SIGHUP)
    wait_for_build(sleepy_server, "2025-02-01T04:00:00Z", body)
    assert sorted(sleepy_server.workers()) == workers


def test_chunked_body_over_the_limit_is_413(asgi_server):
    connection = http.client.HTTPConnection("127.0.0.1", asgi_server.port, timeout=10)
    try:
        chunks = (b" " * 8192 for _ in range(10))  # 80 KiB, no Content-Length
        connection.request(
            "POST",
            "/api/vouchervalue",
            body=chunks,
            headers={"Content-Type": "application/json"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        assert response.status == 413
        assert response.getheader("content-type") == "application/problem+json"
    finally:
        connection.close()


def test_schemathesis_over_http_against_the_asgi_worker(asgi_server):
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.config import SchemathesisConfig

    schema = schemathesis.openapi.from_url(
        f"http://127.0.0.1:{asgi_server.port}/openapi.json",
        config=SchemathesisConfig.from_dict(
            {
                "seed": 7,
                "checks": {"positive_data_acceptance": {"enabled": False}},
            }
        ),
    )
    lookup = schema["/api/vouchervalue"]["POST"]
    statuses = []

    @given(case=lookup.as_strategy())
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    def fuzz(case):
        response = case.call_and_validate()
        statuses.append(response.status_code)

    fuzz()
    assert len(statuses) >= 150
    assert max(statuses) < 500


def test_a_bad_serving_setting_stops_gunicorn_with_one_line() -> None:
    """Checked before any worker starts: exit 2 and the reason, not a
    traceback from every worker that imports the app."""
    import subprocess

    from tests.conftest import BIN, REPO_ROOT

    result = subprocess.run(
        [str(BIN / "gunicorn"), "--config", "api/gunicorn.conf.py", "api.asgi:app"],
        cwd=REPO_ROOT,
        env={**os.environ, "SERVE_TARGET": "mysql"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "voucher api: error: SERVE_TARGET=mysql is not a serving warehouse" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
