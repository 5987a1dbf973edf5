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
from collections.abc import Callable
from typing import Any

import msgspec
from gunicorn import glogging
from msgspec import UNSET, UnsetType

from api.contract import BatchCounts
from dwh.log_format import JsonFormatter

__all__ = ["AccessLine", "AccessLog", "GunicornJsonLogger", "JsonFormatter"]

_PIPE_BUF = 4096  # writes up to this size to a pipe are atomic (POSIX minimum 512)

_LAST: tuple[int, str] = (-1, "")  # the last millisecond rendered, reused
_SECOND: tuple[int, str] = (-1, "")  # the last second rendered, reused
_MILLIS = tuple(f".{ms:03d}Z" for ms in range(1000))
_time_ns = time.time_ns


def _now() -> str:
    """Now in RFC 3339 UTC with milliseconds. A busy worker logs several
    lines a millisecond: they share one string, and the seconds part is
    rendered once a second."""
    global _LAST, _SECOND
    millis = _time_ns() // 1_000_000
    last = _LAST  # one read: threads may swap it
    if last[0] == millis:
        return last[1]
    second, cached = millis // 1000, _SECOND
    if cached[0] != second:
        cached = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        _SECOND = cached
    text = cached[1] + _MILLIS[millis % 1000]
    _LAST = (millis, text)
    return text


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


_encode_line_into = msgspec.json.Encoder().encode_into
# ASCII output: takes what msgspec cannot encode as UTF-8, lone surrogates
# that a client smuggled into the path.
_ASCII_ENCODER = json.JSONEncoder()


class AccessLog:
    """Writes the one-line-per-request access log, bypassing `logging`.

    Per request, a `logging` record cost about 90 us here and one write(2) per
    line about 25 us, against about 100 us for a whole lookup. So msgspec
    encodes each AccessLine in one call, straight onto the end of a buffer
    (no bytes object per line), and the buffer is written in batches: when
    about 3 KiB are waiting, and at least every `flush_seconds` (from a
    daemon thread, and at exit). Each batch is one write of whole lines, at
    most PIPE_BUF bytes (a longer line goes alone), so workers sharing stderr
    never interleave lines shorter than PIPE_BUF. Off unless logger
    "api.access" is at INFO.

    record() is for one thread at a time (the event loop's: the app is ASGI
    only); flush() may run on any thread alongside it, and writes only the
    lines already ended.
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
        # Lines waiting, each ended by b"\n". record() appends; flush() takes
        # whole lines from the front under the lock, so batches leave in order.
        self._buffer = bytearray()
        self._lock = threading.Lock()
        self._flusher: threading.Thread | None = None

    def flush(self) -> None:
        """Write every ended line, in batches of whole lines of at most
        PIPE_BUF bytes (a longer line alone)."""
        with self._lock:
            buffer = self._buffer
            while True:
                # The last line end within PIPE_BUF; else the end of the one
                # longer line at the front, which goes alone.
                cut = buffer.rfind(b"\n", 0, _PIPE_BUF) + 1 or buffer.find(b"\n") + 1
                if not cut:  # empty, or a line still being appended
                    return
                batch = bytes(buffer[:cut])
                del buffer[:cut]
                self._write(batch)

    def record(self, line: AccessLine) -> None:
        """Encode one line onto the buffer; write the buffer once it is full."""
        buffer = self._buffer
        try:
            _encode_line_into(line, buffer, -1)  # -1: append
        except UnicodeEncodeError:
            # Drop what msgspec wrote before it gave up: everything after the
            # last line end (under the lock, as a flush moves the front).
            with self._lock:
                del buffer[buffer.rfind(b"\n") + 1 :]
            buffer += _ASCII_ENCODER.encode(msgspec.to_builtins(line)).encode()
        buffer.append(0x0A)  # b"\n"
        if len(buffer) >= self._buffer_bytes:
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
