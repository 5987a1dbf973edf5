"""GET /metrics: the Prometheus text format, parsed as Prometheus would.

The metrics are the process's own (prometheus_client keeps them per process),
so each test compares two scrapes rather than absolute values. The last test
runs gunicorn with two workers in multiprocess mode.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import runpy
import signal
import time
from bisect import bisect_left
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.parser import text_string_to_metric_families

from api import metrics
from api.config import ApiConfig
from api.metrics import LATENCY_BUCKETS, TallyHistogram
from api.store import SnapshotStore
from tests.api.fake_mart import BUILT_AT, NEW_BUILD, InMemorySource, mart_rows
from tests.api.gunicorn_server import Server, start_server, write_duckdb
from tests.conftest import REPO_ROOT

PERU_SEGMENT = {  # 5 orders: variant 5-13, which has history
    "country_code": "Peru",
    "segment_name": "frequent_segment",
    "total_orders": 5,
}
PERU_FALLBACK = {**PERU_SEGMENT, "total_orders": 500}  # past every variant

Samples = dict[tuple[str, frozenset], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client, **kwargs) -> Samples:
    response = client.simulate_get("/metrics", **kwargs)
    assert response.status_code == 200, response.text
    assert (
        response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    )
    return parse(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_requests_are_counted_by_route_template_and_status(client):
    before = scrape(client)
    for _ in range(3):
        assert (
            client.simulate_post("/api/vouchervalue", json=PERU_SEGMENT).status_code
            == 200
        )
    assert client.simulate_post("/api/vouchervalue", json={}).status_code == 422
    assert client.simulate_get("/health").status_code == 200
    after = scrape(client)

    requests = "voucher_api_requests_total"
    assert moved(before, after, requests, route="/api/vouchervalue", status="200") == 3
    assert moved(before, after, requests, route="/api/vouchervalue", status="422") == 1
    assert moved(before, after, requests, route="/health", status="200") == 1
    # The first scrape is counted too, once it has been answered.
    assert moved(before, after, requests, route="/metrics", status="200") == 1

    seconds = "voucher_api_request_duration_seconds"
    lookup = {"route": "/api/vouchervalue"}
    assert moved(before, after, f"{seconds}_count", **lookup) == 4
    assert moved(before, after, f"{seconds}_bucket", le="+Inf", **lookup) == 4
    assert 0 < moved(before, after, f"{seconds}_sum", **lookup) < 4  # seconds
    buckets = [
        value(after, f"{seconds}_bucket", le=str(b), **lookup) for b in LATENCY_BUCKETS
    ]
    assert buckets == sorted(buckets)  # cumulative, as Prometheus expects


def test_unknown_paths_share_one_route_label(client):
    before = scrape(client)
    for number in range(20):
        assert client.simulate_get(f"/wp-admin/{number}.php").status_code == 404
    after = scrape(client)
    requests = "voucher_api_requests_total"
    assert moved(before, after, requests, route="unmatched", status="404") == 20
    routes = {dict(labels).get("route") for _, labels in after}
    assert not any(route and route.startswith("/wp-admin") for route in routes)


def test_lookups_are_counted_by_source_a_batch_by_each_customer(client):
    before = scrape(client)
    client.simulate_post("/api/vouchervalue", json=PERU_SEGMENT)
    client.simulate_post("/api/vouchervalue", json=PERU_FALLBACK)
    response = client.simulate_post(
        "/api/vouchervalues",
        json={"customers": [PERU_SEGMENT, PERU_SEGMENT, PERU_FALLBACK, {}]},
    )
    assert response.json["counts"] == {
        "segment": 2,
        "country_fallback": 1,
        "refused": 1,
    }
    client.simulate_post("/api/vouchervalue", json={})  # refused: no lookup
    after = scrape(client)
    lookups = "voucher_api_lookups_total"
    assert moved(before, after, lookups, source="segment") == 3
    assert moved(before, after, lookups, source="country_fallback") == 2
    assert {dict(labels)["source"] for name, labels in after if name == lookups} == {
        "segment",
        "country_fallback",
    }


def test_the_build_gauges_follow_the_served_snapshot(make_client, fake_source, store):
    client = make_client()
    samples = scrape(client)
    assert store.current.built_at == BUILT_AT.replace(tzinfo=UTC)
    built_at = store.current.built_at.timestamp()
    assert value(samples, "voucher_api_build_timestamp_seconds") == built_at
    age = value(samples, "voucher_api_build_age_seconds")
    assert abs(age - (time.time() - built_at)) < 60

    fake_source.publish(mart_rows(NEW_BUILD))
    assert store.refresh()
    samples = scrape(client)
    assert value(samples, "voucher_api_build_timestamp_seconds") == (
        store.current.built_at.timestamp()
    )
    assert value(samples, "voucher_api_build_age_seconds") < age


def test_no_build_gauges_without_a_snapshot(make_client, fake_source):
    fake_source.failure = "connection refused"
    store = SnapshotStore(fake_source, refresh_seconds=0)
    store.refresh()
    samples = scrape(make_client(store=store))
    assert ("voucher_api_build_timestamp_seconds", frozenset()) not in samples
    assert ("voucher_api_build_age_seconds", frozenset()) not in samples


def test_refresh_failures_count_failed_checks(make_client, fake_source, store):
    client = make_client()
    failures = "voucher_api_snapshot_refresh_failures_total"
    before = scrape(client)
    fake_source.failure = "server closed the connection"
    store.refresh()
    store.refresh()
    fake_source.failure = None
    store.refresh()  # the warehouse is back: not a failure
    fake_source.publish(replace(mart_rows(), country_modes=()))  # unusable build
    store.refresh()
    store.refresh()  # the same rejected build: not checked again
    after = scrape(client)
    assert moved(before, after, failures, reason="warehouse_unreachable") == 2
    assert moved(before, after, failures, reason="published_build_unusable") == 1


def test_a_crashed_refresh_is_counted_and_the_refresher_goes_on(make_client):
    class CrashingSource(InMemorySource):
        def version(self):
            if self.reads:  # the first load works, every later check crashes
                raise RuntimeError("a bug")
            return super().version()

    store = SnapshotStore(CrashingSource(), refresh_seconds=0.01)
    client = make_client(store=store)
    before = scrape(client)
    store.start()
    try:
        deadline = time.monotonic() + 5
        while True:
            crashed = moved(
                before,
                scrape(client),
                "voucher_api_snapshot_refresh_failures_total",
                reason="refresh_crashed",
            )
            if crashed >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.02)
    finally:
        store.stop()
    assert crashed >= 2


def test_metrics_follow_the_api_key_rule(make_client):
    open_client = make_client()
    assert open_client.simulate_get("/metrics").status_code == 200

    client = make_client(ApiConfig(refresh_seconds=0, api_key="k"))
    refused = client.simulate_get("/metrics")
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    wrong = client.simulate_get("/metrics", headers={"Authorization": "Bearer x"})
    assert wrong.status_code == 401
    scrape(client, headers={"Authorization": "Bearer k"})
    document = client.simulate_get("/openapi.json").json
    operation = document["paths"]["/metrics"]["get"]
    assert operation["security"] == [{"apiKey": []}]
    assert "401" in operation["responses"]


def test_head_answers_the_headers_only(client):
    response = client.simulate_head("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(metrics.MEDIA_TYPE)
    assert response.content == b""


def test_the_openapi_media_type_is_what_is_answered(client):
    document = client.simulate_get("/openapi.json").json
    for method in ("get", "head"):
        content = document["paths"]["/metrics"][method]["responses"]["200"]["content"]
        assert list(content) == [metrics.MEDIA_TYPE]
    assert metrics.CONTENT_TYPE.startswith(metrics.MEDIA_TYPE + ";")


def test_many_observations_at_once_equal_one_at_a_time():
    """TallyHistogram.observe_many relies on Histogram's own values."""
    registry = CollectorRegistry()
    one_by_one = Histogram(
        "one", "x", ["route"], buckets=LATENCY_BUCKETS, registry=registry
    )
    at_once = TallyHistogram(
        "many", "x", ["route"], buckets=LATENCY_BUCKETS, registry=registry
    )
    tally: dict[int, list] = {}
    for seconds in (0.0001, 0.00025, 0.0003, 0.0003, 0.002, 0.7, 3.0, 60.0):
        one_by_one.labels("/a").observe(seconds)
        counts = tally.setdefault(bisect_left(LATENCY_BUCKETS, seconds), [0, 0.0])
        counts[0] += 1
        counts[1] += seconds
    for bucket, (count, total) in tally.items():
        at_once.labels("/a").observe_many(bucket, count, total)

    def samples(name):
        family = next(m for m in registry.collect() if m.name == name)
        return [(s.name.removeprefix(name), s.labels, s.value) for s in family.samples]

    assert samples("many") == samples("one")


def test_the_tally_is_flushed_soon_after_a_request(monkeypatch, store):
    """In a running event loop (a worker), without waiting for a scrape."""
    monkeypatch.setattr(metrics, "FLUSH_SECONDS", 0.01)
    tally = metrics.RequestTally()
    registry = metrics.scrape_registry(store)  # read without flushing TALLY
    labels = {"route": "/test/flushed-soon", "status": "200"}

    def count() -> float:
        return registry.get_sample_value("voucher_api_requests_total", labels) or 0

    before = count()

    async def one_request_then_wait():
        tally.record(labels["route"], 200, 0.001)
        assert count() == before  # not yet
        await asyncio.sleep(0.2)

    asyncio.run(one_request_then_wait())
    assert count() == before + 1


def test_gunicorn_start_up_empties_or_makes_the_metrics_directory(
    tmp_path, monkeypatch
):
    config = runpy.run_path(str(REPO_ROOT / "api" / "gunicorn.conf.py"))
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"left by an earlier run")
    (directory / "notes.txt").write_text("not ours")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    config["on_starting"](None)
    assert sorted(p.name for p in directory.iterdir()) == ["notes.txt"]

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    config["on_starting"](None)
    made = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    assert made.is_dir() and made.name.startswith("voucher-api-metrics-")
    config["_remove_in_process"](str(made), os.getpid() + 1)  # a worker: kept
    assert made.is_dir()
    config["_remove_in_process"](str(made), os.getpid())  # the master: removed
    assert not made.exists()


# --- gunicorn, two workers, multiprocess mode -------------------------------


@pytest.fixture
def two_workers(tmp_path) -> Iterator[tuple[Server, Path]]:
    directory = tmp_path / "metrics"
    directory.mkdir()
    # A previous run's file, as a crashed server would leave it: summed with
    # this run's if start-up did not empty the directory.
    stale = MmapedDict(str(directory / "counter_1.db"))
    key = mmap_key(
        "voucher_api_lookups",
        "voucher_api_lookups_total",
        ["source"],
        ["segment"],
        "old",
    )
    stale.write_value(key, 1000.0, 0.0)
    stale.close()
    write_duckdb(tmp_path / "voucher.duckdb", mart_rows())
    for server in start_server(
        tmp_path,
        "api.asgi:app",
        PROMETHEUS_MULTIPROC_DIR=str(directory),
        VOUCHER_API_REFRESH_SECONDS="3600",
    ):
        yield server, directory


def _lookup(server: Server) -> None:
    # A new connection each time, so that either worker may accept it.
    status, _, answer = server.request("POST", "/api/vouchervalue", PERU_SEGMENT)
    assert status == 200, answer


def _segment_lookups_by_pid(directory: Path) -> dict[int, float]:
    counts = {}
    for path in directory.glob("counter_*.db"):
        for key, count, _, _ in MmapedDict.read_all_values_from_file(str(path)):
            _, name, labels, _ = json.loads(key)
            segment = name == "voucher_api_lookups_total" and labels == {
                "source": "segment"
            }
            if segment and count:  # each worker starts with a zero entry
                counts[int(path.stem.split("_")[1])] = count
    return counts


def _scrape(server: Server) -> Samples:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        assert response.status == 200
        return parse(response.read().decode())
    finally:
        connection.close()


def test_two_gunicorn_workers_are_summed_also_once_stopped(two_workers):
    server, directory = two_workers
    workers = set(server.workers())
    assert len(workers) == 2
    sent = 0
    deadline = time.monotonic() + 30
    # Until both workers have answered lookups (and flushed them to their
    # files): concurrent clients, so that neither worker takes every accept.
    while set(_segment_lookups_by_pid(directory)) != workers:
        assert time.monotonic() < deadline, _segment_lookups_by_pid(directory)
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda _: _lookup(server), range(40)))
        sent += 40
        time.sleep(metrics.FLUSH_SECONDS + 0.5)

    by_pid = _segment_lookups_by_pid(directory)
    assert set(by_pid) == workers  # both answered some
    assert sum(by_pid.values()) == sent
    # Whichever worker answers, the scrape gives both workers' sum, and
    # nothing of the stale file.
    for _ in range(4):
        samples = _scrape(server)
        assert value(samples, "voucher_api_lookups_total", source="segment") == sent
        assert (
            value(
                samples,
                "voucher_api_requests_total",
                route="/api/vouchervalue",
                status="200",
            )
            == sent
        )
    assert not (directory / "counter_1.db").exists()

    # Workers stopped at once, before their tally's flush: their last
    # requests reach the files at exit, and the sums keep them.
    for _ in range(10):
        _lookup(server)
    for pid in workers:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while not (
        set(server.workers()).isdisjoint(workers) and len(server.workers()) == 2
    ):
        assert time.monotonic() < deadline, server.log.read_text()
        time.sleep(0.1)
    samples = _scrape(server)
    assert value(samples, "voucher_api_lookups_total", source="segment") == sent + 10
