"""GET /metrics: the Prometheus metrics of every worker (api.metrics)."""

from __future__ import annotations

import falcon

from api.metrics import CONTENT_TYPE, render, scrape_registry
from api.store import SnapshotStore


class MetricsResource:
    """The counts, latencies and served build, in the Prometheus text format.

    Open when no API key is set, like the rest of the API; with one, it needs
    the key as /api/* does: traffic by route and the lookups' sources tell
    about the business, and Prometheus sends a bearer token from its config.
    """

    requires_api_key = True

    def __init__(self, store: SnapshotStore) -> None:
        self._registry = scrape_registry(store)

    async def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        # In multiprocess mode this reads each worker's files: about 2 ms with
        # every route's series, once per scrape. Python work under the GIL,
        # so a thread would not spare the event loop much of it.
        resp.data = render(self._registry)
        resp.content_type = CONTENT_TYPE
