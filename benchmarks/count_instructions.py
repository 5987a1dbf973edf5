"""Instructions per lookup, in-process, for the API and the minimal Falcon app.

Wall-clock figures swing with whatever else shares the machine; instruction
counts do not. This drives each ASGI app directly (no server, no sockets) with
the benchmark's lookup bodies under callgrind, twice with different request
counts, and prints the difference per request, so start-up cancels out.

    .venv/bin/python benchmarks/count_instructions.py
    .venv/bin/python benchmarks/count_instructions.py --requests 2000

Needs valgrind (Debian: apt-get install -y valgrind); takes about a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APPS = ("minimal", "api")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument(
        "--drive", nargs=2, metavar=("APP", "N"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.drive:
        drive(args.drive[0], int(args.drive[1]))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is missing: apt-get install -y valgrind", file=sys.stderr)
        return 2
    base = 200
    counts = {}
    for app in APPS:
        low, high = (instructions(app, n) for n in (base, base + args.requests))
        counts[app] = (high - low) / args.requests
    print(f"{'app':8s} {'instructions per request':>26s}")
    for app in APPS:
        print(f"{app:8s} {counts[app]:26,.0f}")
    print(f"the API's own work: {counts['api'] - counts['minimal']:,.0f} per request")
    return 0


def instructions(app: str, requests: int) -> int:
    """Instructions callgrind counts for a process that serves `requests`."""
    result = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--drive",
            app,
            str(requests),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(re.search(r"Collected : (\d+)", result.stderr).group(1))


def drive(app_name: str, requests: int) -> None:
    """Serve `requests` lookups through the ASGI app, in this process."""
    sys.path.insert(0, str(REPO))
    from api.app import create_app
    from api.logs import AccessLog
    from api.store import SnapshotStore
    from benchmarks.bench_api import BODY_COUNT, lookup_bodies
    from benchmarks.minimal_app import app as minimal
    from tests.api.fake_mart import TEST_CONFIG, InMemorySource

    if app_name == "api":
        store = SnapshotStore(InMemorySource(), refresh_seconds=0)
        store.refresh()
        # The access log formats every line as in service; only the write is
        # left out (it is a batched syscall, not Python work).
        log = AccessLog(lambda batch: None, True)
        app = create_app(TEST_CONFIG, store=store, access_log=log)
    else:
        app = minimal
    bodies = [json.dumps(body).encode() for body in lookup_bodies(BODY_COUNT)]

    statuses: set[int] = set()

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            statuses.add(message["status"])

    async def serve() -> None:
        for number in range(requests):
            body = bodies[number % len(bodies)]
            event = {"type": "http.request", "body": body, "more_body": False}

            async def receive(event: dict = event) -> dict:
                return event

            scope = {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": "POST",
                "scheme": "http",
                "path": "/api/vouchervalue",
                "raw_path": b"/api/vouchervalue",
                "query_string": b"",
                "root_path": "",
                "headers": [
                    (b"host", b"127.0.0.1:5000"),
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
                "client": ("127.0.0.1", 40000),
                "server": ("127.0.0.1", 5000),
            }
            await app(scope, receive, send)

    asyncio.run(serve())
    if statuses != {200}:  # a count of error answers would mean nothing
        raise SystemExit(f"{app_name} answered {sorted(statuses)}, not only 200")


if __name__ == "__main__":
    sys.exit(main())
