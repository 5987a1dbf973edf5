"""The access log: one JSON line per request, with the request id."""

from __future__ import annotations

import json

import falcon.testing
import pytest

from api.app import create_app
from api.logs import AccessLine, AccessLog, JsonFormatter
from tests.api.fake_mart import TEST_CONFIG


def record(access_log: AccessLog, request_id: str, **fields) -> None:
    """One access-log line for a GET /health unless fields say otherwise."""
    line = {
        "method": "GET",
        "path": "/health",
        "status": 200,
        "duration_ms": 0.1,
        "remote_addr": "127.0.0.1",
    }
    access_log.record(AccessLine(request_id=request_id, **{**line, **fields}))


def test_one_json_line_per_request_with_its_id(store):
    lines: list[bytes] = []
    access_log = AccessLog(lines.append, True, buffer_bytes=0)
    app = create_app(TEST_CONFIG, store=store, access_log=access_log)
    client = falcon.testing.TestClient(app)
    client.simulate_get("/health", headers={"X-Request-ID": "req-1"})
    client.simulate_post(
        "/api/vouchervalue", body=b"{", content_type="application/json"
    )
    client.simulate_get('/weird"path\\')
    assert len(lines) == 3
    assert all(line.endswith(b"\n") and line.count(b"\n") == 1 for line in lines)
    entries = [json.loads(line) for line in lines]
    assert entries[0]["request_id"] == "req-1"
    assert [e["status"] for e in entries] == [200, 400, 404]
    assert entries[2]["path"] == '/weird"path\\'
    for entry in entries:
        assert entry["logger"] == "api.access"
        assert entry["method"] in ("GET", "POST")
        assert entry["duration_ms"] >= 0
        assert entry["time"].endswith("Z")


def test_lines_are_batched_in_whole_lines_under_pipe_buf():
    batches: list[bytes] = []
    access_log = AccessLog(batches.append, True, buffer_bytes=3072, flush_seconds=60)
    for number in range(100):
        record(access_log, f"id-{number}")
    access_log.flush()
    assert len(batches) < 10  # far fewer writes than lines
    assert all(len(batch) <= 4096 and batch.endswith(b"\n") for batch in batches)
    ids = [json.loads(line)["request_id"] for b in batches for line in b.splitlines()]
    assert ids == [f"id-{number}" for number in range(100)]


def test_waiting_lines_are_flushed_soon():
    import time

    batches: list[bytes] = []
    access_log = AccessLog(batches.append, True, flush_seconds=0.05)
    record(access_log, "lonely", path="/", status=404, remote_addr=None)
    deadline = time.monotonic() + 5
    while not batches and time.monotonic() < deadline:
        time.sleep(0.01)
    assert json.loads(batches[0])["request_id"] == "lonely"


def test_disabled_access_log_writes_nothing(store):
    lines: list[bytes] = []
    app = create_app(
        TEST_CONFIG, store=store, access_log=AccessLog(lines.append, False)
    )
    falcon.testing.TestClient(app).simulate_get("/health")
    assert lines == []


def test_other_logs_are_json_lines_too():
    import logging

    record = logging.LogRecord(
        "api.snapshot", logging.WARNING, "", 0, "x %s", ("y",), None
    )
    record.reason = "locked"
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "x y" and entry["reason"] == "locked"
    assert entry["level"] == "warning"


def test_flushes_on_other_threads_write_each_line_once_and_whole():
    import sys
    import threading

    batches: list[bytes] = []
    access_log = AccessLog(batches.append, True, buffer_bytes=512, flush_seconds=0.001)
    done = threading.Event()

    def flush_until_done() -> None:
        while not done.is_set():
            access_log.flush()

    # Switch threads as often as the interpreter can, so that flushes land
    # between a line's encoding and its newline.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    flushers = [threading.Thread(target=flush_until_done) for _ in range(3)]
    try:
        for flusher in flushers:
            flusher.start()
        for number in range(2000):  # the one recording thread, as in service
            record(access_log, f"id-{number}")
    finally:
        done.set()
        for flusher in flushers:
            flusher.join()
        sys.setswitchinterval(interval)
    access_log.flush()
    assert len(batches) > 1
    assert all(len(batch) <= 4096 and batch.endswith(b"\n") for batch in batches)
    ids = [json.loads(line)["request_id"] for b in batches for line in b.splitlines()]
    assert ids == [f"id-{number}" for number in range(2000)]


def test_a_line_longer_than_pipe_buf_is_written_whole_and_alone():
    batches: list[bytes] = []
    access_log = AccessLog(batches.append, True, buffer_bytes=8192, flush_seconds=60)
    record(access_log, "short-1")
    record(access_log, "long", path="/" + "x" * 5000)
    record(access_log, "short-2")
    access_log.flush()
    ids = [[json.loads(line)["request_id"] for line in b.splitlines()] for b in batches]
    assert ids == [["short-1"], ["long"], ["short-2"]]
    assert all(batch.endswith(b"\n") for batch in batches)


@pytest.mark.parametrize("flush_first", [False, True])
def test_a_path_msgspec_cannot_encode_still_makes_one_json_line(
    monkeypatch, flush_first
):
    import api.logs

    batches: list[bytes] = []
    access_log = AccessLog(batches.append, True, buffer_bytes=8192, flush_seconds=60)
    record(access_log, "before")
    if flush_first:  # a flush on another thread lands just before the encoding
        encode_into = api.logs._encode_line_into

        def flush_then_encode(line, buffer, offset):
            access_log.flush()
            encode_into(line, buffer, offset)

        monkeypatch.setattr(api.logs, "_encode_line_into", flush_then_encode)
    # A lone surrogate: not encodable as UTF-8.
    record(access_log, "r", path="/x\ud800y", duration_ms=0.25, remote_addr=None)
    monkeypatch.undo()
    record(access_log, "after")
    access_log.flush()
    lines = [line for batch in batches for line in batch.splitlines()]
    entries = [json.loads(line) for line in lines]
    assert [entry["request_id"] for entry in entries] == ["before", "r", "after"]
    assert lines[1].isascii()
    assert entries[1]["path"] == "/x\ud800y" and entries[1]["duration_ms"] == 0.25
