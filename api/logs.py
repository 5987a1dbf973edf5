"""One JSON object per log line, for the access log and everything else."""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import msgspec
from gunicorn import glogging
from msgspec import UNSET, UnsetType

from api.contract import BatchCounts
from dwh.log_format import JsonFormatter

__all__ = ["AccessLine", "AccessLog", "GunicornJsonLogger", "JsonFormatter"]

_PIPE_BUF = 4096  # writes up to this size to a pipe are atomic (POSIX minimum 512)

_SECOND: tuple[int, str] = (-1, "")  # the last second rendered, reused
_MILLIS = tuple(f".{ms:03d}Z" for ms in range(1000))


def _now() -> str:
    """Now in RFC 3339 UTC with milliseconds; the seconds part is rendered once
    a second."""
    global _SECOND
    millis = int(time.time() * 1000)
    second, cached = millis // 1000, _SECOND  # one read: threads may swap it
    if cached[0] != second:
        cached = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        _SECOND = cached
    return cached[1] + _MILLIS[millis % 1000]


class AccessLine(msgspec.Struct, kw_only=True):
    """One line of the access log, its keys in this order.

    What was answered, so that a campaign can be audited from the log: a
    lookup's variant, amount and source; a batch's size and its counts by
    source, as the batch's answer has them. Other requests' lines leave
    them out (UNSET).
    """

    time: str = msgspec.field(default_factory=_now)
    level: str = "info"
    logger: str = "api.access"
    message: str = "request"
    request_id: str
    method: str
    path: str
    status: int
    duration_ms: float
    remote_addr: str | None
    segment_variant: str | None | UnsetType = UNSET
    voucher_amount: int | UnsetType = UNSET
    source: str | UnsetType = UNSET
    customers: int | UnsetType = UNSET
    counts: BatchCounts | UnsetType = UNSET


_encode_line = msgspec.json.Encoder().encode
# ASCII output: takes what msgspec cannot encode as UTF-8, lone surrogates
# that a client smuggled into the path.
_ASCII_ENCODER = json.JSONEncoder()


class AccessLog:
    """Writes the one-line-per-request access log, bypassing `logging`.

    Per request, a `logging` record cost about 90 us here and one write(2) per
    line about 25 us, against about 100 us for a whole lookup. So each line is
    an AccessLine that msgspec encodes in one call, and the lines are written
    in batches: when about 3 KiB are waiting, and at least every
    `flush_seconds` (from a daemon thread, and at exit). Each batch is one
    write of at most PIPE_BUF bytes, so workers sharing stderr never
    interleave lines. Off unless logger "api.access" is at INFO.
    """

    def __init__(
        self,
        write: Callable[[bytes], Any] | None = None,
        enabled: bool | None = None,
        *,
        buffer_bytes: int = 3072,
        flush_seconds: float = 0.5,
    ) -> None:
        self._write = write or _write_stderr
        if enabled is None:
            enabled = logging.getLogger("api.access").isEnabledFor(logging.INFO)
        self.enabled = enabled
        self._buffer_bytes = buffer_bytes
        self._flush_seconds = flush_seconds
        # Requests append without a lock (deque.append is atomic); flushes take
        # the lock so that batches leave in order. _pending_bytes may miss an
        # update when threads race: it only decides when to flush.
        self._pending: deque[bytes] = deque()
        self._pending_bytes = 0
        self._lock = threading.Lock()
        self._flusher: threading.Thread | None = None

    def flush(self) -> None:
        """Write every waiting line, in batches of whole lines under PIPE_BUF."""
        with self._lock:
            pending = self._pending
            self._pending_bytes = 0
            batch: list[bytes] = []
            size = 0
            while pending:
                line = pending.popleft()
                if batch and size + len(line) > _PIPE_BUF:
                    self._write(b"".join(batch))
                    batch, size = [], 0
                batch.append(line)
                size += len(line)
            if batch:
                self._write(b"".join(batch))

    def record(self, line: AccessLine) -> None:
        """Encode one line and queue it for the next batch."""
        try:
            data = _encode_line(line) + b"\n"
        except UnicodeEncodeError:
            data = (_ASCII_ENCODER.encode(msgspec.to_builtins(line)) + "\n").encode()
        if self._buffer_bytes <= 0:
            self._write(data)
            return
        self._pending.append(data)
        self._pending_bytes += len(data)
        if self._pending_bytes >= self._buffer_bytes:
            self.flush()
        if self._flusher is None:
            self._start_flusher()

    def _start_flusher(self) -> None:
        with self._lock:
            if self._flusher is not None:
                return
            self._flusher = threading.Thread(
                target=self._flush_periodically, name="access-log-flusher", daemon=True
            )
        self._flusher.start()
        atexit.register(self.flush)

    def _flush_periodically(self) -> None:
        while True:
            time.sleep(self._flush_seconds)
            # stderr gone: nothing sensible is left to do with the lines.
            with contextlib.suppress(OSError):
                self.flush()


def _write_stderr(line: bytes) -> None:
    while line:
        written = os.write(2, line)
        line = line[written:]


class GunicornJsonLogger(glogging.Logger):
    """gunicorn's logger, writing JSON lines, and no access log of its own.

    The service writes the access log itself (with the request id). Configuring
    gunicorn through logconfig_dict would also switch gunicorn's access log on,
    which then formats every request only to drop it: a measurable cost.
    """

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())
        # The service's own loggers (api.*) go to stderr as JSON as well.
        root = logging.getLogger()
        if not any(getattr(h, "_voucher_api", False) for h in root.handlers):
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(JsonFormatter())
            handler._voucher_api = True
            root.addHandler(handler)
        root.setLevel(self.loglevel)

    @property
    def access_log_enabled(self) -> bool:
        return False

    def access(self, resp, req, environ, request_time) -> None:
        return None
