"""GET /openapi.json: the OpenAPI 3.1 document of this deployment."""

from __future__ import annotations

import falcon


class OpenApiResource:
    def __init__(self, document: dict) -> None:
        self._document = document

    async def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self._document
