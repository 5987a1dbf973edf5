"""GET /openapi.json: the OpenAPI 3.1 document of this deployment."""

from __future__ import annotations

import falcon

from api.config import ApiConfig
from api.contract import encode
from api.openapi import build_openapi
from api.store import SnapshotStore


class OpenApiResource:
    """The document for the config and the served snapshot's segments, encoded
    once per set of segments (a new build rarely changes them)."""

    def __init__(self, config: ApiConfig, store: SnapshotStore) -> None:
        self._config = config
        self._store = store
        self._encoded: dict[tuple[tuple[str, str], ...] | None, bytes] = {}

    async def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        snapshot = self._store.current
        segments = None
        if snapshot is not None:
            segments = tuple(
                (name, definitions[0].measure)
                for name, definitions in snapshot.segments.items()
            )
        encoded = self._encoded.get(segments)
        if encoded is None:
            document = build_openapi(self._config, dict(segments or ()))
            encoded = self._encoded[segments] = encode(document)
        resp.data = encoded
        resp.content_type = falcon.MEDIA_JSON
