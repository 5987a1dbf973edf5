"""GET /api/segments: definitions and, per country, amounts and distributions."""

from __future__ import annotations

import falcon

from api.contract import encode
from api.snapshot import MartSnapshot
from api.store import SnapshotStore


class SegmentsResource:
    requires_api_key = True

    def __init__(self, store: SnapshotStore) -> None:
        self._store = store
        # The catalogue changes only with the snapshot: encoded once per build.
        self._encoded: tuple[MartSnapshot | None, bytes] = (None, b"")

    async def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        snapshot = self._store.require()
        encoded_for, encoded = self._encoded
        if encoded_for is not snapshot:
            encoded = encode(snapshot.catalogue())
            self._encoded = (snapshot, encoded)
        resp.data = encoded
        resp.content_type = falcon.MEDIA_JSON
