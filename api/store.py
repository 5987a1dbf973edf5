"""Holds the current MartSnapshot and swaps in a new one when a build lands.

Requests only ever read `store.current` (one attribute read, atomic under the
GIL) and keep that object for the whole request, so no request sees half a
snapshot and none waits for the warehouse. A background thread checks the
source every few seconds; a failed check keeps the last good snapshot and is
counted (api.metrics, GET /metrics).
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime

from api.metrics import count_refresh_failure
from api.snapshot import MartSnapshot, SnapshotInvalid
from api.sources import MartSource
from dwh.errors import WarehouseError
from dwh.reader import UNREACHABLE

log = logging.getLogger("api.snapshot")

_NEVER = object()

# Why there is no (fresh) snapshot, as stable codes anyone may see (/ready, 503
# answers); the details (paths, hosts, server text) go to the log only. The
# warehouse's own codes come from dwh.reader.
STARTING = "starting"
UNUSABLE = "published_build_unusable"
NOT_CHECKED = "not_checked_recently"
REASONS = {
    STARTING: "The service has not read the published build yet.",
    UNUSABLE: "The published build is not consistent; the last good one is kept.",
    NOT_CHECKED: "The warehouse has not been checked successfully for a while.",
    "warehouse_unreachable": "The warehouse cannot be reached right now.",
    "warehouse_busy": "The warehouse is busy (a build is writing it).",
    "nothing_published": "No build has been published yet (python -m serving publish).",
    "warehouse_query_failed": "Reading the published build failed.",
}


# A check that raised something unforeseen: a metrics label, never shown.
CRASHED = "refresh_crashed"


def reason_text(code: str) -> str:
    """A sentence for a reason code, safe to show to anyone."""
    return REASONS.get(code, "The published build cannot be read right now.")


_RETRY_WHEN_EMPTY_SECONDS = 1.0
# Stores whose refresher thread runs; SIGHUP asks all of them to check now.
_RUNNING_STORES: weakref.WeakSet[SnapshotStore] = weakref.WeakSet()


class SnapshotUnavailable(Exception):
    """There is no snapshot to answer from (the warehouse was never readable)."""


@dataclass(frozen=True, slots=True)
class StoreStatus:
    """What /ready reports."""

    ready: bool
    stale: bool
    reason: str | None  # one of REASONS' codes
    warehouse: str  # the kind only (duckdb, postgres), never where it is
    build: dict | None  # the served build's PublishedBuild.describe()
    built_at: datetime | None
    loaded_at: datetime | None
    last_checked_at: datetime | None
    last_attempt_at: datetime | None
    countries: int


class SnapshotStore:
    """The current snapshot plus the machinery that keeps it fresh."""

    def __init__(
        self,
        source: MartSource,
        *,
        refresh_seconds: float = 5.0,
        stale_after_seconds: float = 30.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._source = source
        self._refresh_seconds = refresh_seconds
        self._stale_after_seconds = stale_after_seconds
        self._clock = clock
        self._current: MartSnapshot | None = None
        self._refresh_lock = threading.Lock()  # serialises refreshes only
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._loaded_version: Hashable = _NEVER
        self._rejected_version: Hashable = _NEVER
        self._problem: str | None = STARTING
        self._last_checked_at: datetime | None = None
        self._last_attempt_at: datetime | None = None

    @property
    def current(self) -> MartSnapshot | None:
        return self._current

    def require(self) -> MartSnapshot:
        """The current snapshot, or SnapshotUnavailable saying why there is none."""
        snapshot = self._current
        if snapshot is None:
            raise SnapshotUnavailable(self._problem or STARTING)
        return snapshot

    def refresh(self) -> bool:
        """Check the source once; swap in a new snapshot if there is a new build.

        Returns True when a new snapshot was swapped in.
        """
        with self._refresh_lock:
            now = self._clock()
            self._last_attempt_at = now
            try:
                version = self._source.version()
                if version in (self._loaded_version, self._rejected_version):
                    self._checked(now, problem=self._problem_for(version))
                    return False
                snapshot = MartSnapshot.from_rows(self._source.read(), loaded_at=now)
            except WarehouseError as error:
                self._problem = getattr(error, "code", UNREACHABLE)
                count_refresh_failure(self._problem)
                log.warning(
                    "snapshot check failed",
                    extra={"reason": self._problem, "detail": str(error)},
                )
                return False
            except SnapshotInvalid as error:
                self._rejected_version = version
                self._checked(now, problem=UNUSABLE)
                # Once per rejected build: later checks see the same version.
                count_refresh_failure(UNUSABLE)
                log.warning(
                    "snapshot rejected",
                    extra={"reason": UNUSABLE, "detail": str(error)},
                )
                return False
            if _same_build(self._current, snapshot):
                # The file changed (dbt wrote it) but not what is published.
                self._loaded_version = version
                self._checked(now, problem=None)
                return False
            self._current = snapshot
            self._loaded_version = version
            self._rejected_version = _NEVER
            self._checked(now, problem=None)
            log.info(
                "snapshot loaded",
                extra={
                    "built_at": snapshot.built_at.isoformat(),
                    "build": snapshot.describe_build(),
                    "countries": len(snapshot.country_modes),
                    "source": getattr(self._source, "description", None),
                },
            )
            return True

    def status(self) -> StoreStatus:
        snapshot = self._current
        now = self._clock()
        reason = self._problem
        stale = snapshot is not None and reason is not None
        last_checked = self._last_checked_at
        if snapshot is not None and (
            last_checked is None
            or (now - last_checked).total_seconds() > self._stale_after_seconds
        ):
            stale = True
            reason = reason or NOT_CHECKED
        return StoreStatus(
            ready=snapshot is not None,
            stale=stale,
            reason=reason if (stale or snapshot is None) else None,
            warehouse=self._source.warehouse,
            build=snapshot.describe_build() if snapshot else None,
            built_at=snapshot.built_at if snapshot else None,
            loaded_at=snapshot.loaded_at if snapshot else None,
            last_checked_at=last_checked,
            last_attempt_at=self._last_attempt_at,
            countries=len(snapshot.country_modes) if snapshot else 0,
        )

    def start(self) -> None:
        """Load now, then keep checking in a daemon thread (if refresh_seconds > 0)."""
        self.refresh()
        if self._refresh_seconds <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._run, name="snapshot-refresher", daemon=True
        )
        self._thread.start()
        _RUNNING_STORES.add(self)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        _RUNNING_STORES.discard(self)

    def request_refresh(self) -> None:
        """Wake the refresher now (safe to call from a signal handler)."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            # Without any snapshot every request fails: try again sooner.
            pause = self._refresh_seconds
            if self._current is None:
                pause = min(pause, _RETRY_WHEN_EMPTY_SECONDS)
            self._wake.wait(pause)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                self.refresh()
            except Exception:  # the thread must outlive any surprise
                count_refresh_failure(CRASHED)
                log.exception("snapshot refresh crashed")

    def _checked(self, now: datetime, *, problem: str | None) -> None:
        self._last_checked_at = now
        self._problem = problem

    def _problem_for(self, version: Hashable) -> str | None:
        # Unchanged source: keep reporting a rejected newest build, if any.
        if version == self._rejected_version:
            return self._problem
        return None


def _same_build(current: MartSnapshot | None, new: MartSnapshot) -> bool:
    if current is None or current.build is None or new.build is None:
        return False
    return current.build == new.build and current.built_at == new.built_at


def refresh_all_stores() -> None:
    """Ask every running store to check the warehouse now (the SIGHUP handler)."""
    for store in list(_RUNNING_STORES):
        store.request_refresh()
