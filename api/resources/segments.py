"""GET /api/segments: definitions and, per country, amounts and distributions."""

from __future__ import annotations

import falcon

from api.store import SnapshotStore


class SegmentsResource:
    requires_api_key = True

    def __init__(self, store: SnapshotStore) -> None:
        self._store = store

    async def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self._store.require().catalogue()
