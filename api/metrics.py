"""Prometheus metrics: what the API answered, how fast, and from which build.

The metrics are the process's own, as prometheus_client keeps them. Under
gunicorn each worker writes its values to files in PROMETHEUS_MULTIPROC_DIR
(api/gunicorn.conf.py makes a fresh directory at start-up) and a scrape,
answered by any one worker, adds up the files of all of them: multiprocess
mode. Without the variable (tests, one process) the values live in memory.
prometheus_client chooses between the two when it is first imported, so the
variable must be set before a worker starts.

Requests are tallied in plain numbers (RequestTally) and added to the metrics
a second later, one write per route, status and bucket for all the requests
between: a metric's own inc() or observe() takes a lock and, in multiprocess
mode, writes a file. Per lookup that was 23k instructions in one process and
42k with the files, against about 4k for the tally (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import TYPE_CHECKING

from falcon import http_status_to_code
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

if TYPE_CHECKING:  # api.store counts its failures here: no import at run time
    from api.store import SnapshotStore

Status = HTTPStatus | str | int  # as falcon.Response.status may hold it

# The Prometheus text format 0.0.4, which every Prometheus version scrapes;
# the OpenAPI document names the media type, the answer adds the charset.
MEDIA_TYPE = "text/plain; version=0.0.4"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# Read when prometheus_client was imported (above), as it did itself.
MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
# The route label of a request no route matched: a scanner trying a thousand
# paths adds one series, not a thousand.
UNMATCHED_ROUTE = "unmatched"
# A lookup takes a fraction of a millisecond and a full batch about 50 ms:
# the buckets start well below the default 5 ms so lookups spread over them.
LATENCY_BUCKETS = (
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)
# How long a worker's tally may wait before it is added to the metrics: what
# a scrape answered by another worker may miss of this one.
FLUSH_SECONDS = 1.0

# No *_created series: multiprocess mode has none, so both modes export the
# same names, and Prometheus has no use for them in the text format.
disable_created_metrics()


class TallyHistogram(Histogram):
    """A Histogram that takes many observations of one bucket at once."""

    def observe_many(self, bucket: int, count: int, total: float) -> None:
        """count observations in bucket (an index into the bounds), summing
        to total; observe() would take count calls and locks for them."""
        self._raise_if_not_observable()
        # The same values observe() adds to (prometheus_client 0.26, pinned;
        # tests/api/test_metrics.py compares the two).
        self._sum.inc(total)
        self._buckets[bucket].inc(count)


# The live metrics of this process. In multiprocess mode they are written to
# the files and scrapes read the files instead of this registry.
_LIVE = CollectorRegistry()

REQUESTS = Counter(
    "voucher_api_requests_total",
    "HTTP requests answered, by route template and status code.",
    ["route", "status"],
    registry=_LIVE,
)
REQUEST_SECONDS = TallyHistogram(
    "voucher_api_request_duration_seconds",
    "Seconds from a request's arrival to its answer, by route template.",
    ["route"],
    buckets=LATENCY_BUCKETS,
    registry=_LIVE,
)
LOOKUPS = Counter(
    "voucher_api_lookups_total",
    "Customers answered, by where the amount came from; a batch adds each of "
    "its answered customers.",
    ["source"],
    registry=_LIVE,
)
REFRESH_FAILURES = Counter(
    "voucher_api_snapshot_refresh_failures_total",
    "Checks of the warehouse for a new build that failed, by reason code; the "
    "last good snapshot kept serving.",
    ["reason"],
    registry=_LIVE,
)


class RequestTally:
    """This process's answers since they were last added to the metrics.

    Only the event loop's thread touches it (api.middleware.RequestLog, the
    flush timer, a scrape), so it needs no lock. flush() runs FLUSH_SECONDS
    after the first request it holds, before a scrape, and at exit.
    """

    def __init__(self) -> None:
        # (route template or None, resp.status, bucket) -> [count, seconds].
        # Bounded: the app's routes, the statuses Falcon sends, the buckets.
        self._answers: dict[tuple[str | None, Status, int], list] = {}
        self._lookups: dict[str, int] = {}  # source -> customers answered

    def count_lookups_of(self, sources: Iterable[str]) -> dict[str, int]:
        """The tally of customers answered by source, for the caller to add
        to; each source is exported from now on, at zero, so that rate() sees
        its first lookup."""
        for source in sources:
            self._lookups.setdefault(source, 0)
            LOOKUPS.labels(source)
        return self._lookups

    def record(self, route: str | None, status: Status, seconds: float) -> None:
        """One answer: its route template (None: no route), status, duration."""
        answers = self._answers
        if not answers:
            _call_soon_after(FLUSH_SECONDS, self.flush)
        key = (route, status, bisect_left(LATENCY_BUCKETS, seconds))
        counts = answers.get(key)
        if counts is None:
            answers[key] = [1, seconds]
        else:
            counts[0] += 1
            counts[1] += seconds

    def flush(self) -> None:
        """Add what was tallied to the metrics and start again from zero."""
        answers, self._answers = self._answers, {}
        for (route, status, bucket), (count, seconds) in answers.items():
            label = route or UNMATCHED_ROUTE
            REQUESTS.labels(label, str(http_status_to_code(status))).inc(count)
            REQUEST_SECONDS.labels(label).observe_many(bucket, count, seconds)
        lookups = self._lookups  # the same dict: RequestLog holds it
        for source, count in lookups.items():
            if count:
                LOOKUPS.labels(source).inc(count)
                lookups[source] = 0


def _call_soon_after(seconds: float, callback: Callable[[], None]) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no event loop: the next scrape or the exit flushes
        return
    loop.call_later(seconds, callback)


TALLY = RequestTally()
atexit.register(TALLY.flush)  # a worker stopping keeps its last second


def count_refresh_failure(reason: str) -> None:
    """One failed check of the warehouse (api.store's refresher thread; the
    metric takes its own lock)."""
    REFRESH_FAILURES.labels(reason).inc()


class ServedBuild:
    """A collector of the served build's built_at and age, read at scrape time.

    From the store of the worker that answers the scrape: every worker checks
    the same warehouse, so they serve the same build within a refresh period.
    Nothing is written per request or per check.
    """

    def __init__(self, store: SnapshotStore) -> None:
        self._store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        snapshot = self._store.current
        built_at = GaugeMetricFamily(
            "voucher_api_build_timestamp_seconds",
            "When the served build was made (built_at), in Unix time.",
        )
        age = GaugeMetricFamily(
            "voucher_api_build_age_seconds",
            "Seconds since the served build was made, at the scrape.",
        )
        if snapshot is not None:  # no samples while there is nothing to serve
            stamp = snapshot.built_at.timestamp()
            built_at.add_metric([], stamp)
            age.add_metric([], time.time() - stamp)
        yield built_at
        yield age


def scrape_registry(store: SnapshotStore) -> CollectorRegistry:
    """What GET /metrics exports: every worker's metrics and the served build."""
    registry = CollectorRegistry()
    if MULTIPROCESS_DIR:
        MultiProcessCollector(registry, MULTIPROCESS_DIR)
    else:
        registry.register(_LIVE)  # a registry is itself a collector
    registry.register(ServedBuild(store))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """This worker's tally flushed, then the registry in the text format."""
    TALLY.flush()
    return generate_latest(registry)
