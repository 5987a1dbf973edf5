"""Slow and idle clients against gunicorn for real (api/worker.py's bounds).

Small bounds through the environment, so that each test takes seconds; one
worker, so that the connection count is that worker's. Every wait has a
deadline: a bound that is not enforced fails the test instead of hanging it.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest

from api.examples import EXAMPLE_REQUEST
from tests.api.fake_mart import mart_rows, write_mart
from tests.api.gunicorn_server import Server, start_server

KEEPALIVE_SECONDS = 1
HEADER_TIMEOUT_SECONDS = 2
BODY_TIMEOUT_SECONDS = 2
MAX_CONNECTIONS = 3
# How long past its bound a connection may stay open before the test fails
# (a loaded machine is slow to schedule the worker, never seconds late).
GRACE_SECONDS = 3

LOOKUP = json.dumps(EXAMPLE_REQUEST).encode()


def lookup_head(content_length: int) -> bytes:
    return (
        b"POST /api/vouchervalue HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % content_length
    )


def serve(tmp_path, **bounds: str) -> Iterator[Server]:
    import duckdb

    connection = duckdb.connect(str(tmp_path / "voucher.duckdb"))
    try:
        write_mart(connection, mart_rows())
    finally:
        connection.close()
    yield from start_server(tmp_path, "api.asgi:app", WEB_CONCURRENCY="1", **bounds)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    yield from serve(
        tmp_path_factory.mktemp("slow-clients"),
        VOUCHER_API_KEEPALIVE_SECONDS=str(KEEPALIVE_SECONDS),
        VOUCHER_API_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT_SECONDS),
        VOUCHER_API_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT_SECONDS),
    )


@pytest.fixture
def small_server(tmp_path) -> Iterator[Server]:
    # Long deadlines, so that the held connections stay held while counted.
    yield from serve(
        tmp_path,
        VOUCHER_API_MAX_CONNECTIONS=str(MAX_CONNECTIONS),
        VOUCHER_API_HEADER_TIMEOUT_SECONDS="60",
    )


def connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=5)


def seconds_until_closed(
    client: socket.socket, limit: float, trickle: bytes = b""
) -> tuple[float, bytes]:
    """Send trickle a byte a second until the server closes the connection;
    the seconds that took and what the server sent. Fails after limit."""
    client.settimeout(1.0)
    start = time.monotonic()
    received = b""
    sent = 0
    while time.monotonic() - start < limit:
        try:
            # Once the server has begun to answer it closes the connection;
            # another byte sent then could only meet a reset.
            if sent < len(trickle) and not received:
                client.send(trickle[sent : sent + 1])
                sent += 1
            data = client.recv(65536)
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            data = b""
        if not data:
            return time.monotonic() - start, received
        received += data
    raise AssertionError(
        f"still open after {limit} s ({sent} bytes sent, got {received[:80]!r})"
    )


def read_response(client: socket.socket) -> bytes:
    """One whole response with a Content-Length (the API's are)."""
    client.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(65536)
        assert chunk, f"closed before a whole head: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    while len(body) < length:
        chunk = client.recv(65536)
        assert chunk, f"closed before the whole body: {data!r}"
        body += chunk
    return head + b"\r\n\r\n" + body


def test_a_head_sent_a_byte_a_second_gets_408_and_is_closed(server):
    head = lookup_head(len(LOOKUP)) + LOOKUP
    with connect(server) as client:
        seconds, answer = seconds_until_closed(
            client, HEADER_TIMEOUT_SECONDS + GRACE_SECONDS, trickle=head
        )
    assert seconds >= HEADER_TIMEOUT_SECONDS - 0.5, seconds
    assert answer.startswith(b"HTTP/1.1 408 "), answer


def test_a_silent_connection_is_closed_after_the_header_timeout(server):
    with connect(server) as client:
        seconds, answer = seconds_until_closed(
            client, HEADER_TIMEOUT_SECONDS + GRACE_SECONDS
        )
    assert seconds >= HEADER_TIMEOUT_SECONDS - 0.5, seconds
    assert answer.startswith(b"HTTP/1.1 408 "), answer


def test_an_idle_keepalive_connection_is_closed_after_the_keepalive(server):
    with connect(server) as client:
        client.sendall(lookup_head(len(LOOKUP)) + LOOKUP)
        assert read_response(client).startswith(b"HTTP/1.1 200 ")
        # Kept alive: a second lookup soon after is served on it.
        time.sleep(KEEPALIVE_SECONDS / 4)
        client.sendall(lookup_head(len(LOOKUP)) + LOOKUP)
        assert read_response(client).startswith(b"HTTP/1.1 200 ")
        seconds, answer = seconds_until_closed(
            client, KEEPALIVE_SECONDS + GRACE_SECONDS
        )
    assert seconds >= KEEPALIVE_SECONDS - 0.5, seconds
    assert answer == b""  # nothing was asked, nothing is answered


def test_a_body_trickled_a_byte_a_second_gets_408_and_is_closed(server):
    with connect(server) as client:
        client.sendall(lookup_head(100))
        seconds, answer = seconds_until_closed(
            client, BODY_TIMEOUT_SECONDS + GRACE_SECONDS, trickle=b" " * 100
        )
    assert seconds >= BODY_TIMEOUT_SECONDS - 0.5, seconds
    assert answer.startswith(b"HTTP/1.1 408 "), answer


def test_a_request_that_arrives_whole_is_served_after_the_deadlines(server):
    """The deadlines are per request, not per connection."""
    with connect(server) as client:
        deadline = time.monotonic() + HEADER_TIMEOUT_SECONDS + 0.5
        while time.monotonic() < deadline:
            client.sendall(lookup_head(len(LOOKUP)) + LOOKUP)
            assert read_response(client).startswith(b"HTTP/1.1 200 ")
            time.sleep(KEEPALIVE_SECONDS / 4)


def test_connections_over_the_limit_get_503_and_are_closed(small_server):
    """A worker holds MAX_CONNECTIONS; each further connection is answered 503
    at once, unread, and closed; the ones it holds are served as before, and a
    freed slot takes a new connection."""
    held = [connect(small_server) for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.3)  # the worker has accepted all of them
        for _ in range(2):
            with connect(small_server) as extra:
                seconds, answer = seconds_until_closed(extra, GRACE_SECONDS)
            assert answer.startswith(b"HTTP/1.1 503 "), answer
            assert b"Retry-After: 1" in answer
        for client in held:
            client.sendall(lookup_head(len(LOOKUP)) + LOOKUP)
            assert read_response(client).startswith(b"HTTP/1.1 200 ")
        held.pop().close()
        time.sleep(0.3)  # the worker has seen it go
        with connect(small_server) as client:
            client.sendall(lookup_head(len(LOOKUP)) + LOOKUP)
            assert read_response(client).startswith(b"HTTP/1.1 200 ")
    finally:
        for client in held:
            client.close()
