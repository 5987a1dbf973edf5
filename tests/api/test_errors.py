"""Every error status, as RFC 9457 problem+json, and bodies built to break things.

The nasty bodies must all end as a 4xx problem from validation, never a 5xx:
the catch-all handler is only defence in depth, and a test below proves it works
by breaking the app on purpose.
"""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from api.config import ApiConfig
from api.store import SnapshotStore
from tests.api.asgi import post_scope
from tests.api.fake_mart import REQUEST_FIELDS, TEST_CONFIG, InMemorySource

PROBLEM = "application/problem+json"
VALID = {"country_code": "Peru", "segment_name": "frequent_segment", "total_orders": 5}


def post_raw(client, body: bytes, content_type: str | None = "application/json"):
    headers = {"Content-Type": content_type} if content_type else {}
    return client.simulate_post("/api/vouchervalue", body=body, headers=headers)


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json
    assert problem["status"] == status
    assert isinstance(problem["type"], str) and problem["type"]
    assert isinstance(problem["title"], str) and problem["title"]
    assert response.headers.get("x-request-id")
    return problem


def post_json(client, body):
    """Post a body as ASCII JSON: lone surrogates travel as \\ud800 escapes."""
    return post_raw(client, json.dumps(body).encode())


def failing_fields(response) -> set[str]:
    problem = assert_problem(response, 422)
    return {error["field"] for error in problem["errors"]}


# 400 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b'{"country_code": "Peru",}',
        b"[]",
        b'"just a string"',
        b"42",
        b"null",
        b"true",
        b'{"total_orders": NaN}',
        b'{"total_orders": Infinity}',
        b'{"total_orders": -Infinity}',
        b"\xff\xfe{}",
        '{"country_code": "Perú"}'.encode("latin-1"),
        '{"country_code": "Peru"}'.encode("utf-16"),
        b"\xef\xbb\xbf{}",  # a UTF-8 byte order mark is not JSON
        b"[" * 30000 + b"]" * 30000,
        b'{"a":' * 10000 + b"1" + b"}" * 10000,
        b'{"total_orders": ' + b"9" * 5000 + b"}",
        # Not UTF-8 where no field is read: a valid lookup otherwise.
        b'{"segment_name": "frequent_segment", "country_code": "Peru", '
        b'"total_orders": 5, "x": "\xff"}',
        b'{"\xff": 1, "segment_name": "frequent_segment", "country_code": "Peru", '
        b'"total_orders": 5}',
        b'{"segment_name": "frequent_segment", "country_code": "Peru", '
        b'"total_orders": 5, "x": "\xed\xa0\x80"}',  # an encoded surrogate
    ],
    ids=lambda body: repr(body[:24] + body[-8:]),
)
def test_malformed_bodies_are_400(client, body):
    problem = assert_problem(post_raw(client, body), 400)
    assert problem["detail"]


# 401 ----------------------------------------------------------------------------


@pytest.fixture
def keyed_client(make_client):
    return make_client(ApiConfig(refresh_seconds=0, api_key="s3cret-key"))


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong", "Basic s3cret-key", "s3cret-key", "Bearer ü"],
)
def test_api_key_is_required_when_configured(keyed_client, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    for response in (
        keyed_client.simulate_post("/api/vouchervalue", json=VALID, headers=headers),
        keyed_client.simulate_get("/api/segments", headers=headers),
    ):
        assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_right_api_key_is_let_in(keyed_client, scheme):
    headers = {"Authorization": f"{scheme} s3cret-key"}
    response = keyed_client.simulate_post(
        "/api/vouchervalue", json=VALID, headers=headers
    )
    assert response.status_code == 200
    assert (
        keyed_client.simulate_get("/api/segments", headers=headers).status_code == 200
    )


@pytest.mark.parametrize("path", ["/health", "/ready", "/openapi.json"])
def test_operational_routes_stay_open_with_a_key(keyed_client, path):
    assert keyed_client.simulate_get(path).status_code == 200


def test_without_a_key_configured_no_header_is_needed(client):
    assert client.simulate_post("/api/vouchervalue", json=VALID).status_code == 200


# 404 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/index.html",
        "/static/",
        "/static/nope.js",
        "/api",
        "/api/vouchervalue/",
        "/nope",
    ],
)
def test_unknown_route_is_404(client, path):
    assert_problem(client.simulate_get(path), 404)


@pytest.mark.parametrize("country", ["Mars", "Per u", "Chile"])
def test_uncovered_country_is_404_naming_it_and_the_covered_ones(client, country):
    problem = assert_problem(
        client.simulate_post(
            "/api/vouchervalue", json={**VALID, "country_code": country}
        ),
        404,
    )
    assert problem["country_code"] == country
    # Chile is in scope but has no vouchers at all: it is not covered.
    assert problem["covered_countries"] == ["China", "Peru"]
    assert country in problem["detail"] and "Peru" in problem["detail"]


# 405 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/vouchervalue"),
        ("PUT", "/api/vouchervalue"),
        ("DELETE", "/api/segments"),
        ("POST", "/health"),
        ("POST", "/ready"),
        ("PATCH", "/openapi.json"),
    ],
)
def test_wrong_method_is_405_with_allow(client, method, path):
    response = client.simulate_request(method, path)
    assert_problem(response, 405)
    assert response.headers["allow"]


# 413 ----------------------------------------------------------------------------


def test_body_over_64_kib_is_413(client):
    padding = "x" * (64 * 1024)
    body = json.dumps({**VALID, "padding": padding}).encode()
    problem = assert_problem(post_raw(client, body), 413)
    assert problem["max_body_bytes"] == 64 * 1024


def test_body_of_exactly_64_kib_is_read(client):
    body = json.dumps({**VALID, "padding": ""}).encode()
    body = body[:-1] + b" " * (64 * 1024 - len(body)) + b"}"
    assert len(body) == 64 * 1024
    assert post_raw(client, body).status_code == 200


@pytest.mark.parametrize("chunk_size", [1, 7, 4096])
def test_a_body_in_many_events_is_answered_as_in_one(client, chunk_size):
    # A lookup's body usually arrives in one ASGI event, which the responder
    # reads without the request stream; split, it takes the stream.
    body = json.dumps(VALID).encode()
    whole = post_raw(client, body)
    split = client.simulate_post(
        "/api/vouchervalue",
        body=body,
        headers={"Content-Type": "application/json"},
        asgi_chunk_size=chunk_size,
    )
    assert whole.status_code == split.status_code == 200
    assert without_as_of(split.json) == without_as_of(whole.json)


def without_as_of(answer: dict) -> dict:
    """An answer without the time it was given."""
    return {key: value for key, value in answer.items() if key != "as_of"}


@pytest.mark.parametrize("more_body", [False, True])
def test_a_body_is_cut_at_content_length(client, more_body):
    # Bytes past Content-Length are not the body, in one event or several.
    body = json.dumps(VALID).encode()
    events = [{"type": "http.request", "body": body + b"garbage", "more_body": False}]
    if more_body:
        events = [
            {"type": "http.request", "body": body[:5], "more_body": True},
            {"type": "http.request", "body": body[5:] + b"garbage", "more_body": False},
        ]
    sent: list[dict] = []

    async def receive() -> dict:
        return events.pop(0) if events else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = post_scope("/api/vouchervalue", len(body))
    asyncio.run(client.app(scope, receive, send))
    assert sent[0]["status"] == 200
    answer = json.loads(sent[1]["body"])
    assert without_as_of(answer) == without_as_of(post_raw(client, body).json)


def test_oversized_body_without_content_length_is_413():
    from api.problems import BodyTooLarge
    from api.resources.json_body import decode_object

    # What the responder reads from a chunked body: limit + 1 bytes at most.
    with pytest.raises(BodyTooLarge):
        decode_object(b"{" + b" " * 100, limit=100)


# 415 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        "application/jsonx",
    ],
)
def test_body_not_declared_json_is_415(client, content_type):
    problem = assert_problem(
        post_raw(client, json.dumps(VALID).encode(), content_type), 415
    )
    assert problem["accepted_media_types"] == ["application/json"]


def test_a_body_without_content_type_is_read_as_json(client):
    # As the original write-up's own test posts it: data=json.dumps(body).
    response = post_raw(client, json.dumps(VALID).encode(), None)
    assert response.status_code == 200, response.text
    garbled = post_raw(client, b"customer_id=1", None)
    assert assert_problem(garbled, 400)["title"] == "Malformed request body"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "application/vnd.voucher+json",
    ],
)
def test_json_media_types_are_accepted(client, content_type):
    assert post_raw(client, json.dumps(VALID).encode(), content_type).status_code == 200


# 422 ----------------------------------------------------------------------------

AS_OF = "2024-06-30T12:00:00Z"
RECENCY = {
    "country_code": "Peru",
    "segment_name": "recency_segment",
    "last_order_ts": "2024-05-01",
    "as_of": AS_OF,
}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"country_code", "segment_name"}),
        ({"country_code": "Peru"}, {"segment_name"}),
        ({**VALID, "segment_name": "big_spender_segment"}, {"segment_name"}),
        ({**VALID, "segment_name": ["frequent_segment"]}, {"segment_name"}),
        ({**VALID, "segment_name": None}, {"segment_name"}),
        ({**VALID, "country_code": None}, {"country_code"}),
        ({**VALID, "country_code": "   "}, {"country_code"}),
        ({**VALID, "country_code": 51}, {"country_code"}),
        ({**VALID, "country_code": {"name": "Peru"}}, {"country_code"}),
        ({**VALID, "country_code": "Per\ud800u"}, {"country_code"}),
        ({**VALID, "total_orders": -1}, {"total_orders"}),
        ({**VALID, "total_orders": 1.5}, {"total_orders"}),
        ({**VALID, "total_orders": "15"}, {"total_orders"}),
        ({**VALID, "total_orders": True}, {"total_orders"}),
        ({**VALID, "total_orders": [15]}, {"total_orders"}),
        ({**VALID, "total_orders": -0.5}, {"total_orders"}),
        ({**VALID, "total_orders": None}, {"total_orders"}),
        (
            {"country_code": "Peru", "segment_name": "frequent_segment"},
            {"total_orders"},
        ),
        ({**RECENCY, "last_order_ts": None}, {"last_order_ts"}),
        (
            {"country_code": "Peru", "segment_name": "recency_segment"},
            {"last_order_ts"},
        ),
        ({**RECENCY, "last_order_ts": "yesterday"}, {"last_order_ts"}),
        ({**RECENCY, "last_order_ts": "2024-13-01"}, {"last_order_ts"}),
        ({**RECENCY, "last_order_ts": "2024-02-30"}, {"last_order_ts"}),
        ({**RECENCY, "last_order_ts": "2024-05-01T24:00:00"}, {"last_order_ts"}),
        ({**RECENCY, "last_order_ts": "2024-05-01T10:00:00+25:00"}, {"last_order_ts"}),
        ({**RECENCY, "last_order_ts": "2024-05-01\n"}, {"last_order_ts"}),
        ({**RECENCY, "last_order_ts": "２０２４-05-01"}, {"last_order_ts"}),
        ({**RECENCY, "last_order_ts": "20240501T000000"}, {"last_order_ts"}),
        ({**RECENCY, "last_order_ts": "0001-01-01T00:00:00+05:00"}, {"last_order_ts"}),
        ({**RECENCY, "last_order_ts": 1714521600}, {"last_order_ts"}),
        ({**RECENCY, "first_order_ts": "2024/01/01"}, {"first_order_ts"}),
        ({**RECENCY, "as_of": "now"}, {"as_of"}),
        ({**RECENCY, "as_of": "9999-12-31T23:00:00-05:00"}, {"as_of"}),
        ({**VALID, "customer_id": True}, {"customer_id"}),
        ({**VALID, "customer_id": 1.5}, {"customer_id"}),
        ({**VALID, "customer_id": {"id": 1}}, {"customer_id"}),
        ({**VALID, "customer_id": "\udfff"}, {"customer_id"}),
        # Consistency rules mirrored from the cleaning step:
        ({**RECENCY, "total_orders": 0}, {"total_orders"}),
        (
            {**VALID, "total_orders": 0, "first_order_ts": "2020-01-01"},
            {"total_orders"},
        ),
        ({**RECENCY, "first_order_ts": "2024-05-02"}, {"last_order_ts"}),
        (
            {
                **RECENCY,
                "first_order_ts": "2024-05-01T10:00:00Z",
                "last_order_ts": "2024-05-01T09:59:59Z",
            },
            {"last_order_ts"},
        ),
        ({**RECENCY, "last_order_ts": "2024-06-30T12:00:01Z"}, {"last_order_ts"}),
        ({**RECENCY, "last_order_ts": "2024-07-01"}, {"last_order_ts"}),
        ({**VALID, "first_order_ts": "2999-01-01"}, {"first_order_ts"}),
    ],
)
def test_invalid_fields_are_422_listing_each_field(client, body, fields):
    response = post_json(client, body)
    assert failing_fields(response) == fields
    for error in response.json["errors"]:
        assert error["pointer"] == "#/" + error["field"]
        assert error["detail"]


def test_all_failures_are_reported_at_once(client):
    body = {"segment_name": "x", "total_orders": -3, "customer_id": [], "as_of": 5}
    assert failing_fields(client.simulate_post("/api/vouchervalue", json=body)) == {
        "segment_name",
        "country_code",
        "total_orders",
        "customer_id",
        "as_of",
    }


def test_422_comes_before_the_country_check(client):
    body = {**VALID, "country_code": "Mars", "total_orders": -1}
    assert failing_fields(client.simulate_post("/api/vouchervalue", json=body)) == {
        "total_orders"
    }


# 503 ----------------------------------------------------------------------------


@pytest.fixture
def unavailable_client(make_client):
    source = InMemorySource()
    source.failure = "connection refused"
    store = SnapshotStore(source, refresh_seconds=0)
    store.refresh()
    return make_client(TEST_CONFIG, store=store)


def test_without_any_snapshot_lookups_are_503(unavailable_client):
    for response in (
        unavailable_client.simulate_post("/api/vouchervalue", json=VALID),
        unavailable_client.simulate_get("/api/segments"),
        unavailable_client.simulate_get("/ready"),
    ):
        problem = assert_problem(response, 503)
        assert problem["reason"] == "warehouse_unreachable"
        # The warehouse's own words stay in the log.
        assert "connection refused" not in response.text
        assert response.headers["retry-after"]
    assert unavailable_client.simulate_get("/health").status_code == 200


def test_body_errors_still_come_first_without_a_snapshot(unavailable_client):
    assert_problem(post_raw(unavailable_client, b"{"), 400)
    assert_problem(post_raw(unavailable_client, b"{}", "text/plain"), 415)


# Nasty bodies: always a 4xx problem, never a 5xx -------------------------------

NASTY_VALUES = [
    None,
    True,
    0,
    -1,
    10**4000,
    -(10**4000),
    1e308,
    -1e308,
    5e-324,
    "",
    " ",
    "\x00",
    "\ud800",
    "💥" * 1000,
    "2024-05-01",
    "9999-12-31T23:59:59.999999999-23:59",
    "0000-01-01",
    [],
    [None],
    {},
    {"$ne": 1},
    [[[[[[[[[[]]]]]]]]]],
]


@pytest.mark.parametrize("field", REQUEST_FIELDS)
def test_nasty_values_in_every_field_never_5xx(client, field):
    for segment in ("frequent_segment", "recency_segment"):
        base = {**RECENCY, "total_orders": 3, "segment_name": segment}
        for value in NASTY_VALUES:
            response = post_json(client, {**base, field: value})
            assert response.status_code < 500, (field, value, response.text)
            if response.status_code != 200:
                assert response.headers["content-type"] == PROBLEM


def test_nasty_raw_bodies_never_5xx(client):
    frequent = b'"segment_name": "frequent_segment"'
    bodies = [
        b"\x00" * 100,
        b"{" * 65536,
        b'{"country_code": "\\ud800", ' + frequent + b', "total_orders": 1}',
        b'{"total_orders": 1e999999, "country_code": "Peru", ' + frequent + b"}",
        b'{"total_orders": -0.0, "country_code": "Peru", ' + frequent + b"}",
        b'{"country_code": "Peru", "country_code": "Mars", '
        + frequent
        + b', "total_orders": 1}',
        b'\n\t {"country_code":"Peru",' + frequent + b',"total_orders":1} \n',
        b'{"country_code": "Peru"} {"more": 1}',
    ]
    for body in bodies:
        response = post_raw(client, body)
        assert response.status_code < 500, (body[:40], response.text)
        assert response.headers["content-type"] in (PROBLEM, "application/json")


# 500 (defence in depth) ---------------------------------------------------------


class ExplodingStore(SnapshotStore):
    def require(self):
        raise RuntimeError("boom: a bug, not bad input")


def test_unexpected_exceptions_become_a_logged_500_problem(make_client, caplog):
    store = ExplodingStore(InMemorySource(), refresh_seconds=0)
    client = make_client(TEST_CONFIG, store=store)
    with caplog.at_level(logging.ERROR, logger="api.errors"):
        response = client.simulate_post(
            "/api/vouchervalue", json=VALID, headers={"X-Request-ID": "trace-me-1"}
        )
    problem = assert_problem(response, 500)
    assert problem["request_id"] == "trace-me-1"
    assert "boom" not in response.text  # no internals leak to the client
    records = [r for r in caplog.records if r.name == "api.errors"]
    assert records and records[0].request_id == "trace-me-1"
    assert "boom" in caplog.text


# Request ids ----------------------------------------------------------------------


def test_request_id_is_honoured_or_generated(client):
    honoured = client.simulate_get("/health", headers={"X-Request-ID": "abc-123"})
    assert honoured.headers["x-request-id"] == "abc-123"
    generated = client.simulate_get("/health")
    other = client.simulate_get("/health")
    assert len(generated.headers["x-request-id"]) >= 16
    assert generated.headers["x-request-id"] != other.headers["x-request-id"]


@pytest.mark.parametrize(
    "offered", ["", "x" * 129, "has space", 'quote"s', "new\\nline"]
)
def test_unsafe_request_ids_are_replaced(client, offered):
    response = client.simulate_get("/health", headers={"X-Request-ID": offered})
    assert response.headers["x-request-id"] != offered


def test_request_ids_are_unique_across_a_refill_of_the_made_ahead_ones(client):
    from api.middleware import _ID_BLOCK

    ids = {
        client.simulate_get("/health").headers["x-request-id"]
        for _ in range(_ID_BLOCK + 10)
    }
    assert len(ids) == _ID_BLOCK + 10
    assert all(len(i) == 32 and set(i) <= set("0123456789abcdef") for i in ids)


def test_a_forked_worker_hands_out_none_of_the_ids_it_inherited():
    import os

    from api import middleware

    middleware._IDS.clear()
    middleware._new_request_id()  # the parent holds ids made ahead
    inherited = set(middleware._IDS)
    assert inherited
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its first id and leave at once
        try:
            os.write(write_end, middleware._new_request_id().encode())
        finally:
            os._exit(0)
    os.close(write_end)
    child_id = os.read(read_end, 64).decode()
    os.close(read_end)
    os.waitpid(pid, 0)
    assert len(child_id) == 32 and child_id not in inherited


def test_the_request_id_is_read_through_get_header_without_falcons_dict():
    from api.middleware import _offered_request_id

    class RequestWithoutTheDict:  # a Falcon without the private header dict
        def __init__(self, headers: dict[str, str]) -> None:
            self._headers = headers

        def get_header(self, name: str) -> str | None:
            return self._headers.get(name)

    assert _offered_request_id(RequestWithoutTheDict({"X-Request-ID": "a-9"})) == (
        b"a-9"
    )
    assert _offered_request_id(RequestWithoutTheDict({})) is None


def test_the_request_id_is_read_from_falcons_header_dict(monkeypatch):
    import falcon.asgi

    from api.middleware import _offered_request_id

    def no_get_header(self, name, *args, **kwargs):
        raise AssertionError("the header dict was not read")

    monkeypatch.setattr(falcon.asgi.Request, "get_header", no_get_header)
    scope = post_scope("/api/vouchervalue", 2)
    scope["headers"].append((b"x-request-id", b"a-10"))
    request = falcon.asgi.Request(scope, None)
    assert _offered_request_id(request) == b"a-10"


def test_error_responses_carry_the_request_id(client):
    response = client.simulate_get("/nope", headers={"X-Request-ID": "err-1"})
    assert response.headers["x-request-id"] == "err-1"
