"""Instructions per lookup for the API and the minimal Falcon app.

Wall-clock figures swing with whatever else shares the machine; instruction
counts do not. Two ways, both under callgrind with the benchmark's lookup
bodies:

- in-process (the default): each ASGI app driven directly (no server, no
  sockets), twice with different request counts; the difference per request,
  so start-up cancels out. The app's own work, about a minute.
- --server: each app under gunicorn as bench_api.py serves it (its default
  setup, or --setup NAME; one worker), driven by wrk; callgrind's counters
  are dumped after a warm-up and after the measured run, and the worker's
  instructions between the two dumps are divided by the requests wrk made.
  The whole request, gunicorn's parser and the event loop included: what
  bench_api.py's ratio would be if every instruction took as long. About
  three minutes.

    .venv/bin/python benchmarks/count_instructions.py
    .venv/bin/python benchmarks/count_instructions.py --requests 2000
    .venv/bin/python benchmarks/count_instructions.py --server
    .venv/bin/python benchmarks/count_instructions.py --server --setup asgi

Needs valgrind (Debian: apt-get install -y valgrind), and wrk for --server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APPS = ("minimal", "api")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument(
        "--server", action="store_true", help="under gunicorn and wrk, not in-process"
    )
    parser.add_argument(
        "--seconds", type=int, default=25, help="--server: wrk's measured run"
    )
    parser.add_argument(
        "--setup", help="--server: a setup of bench_api.py (default: its default)"
    )
    parser.add_argument(
        "--drive", nargs=2, metavar=("APP", "N"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.drive:
        drive(args.drive[0], int(args.drive[1]))
        return 0
    for tool in ("valgrind", "wrk") if args.server else ("valgrind",):
        if shutil.which(tool) is None:
            print(f"{tool} is missing: apt-get install -y {tool}", file=sys.stderr)
            return 2
    if args.server:
        sys.path.insert(0, str(REPO))
        from benchmarks.bench_api import DEFAULT_SETUP, SETUPS

        setup = args.setup or DEFAULT_SETUP
        # A proxy setup's gunicorn worker is another setup's: count that one.
        counted = sorted(name for name, known in SETUPS.items() if not known.proxy)
        if setup not in counted:
            parser.error(f"setup {setup!r} is not one to count; these are: {counted}")
        counts = {app: server_instructions(app, args.seconds, setup) for app in APPS}
        where = f"under gunicorn, {setup} setup"
    else:
        base = 200
        counts = {}
        for app in APPS:
            low, high = (instructions(app, n) for n in (base, base + args.requests))
            counts[app] = (high - low) / args.requests
        where = "in-process"
    print(f"{'app':8s} {'instructions per request':>26s}  ({where})")
    for app in APPS:
        print(f"{app:8s} {counts[app]:26,.0f}")
    print(f"the API's own work: {counts['api'] - counts['minimal']:,.0f} per request")
    print(f"minimal / API: {counts['minimal'] / counts['api']:.2f}")
    return 0


def server_instructions(app: str, seconds: int, setup: str) -> float:
    """Instructions per request of a gunicorn worker serving app on setup (one
    of bench_api.py's), under wrk."""
    from benchmarks.bench_api import (
        BODY_COUNT,
        find_or_make_mart,
        free_port,
        gunicorn_command,
        lookup_bodies,
        parse_wrk,
        server_env,
        wait_until_answering,
        wrk,
        wrk_script,
    )

    with tempfile.TemporaryDirectory(prefix="count-instructions-") as tmp:
        work = Path(tmp)
        script = work / "lookups.lua"
        script.write_text(wrk_script(lookup_bodies(BODY_COUNT)))
        port = free_port()
        mart = find_or_make_mart(work)
        env = server_env(setup, mart, port, {"WEB_CONCURRENCY": "1"})
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={work / 'callgrind.%p'}",
            # Without it the forked worker does not answer dump requests.
            "--trace-children=yes",
            sys.executable,
            # A worker under valgrind is slow to notify the arbiter.
            *gunicorn_command(app, "--timeout", "600"),
        ]
        with (work / "server.log").open("w") as log:
            server = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=log, stderr=log
            )
            try:
                wait_until_answering(port, server, timeout=300)
                worker = _only_child(server.pid)
                # 8 connections: a slow server's latency stays under wrk's
                # timeout. The dump zeroes the counters: the second one holds
                # the measured run alone.
                wrk(port, script, 8, 10, timeout=30)
                _dump()
                output = wrk(port, script, 8, seconds, timeout=30)
                _dump()
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=120)
        result = parse_wrk(setup, app, output)
        if result.errors:
            raise SystemExit(f"{app}: {result.errors} errors under wrk")
        requests = int(re.search(r"(\d+) requests in", output).group(1))
        measured = work / f"callgrind.{worker}.2"
        if not measured.is_file():
            found = sorted(p.name for p in work.glob("callgrind.*"))
            raise SystemExit(f"{app}: no second dump of worker {worker}: {found}")
        total = re.search(r"^summary: (\d+)", measured.read_text(), re.M)
        return int(total.group(1)) / requests


def _only_child(pid: int) -> int:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    if len(children) != 1:
        raise SystemExit(f"expected one gunicorn worker, found {children}")
    return int(children[0])


def _dump() -> None:
    """Every callgrind process, the arbiter and the worker, dumps its counters
    and zeroes them; the arbiter's dumps are left unread."""
    subprocess.run(["callgrind_control", "--dump"], check=True, capture_output=True)
    time.sleep(2)  # each process writes its dump between two of its requests


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
    from tests.api.asgi import post_scope
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

            scope = post_scope("/api/vouchervalue", len(body))
            await app(scope, receive, send)

    asyncio.run(serve())
    if statuses != {200}:  # a count of error answers would mean nothing
        raise SystemExit(f"{app_name} answered {sorted(statuses)}, not only 200")


if __name__ == "__main__":
    sys.exit(main())
