"""GET /health (the process answers) and GET /ready (a snapshot is being served)."""

from __future__ import annotations

from datetime import datetime

import falcon

from api.problems import NotReady
from api.store import STARTING, SnapshotStore
from api.timestamps import format_utc
from dwh.version import version_info


class HealthResource:
    async def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok"}


class ReadyResource:
    """Ready while a snapshot is served; a failing warehouse only makes it stale.

    A stale snapshot still answers correctly for the last good build, so the
    instance stays in rotation (200, "status": "stale"); 503 only without one.
    No warehouse round trip: this reports what the refresher last saw.
    """

    def __init__(self, store: SnapshotStore) -> None:
        self._store = store

    async def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        status = self._store.status()
        details = {
            **version_info(),
            "stale": status.stale,
            "warehouse": status.warehouse,
            "build": status.build,
            "built_at": _utc(status.built_at),
            "loaded_at": _utc(status.loaded_at),
            "last_checked_at": _utc(status.last_checked_at),
            "last_attempt_at": _utc(status.last_attempt_at),
            "countries": status.countries,
        }
        if not status.ready:
            raise NotReady(reason=status.reason or STARTING, details=details)
        resp.media = {
            "status": "stale" if status.stale else "ready",
            "reason": status.reason,
            **details,
        }


def _utc(value: datetime | None) -> str | None:
    return None if value is None else format_utc(value)
