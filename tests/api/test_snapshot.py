"""The snapshot store: swapping builds, refusing half builds, keeping the last one."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import falcon.testing
import pytest

from api.app import create_app
from api.snapshot import MartSnapshot, SnapshotInvalid
from api.store import SnapshotStore, refresh_all_stores
from tests.api.fake_mart import (
    BUILT_AT,
    NEW_BUILD,
    PERU_FALLBACK,
    TEST_CONFIG,
    InMemorySource,
    mart_rows,
    seed_definitions,
)

BODY = {"country_code": "Peru", "segment_name": "frequent_segment", "total_orders": 5}


def amount(client) -> tuple[int, str]:
    answer = client.simulate_post("/api/vouchervalue", json=BODY).json
    return answer["voucher_amount"], answer["built_at"]


def test_a_new_build_is_swapped_in_without_a_restart(client, fake_source, store):
    assert amount(client) == (1500, "2025-01-01T03:00:00Z")
    fake_source.publish(mart_rows(NEW_BUILD, peru_shift=10))
    assert store.refresh() is True
    assert amount(client) == (1510, "2025-02-01T04:00:00Z")


def test_an_unchanged_source_is_not_read_again(fake_source, store):
    reads = fake_source.reads
    assert store.refresh() is False
    assert store.refresh() is False
    assert fake_source.reads == reads


def test_a_snapshot_cannot_be_mutated(store):
    snapshot = store.current
    with pytest.raises(TypeError):
        snapshot.country_modes["Peru"] = None
    with pytest.raises(AttributeError):
        snapshot.built_at = NEW_BUILD


def half_build() -> object:
    """dbt has replaced voucher_segment_modes but not yet the other tables."""
    old, new = mart_rows(BUILT_AT), mart_rows(NEW_BUILD, peru_shift=10)
    return replace(old, segment_modes=new.segment_modes)


def without_variant(variant: str) -> object:
    """The modes lost a variant the amount counts still have (seed changed?)."""
    rows = mart_rows(NEW_BUILD)
    return replace(
        rows, segment_modes=tuple(r for r in rows.segment_modes if r[2] != variant)
    )


def with_bounds(country: str, variant: str, lower: int, upper: int | None) -> object:
    """One country's copy of one variant's bounds differs from the others'."""
    rows = mart_rows(NEW_BUILD)
    return replace(
        rows,
        segment_modes=tuple(
            (*r[:4], lower, upper, *r[6:]) if r[0] == country and r[2] == variant else r
            for r in rows.segment_modes
        ),
    )


def without_row(country: str, variant: str) -> object:
    rows = mart_rows(NEW_BUILD)
    return replace(
        rows,
        segment_modes=tuple(
            r for r in rows.segment_modes if (r[0], r[2]) != (country, variant)
        ),
    )


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        (half_build(), "different builds"),
        (without_variant("180+"), "not in voucher_segment_modes"),
        (with_bounds("China", "5-13", 5, 12), "two different definitions"),
        (without_row("Chile", "0-4"), "no frequent_segment/0-4 row for Chile"),
        (replace(mart_rows(NEW_BUILD), country_modes=()), "empty"),
        (
            replace(
                mart_rows(NEW_BUILD),
                country_modes=(("Peru", None, 0, 0, NEW_BUILD),),
            ),
            "no country with vouchers",
        ),
        (replace(mart_rows(NEW_BUILD), segment_modes=()), "empty"),
    ],
    ids=[
        "half-build",
        "seed-changed",
        "bounds-disagree",
        "variant-missing",
        "empty",
        "no-vouchers",
        "no-segment-modes",
    ],
)
def test_an_inconsistent_build_is_refused_and_the_last_one_kept(
    make_client, fake_source, store, rows, reason, caplog
):
    client = make_client()
    fake_source.publish(rows)
    with caplog.at_level("WARNING", logger="api.snapshot"):
        assert store.refresh() is False
    assert amount(client) == (1500, "2025-01-01T03:00:00Z")
    ready = client.simulate_get("/ready").json
    assert ready["stale"] is True
    # A stable code for clients; what exactly is wrong goes to the log.
    assert ready["reason"] == "published_build_unusable"
    assert any(reason in getattr(record, "detail", "") for record in caplog.records)
    # The same broken build is not read again; a complete one is taken.
    reads = fake_source.reads
    store.refresh()
    assert fake_source.reads == reads
    fake_source.publish(mart_rows(NEW_BUILD, peru_shift=10))
    assert store.refresh() is True
    assert client.simulate_get("/ready").json["status"] == "ready"


@pytest.mark.parametrize(
    ("definitions", "reason"),
    [
        (
            (
                ("frequent_segment", "a", "total_orders", 0, 5),
                ("frequent_segment", "b", "total_orders", 5, 9),
            ),
            "overlap",
        ),
        (
            (
                ("frequent_segment", "a", "total_orders", 10, None),
                ("frequent_segment", "b", "total_orders", 20, 30),
            ),
            "overlap",
        ),
        ((("frequent_segment", "a", "basket_size", 0, 5),), "unknown measure"),
        ((("frequent_segment", "a", "total_orders", 9, 5),), "invalid bounds"),
        (
            (
                ("frequent_segment", "a", "total_orders", 0, 5),
                ("frequent_segment", "a", "total_orders", 6, 9),
            ),
            "two different definitions",
        ),
    ],
)
def test_unusable_definitions_are_refused(definitions, reason):
    rows = mart_rows(definitions=definitions)
    with pytest.raises(SnapshotInvalid, match=reason):
        MartSnapshot.from_rows(rows, loaded_at=NEW_BUILD)


def test_bounds_come_from_the_segment_modes_not_from_code():
    # Move the frequent boundary from 4/5 to 2/3: answers follow the data.
    definitions = tuple(
        ("frequent_segment", "0-4", "total_orders", 0, 2)
        if row[1] == "0-4"
        else ("frequent_segment", "5-13", "total_orders", 3, 13)
        if row[1] == "5-13"
        else row
        for row in seed_definitions()
    )
    snapshot = MartSnapshot.from_rows(
        mart_rows(definitions=definitions), loaded_at=NEW_BUILD
    )
    assert snapshot.variant_for("frequent_segment", 2) == "0-4"
    assert snapshot.variant_for("frequent_segment", 3) == "5-13"


def test_the_refresher_thread_picks_up_a_new_build():
    source = InMemorySource()
    store = SnapshotStore(source, refresh_seconds=0.05)
    store.start()
    try:
        client = falcon.testing.TestClient(create_app(TEST_CONFIG, store=store))
        source.publish(mart_rows(NEW_BUILD, peru_shift=10))
        deadline = time.monotonic() + 5
        while amount(client)[0] != 1510 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert amount(client) == (1510, "2025-02-01T04:00:00Z")
    finally:
        store.stop()


def test_a_refresh_request_wakes_the_thread_at_once():
    # The SIGHUP handler installed by api/gunicorn.conf.py calls this.
    source = InMemorySource()
    store = SnapshotStore(source, refresh_seconds=3600)
    store.start()
    try:
        source.publish(mart_rows(NEW_BUILD, peru_shift=10))
        refresh_all_stores()
        deadline = time.monotonic() + 5
        while store.current.built_at.month != 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert store.current.built_at.month == 2
    finally:
        store.stop()


def test_the_refresher_survives_a_crashing_source():
    class Flaky(InMemorySource):
        calls = 0

        def version(self):
            self.calls += 1
            if self.calls == 2:
                raise RuntimeError("driver bug")
            return super().version()

    source = Flaky()
    store = SnapshotStore(source, refresh_seconds=0.02)
    store.start()
    try:
        source.publish(mart_rows(NEW_BUILD, peru_shift=10))
        deadline = time.monotonic() + 5
        while store.current.built_at.month != 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert source.calls >= 3
        assert store.current.built_at.month == 2
    finally:
        store.stop()


def test_no_request_ever_sees_half_a_snapshot(fake_source, store):
    """Swap builds as fast as possible while requests run: every answer must
    pair each build's amount with that same build's built_at."""
    client = falcon.testing.TestClient(create_app(TEST_CONFIG, store=store))
    builds = [mart_rows(BUILT_AT), mart_rows(NEW_BUILD, peru_shift=10)]
    expected = {
        "2025-01-01T03:00:00Z": (1500, PERU_FALLBACK),
        "2025-02-01T04:00:00Z": (1510, PERU_FALLBACK + 10),
    }
    stop = threading.Event()

    def swap():
        flip = 0
        while not stop.is_set():
            flip ^= 1
            fake_source.publish(builds[flip])
            store.refresh()

    swapper = threading.Thread(target=swap)
    swapper.start()
    seen = {built_at: 0 for built_at in expected}
    deadline = time.monotonic() + 10
    requests = 0
    try:
        while requests < 600 or min(seen.values()) < 20:
            assert time.monotonic() < deadline, f"builds seen: {seen}"
            total_orders = 5 if requests % 2 else 50
            answer = client.simulate_post(
                "/api/vouchervalue", json={**BODY, "total_orders": total_orders}
            ).json
            segment_amount, fallback = expected[answer["built_at"]]
            want = segment_amount if total_orders == 5 else fallback
            assert answer["voucher_amount"] == want
            seen[answer["built_at"]] += 1
            requests += 1
    finally:
        stop.set()
        swapper.join()


def test_without_a_snapshot_the_refresher_retries_soon():
    # A worker that boots while dbt holds the file must not wait a full interval.
    source = InMemorySource()
    source.failure = "locked"
    store = SnapshotStore(source, refresh_seconds=3600)
    store.start()
    try:
        assert store.current is None
        source.failure = None
        deadline = time.monotonic() + 5
        while store.current is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.current is not None
    finally:
        store.stop()


def _scan(snapshot: MartSnapshot, segment: str, value: int) -> str | None:
    """The variant by the definition: the first whose inclusive bounds hold it."""
    for definition in snapshot.segments[segment]:
        if definition.contains(value):
            return definition.segment_variant
    return None


@pytest.mark.parametrize(
    "definitions",
    [
        None,  # the seed
        # A gap between variants, no unbounded variant, a bound past the table.
        (
            ("frequent_segment", "low", "total_orders", 3, 7),
            ("frequent_segment", "high", "total_orders", 10, 12),
            ("recency_segment", "near", "days_since_last_order", 0, 0),
            ("recency_segment", "far", "days_since_last_order", 200_000, None),
        ),
    ],
)
def test_the_placement_index_agrees_with_the_bounds(definitions):
    snapshot = MartSnapshot.from_rows(
        mart_rows(definitions=definitions), loaded_at=NEW_BUILD
    )
    for segment, definitions_of in snapshot.segments.items():
        edges = {0, 10**30}
        for d in definitions_of:
            edges |= {d.lower_bound - 1, d.lower_bound, d.lower_bound + 1}
            if d.upper_bound is not None:
                edges |= {d.upper_bound - 1, d.upper_bound, d.upper_bound + 1}
        values = set(range(300)) | {v for v in edges if v >= 0}
        for value in sorted(values):
            expected = _scan(snapshot, segment, value)
            assert snapshot.variant_for(segment, value) == expected, (segment, value)
    assert snapshot.variant_for("no_such_segment", 3) is None
