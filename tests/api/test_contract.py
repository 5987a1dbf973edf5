"""The contract is declared once (api.contract): what is derived from it agrees.

The README's field table, the OpenAPI document, the 422's errors[], and the
two ways a body is read (one msgspec decode from bytes; field by field when
that refuses it) all come from the same declaration, and segment names from
the mart.
"""

from __future__ import annotations

import contextlib
import json

import falcon.testing
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.contract import REQUEST_FIELDS, REQUIRED_FIELDS, decode_request, field_table
from api.resources.json_body import decode_object
from api.store import SnapshotStore
from api.validation import declared_fields, read_request
from tests.api.fake_mart import (
    TEST_CONFIG,
    InMemorySource,
    mart_rows,
    seed_definitions,
)
from tests.conftest import REPO_ROOT

LIMIT = TEST_CONFIG.max_body_bytes


def test_the_readme_field_table_is_the_declarations():
    assert field_table() in (REPO_ROOT / "README.md").read_text()


def test_the_openapi_request_schema_lists_every_declared_field(client):
    schema = client.simulate_get("/openapi.json").json["components"]["schemas"]
    request = schema["VoucherRequest"]
    assert list(request["properties"]) == [field.name for field in REQUEST_FIELDS]
    assert (
        set(request["required"])
        == REQUIRED_FIELDS
        == {
            "segment_name",
            "country_code",
        }
    )


@pytest.mark.parametrize("field", [field.name for field in REQUEST_FIELDS])
def test_a_wrong_value_in_any_declared_field_is_named_in_the_422(client, field):
    body = {"country_code": "Peru", "segment_name": "recency_segment"}
    body["last_order_ts"] = "2024-05-01"
    body[field] = {"not": "a value of any declared type"}
    response = client.simulate_post("/api/vouchervalue", json=body)
    assert response.status_code == 422, response.text
    [error] = response.json["errors"]
    assert error["field"] == field and error["pointer"] == f"#/{field}"
    assert error["detail"] and "Expected" not in error["detail"]


def _client_over(definitions) -> falcon.testing.TestClient:
    store = SnapshotStore(
        InMemorySource(mart_rows(definitions=definitions)), refresh_seconds=0
    )
    assert store.refresh()
    return falcon.testing.TestClient(create_app(TEST_CONFIG, store=store))


def test_segment_names_come_from_the_mart():
    # The same seed with frequent_segment renamed: nothing in the code knows it.
    renamed = tuple(
        ("loyalty_segment", *d[1:]) if d[0] == "frequent_segment" else d
        for d in seed_definitions()
    )
    client = _client_over(renamed)
    document = client.simulate_get("/openapi.json").json
    request = document["components"]["schemas"]["VoucherRequest"]
    assert request["properties"]["segment_name"]["enum"] == [
        "loyalty_segment",
        "recency_segment",
    ]
    [loyalty] = [
        rule
        for rule in request["allOf"]
        if "loyalty_segment" in rule["if"]["properties"]["segment_name"]["enum"]
    ]
    assert loyalty["then"]["required"] == ["total_orders"]

    body = {"country_code": "Peru", "segment_name": "loyalty_segment"}
    answered = client.simulate_post(
        "/api/vouchervalue", json={**body, "total_orders": 7}
    )
    assert answered.status_code == 200, answered.text
    assert answered.json["segment_name"] == "loyalty_segment"
    missing = client.simulate_post("/api/vouchervalue", json=body)
    assert missing.json["errors"][0]["detail"] == "is required for loyalty_segment"
    old = client.simulate_post(
        "/api/vouchervalue", json={**body, "segment_name": "frequent_segment"}
    )
    assert old.status_code == 422
    assert old.json["errors"][0]["detail"] == (
        "must be one of: loyalty_segment, recency_segment"
    )


# Values of every JSON kind, valid and not, for any field.
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            "",
            " ",
            "Peru",
            " peru ",
            "2024-05-01",
            "2024-05-01T10:00:00+05:30",
            "2024-02-30",
            "2024-05-01T24:00:00",
            "recency_segment",
            "x\u00e9",
        ]
    ),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
_BODIES = st.dictionaries(
    st.sampled_from([field.name for field in REQUEST_FIELDS] + ["extra"]),
    _VALUES,
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(_BODIES)
def test_the_fast_and_the_slow_reading_agree(body):
    """What one msgspec decode accepts, the field-by-field reading accepts with
    the same values; what it refuses, the field-by-field reading refuses, or
    accepts only by the contract's own rule (integral numbers count as
    integers)."""
    raw = json.dumps(body).encode()
    fast = None
    with contextlib.suppress(msgspec.MsgspecError):
        fast = decode_request(raw)
    slow, errors = declared_fields(decode_object(raw, LIMIT))
    through_read, read_errors = read_request(raw, LIMIT)
    if fast is not None:
        assert errors == [] and read_errors == []
        assert _values(through_read) == _values(slow) == _values(fast)
    else:
        assert errors == read_errors
        assert errors or any(
            type(value) is float and value.is_integer() for value in body.values()
        )


def _values(request) -> tuple:
    return tuple(
        (value.utc, value.date_only) if hasattr(value, "utc") else value
        for value in msgspec.structs.astuple(request)
    )
