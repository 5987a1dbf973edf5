"""GET /api/segments, /health, /ready and /openapi.json on the in-memory mart."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

import pytest

from api.config import ApiConfig
from api.store import SnapshotStore
from tests.api.fake_mart import (
    PERU_AMOUNTS,
    PERU_FALLBACK,
    SEED_LABELS,
    SEED_SEGMENT_NAMES,
    TEST_CONFIG,
    InMemorySource,
    mart_rows,
    seed_definitions,
)
from tests.conftest import REPO_ROOT


def test_segments_lists_the_seed_definitions(client):
    response = client.simulate_get("/api/segments")
    assert response.status_code == 200
    body = response.json
    assert body["built_at"] == "2025-01-01T03:00:00Z"
    listed = [
        (
            segment["segment_name"],
            variant["segment_variant"],
            segment["measure"],
            variant["lower_bound"],
            variant["upper_bound"],
        )
        for segment in body["segments"]
        for variant in segment["variants"]
    ]
    assert sorted(listed, key=repr) == sorted(seed_definitions(), key=repr)
    assert [s["segment_name"] for s in body["segments"]] == SEED_SEGMENT_NAMES
    # The seed's words for people, for the page and any client.
    labels = {
        (segment["segment_name"], variant["segment_variant"]): (
            segment["label"],
            variant["label"],
        )
        for segment in body["segments"]
        for variant in segment["variants"]
    }
    assert labels == SEED_LABELS
    assert labels[("recency_segment", "180+")] == (
        "Days since the last order",
        "181 days or more",
    )


def test_a_build_published_before_the_labels_lists_them_as_null(make_client):
    # voucher_segment_modes of such a build: the label columns hold nulls.
    rows = mart_rows()
    unlabelled = tuple((*row[:10], None, None) for row in rows.segment_modes)
    store = SnapshotStore(
        InMemorySource(dataclasses.replace(rows, segment_modes=unlabelled)),
        refresh_seconds=0,
    )
    assert store.refresh()
    body = make_client(store=store).simulate_get("/api/segments").json
    assert {s["label"] for s in body["segments"]} == {None}
    assert {v["label"] for s in body["segments"] for v in s["variants"]} == {None}


def test_segments_gives_amounts_counts_and_distribution_per_country(client):
    countries = {
        c["country_code"]: c
        for c in client.simulate_get("/api/segments").json["countries"]
    }
    assert sorted(countries) == ["China", "Peru"]  # Chile has no vouchers
    peru = countries["Peru"]
    assert peru["fallback"] == {
        "voucher_amount": PERU_FALLBACK,
        "voucher_amount_count": 40,
        "country_voucher_count": 100,
    }
    variants = {
        (segment["segment_name"], variant["segment_variant"]): variant
        for segment in peru["segments"]
        for variant in segment["variants"]
    }
    assert {key: v["voucher_amount"] for key, v in variants.items()} == PERU_AMOUNTS
    five_to_13 = variants[("frequent_segment", "5-13")]
    assert five_to_13["voucher_amount_count"] == 7
    assert five_to_13["segment_voucher_count"] == 10
    assert five_to_13["distribution"] == [
        {"voucher_amount": 1500, "voucher_count": 7},
        {"voucher_amount": 1600, "voucher_count": 3},
    ]
    no_history = variants[("recency_segment", "91-120")]
    assert no_history["distribution"] == []
    assert no_history["segment_voucher_count"] == 0


def test_health_is_always_ok(client):
    response = client.simulate_get("/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_ready_when_a_fresh_snapshot_is_served(client):
    response = client.simulate_get("/ready")
    assert response.status_code == 200
    assert response.json["status"] == "ready"
    assert response.json["stale"] is False
    assert response.json["reason"] is None
    assert response.json["built_at"] == "2025-01-01T03:00:00Z"
    assert response.json["countries"] == 2


def test_ready_says_stale_when_the_warehouse_goes_away(make_client, fake_source, store):
    client = make_client()
    fake_source.failure = "server closed the connection"
    store.refresh()
    response = client.simulate_get("/ready")
    assert response.status_code == 200  # the last good snapshot still serves
    assert response.json["status"] == "stale"
    assert response.json["stale"] is True
    assert response.json["reason"] == "warehouse_unreachable"
    assert "server closed" not in response.text
    lookup = client.simulate_post(
        "/api/vouchervalue",
        json={
            "country_code": "Peru",
            "segment_name": "frequent_segment",
            "total_orders": 5,
        },
    )
    assert lookup.status_code == 200 and lookup.json["voucher_amount"] == 1500

    fake_source.failure = None
    store.refresh()
    assert client.simulate_get("/ready").json["status"] == "ready"


def test_ready_says_stale_when_checks_stopped_happening(make_client):
    now = [datetime(2025, 1, 1, tzinfo=UTC)]
    store = SnapshotStore(
        InMemorySource(),
        refresh_seconds=0,
        stale_after_seconds=30,
        clock=lambda: now[0],
    )
    store.refresh()
    client = make_client(TEST_CONFIG, store=store)
    now[0] += timedelta(seconds=29)
    assert client.simulate_get("/ready").json["stale"] is False
    now[0] += timedelta(seconds=2)
    response = client.simulate_get("/ready")
    assert response.json["stale"] is True
    assert response.json["reason"] == "not_checked_recently"


def test_ready_is_503_when_the_mart_is_empty(make_client):
    from tests.api.fake_mart import mart_rows

    rows = mart_rows()
    empty = type(rows)((), (), ())
    store = SnapshotStore(InMemorySource(empty), refresh_seconds=0)
    store.refresh()
    response = make_client(TEST_CONFIG, store=store).simulate_get("/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json["reason"] == "published_build_unusable"
    assert "not consistent" in response.json["detail"]
    assert response.json["stale"] is False


def test_openapi_document_is_3_1_and_lists_every_route(client):
    response = client.simulate_get("/openapi.json")
    assert response.status_code == 200
    document = response.json
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {
        "/api/vouchervalue",
        "/api/vouchervalues",
        "/api/segments",
        "/health",
        "/api/healthcheck",
        "/ready",
        "/openapi.json",
        "/metrics",
        "/",
        "/static/app.js",
        "/static/csv.js",
        "/static/style.css",
        "/static/example-request.json",
        "/static/campaign-template.csv",
        "/docs",
        "/docs/docs.js",
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-ui.css",
    }
    lookup = document["paths"]["/api/vouchervalue"]["post"]
    assert set(lookup["responses"]) == {"200", "400", "404", "413", "415", "422", "503"}
    assert "security" not in lookup


def test_the_readme_documents_every_route(client):
    readme = (REPO_ROOT / "README.md").read_text()
    routes = readme.split("| route | what it answers |", 1)[1].split("\n\n", 1)[0]
    for path in client.simulate_get("/openapi.json").json["paths"]:
        assert re.search(rf"`(GET |POST )?{re.escape(path)}`", routes), path


def test_openapi_document_is_valid_openapi_3_1(client):
    from jsonschema import Draft202012Validator

    # The OAS 3.1 meta-schema, as shipped by the pinned schemathesis.
    from schemathesis.specs.openapi.definitions import OPENAPI_31

    document = client.simulate_get("/openapi.json").json
    errors = list(Draft202012Validator(OPENAPI_31).iter_errors(document))
    assert errors == [], [error.message for error in errors]
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)  # raises on a bad schema


def test_openapi_meta_schema_check_can_fail(client):
    from jsonschema import Draft202012Validator
    from schemathesis.specs.openapi.definitions import OPENAPI_31

    document = client.simulate_get("/openapi.json").json
    document["paths"]["/health"]["get"]["responses"]["200"].pop("description")
    assert not Draft202012Validator(OPENAPI_31).is_valid(document)


def test_openapi_tells_when_a_key_is_needed(make_client):
    client = make_client(ApiConfig(refresh_seconds=0, api_key="k"))
    document = client.simulate_get("/openapi.json").json
    for path in ("/api/vouchervalue", "/api/segments"):
        operation = next(iter(document["paths"][path].values()))
        assert operation["security"] == [{"apiKey": []}]
        assert "401" in operation["responses"]
    assert "security" not in document["paths"]["/health"]["get"]
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


@pytest.mark.parametrize(
    "path", ["/health", "/ready", "/openapi.json", "/api/segments"]
)
def test_json_routes_answer_json(client, path):
    response = client.simulate_get(path)
    assert response.headers["content-type"] == "application/json"
