"""Benchmark the lookup route against a minimal Falcon app, same server setup.

For each server setup (gunicorn with api/gunicorn.conf.py, 2 workers each),
wrk drives POST /api/vouchervalue with 16 connections for 10 s, cycling
through 256 customers' bodies (lookup_bodies), against (1) the minimal app in
benchmarks/minimal_app.py, which returns constant JSON, and (2) the real API
serving a snapshot of a DuckDB mart, five rounds in alternating order. It
prints req/s, p50, p99, errors and server CPU per request, and judges the
default setup's API against the fastest minimal app by the fastest round of
each (other load on a shared machine only slows a round down; the medians
are printed beside them).

Then, on the default setup, it compares the server CPU per customer of a
batch (POST /api/vouchervalues, BATCH_SIZE customers a request) with a
single lookup's, both runs against the same server (target: at most
TARGET_BATCH_SHARE of it).

Then it probes each setup for the bounds against slow and idle clients, with
small bounds (PROBE_BOUNDS) so that it takes seconds: how long an idle
keep-alive connection, a silent new connection, a head sent a byte at a time
and a body sent a byte at a time are held, and how many connections one
worker holds at once.

    .venv/bin/python benchmarks/bench_api.py               # every setup
    .venv/bin/python benchmarks/bench_api.py --setups bounded --duration 5
    .venv/bin/python benchmarks/bench_api.py --rounds 1   # a quick look
    .venv/bin/python benchmarks/bench_api.py --no-speed   # batch and probe
    .venv/bin/python benchmarks/bench_api.py --no-speed --no-probe  # batch alone

Needs wrk (Debian: apt-get install -y wrk), and nginx for the nginx setup
(apt-get install -y nginx-light; skipped without it). The mart is DUCKDB_PATH
(default warehouse/voucher.duckdb) if it exists, else a small synthetic one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import runpy
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from pathlib import Path

with warnings.catch_warnings():
    # uvicorn points to the uvicorn-worker package; the bundled worker is the
    # same class.
    warnings.simplefilter("ignore", DeprecationWarning)
    from uvicorn.workers import UvicornWorker

from api.examples import EXAMPLE_REQUEST

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BODY = EXAMPLE_REQUEST
# Lookups cycle through this many bodies (the example first), each its
# own customer: order dates over 2018, both segments, every range of orders.
BODY_COUNT = 256
CONFIG = REPO / "api" / "gunicorn.conf.py"
LOOKUP_PATH = "/api/vouchervalue"
BATCH_PATH = "/api/vouchervalues"


@dataclass(frozen=True)
class Setup:
    worker_class: str
    proxy: bool = False  # nginx in front of gunicorn


class LimitedUvicornWorker(UvicornWorker):
    """uvicorn's worker with its own bound on: limit_concurrency.

    The worker already takes timeout_keep_alive from gunicorn's keepalive;
    limit_concurrency (uvicorn answers 503 beyond it) is not passed on, so
    it gets worker_connections here, the number the other setups get.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.config.limit_concurrency = self.cfg.worker_connections


SETUPS = {
    # The default (api/gunicorn.conf.py): gunicorn's asgi worker plus the
    # deadlines and the connection limit (api/worker.py).
    "bounded": Setup("api.worker.BoundedASGIWorker"),
    "asgi": Setup("asgi"),
    "nginx": Setup("asgi", proxy=True),
    "uvicorn": Setup("benchmarks.bench_api.LimitedUvicornWorker"),
}
DEFAULT_SETUP = "bounded"
TARGET_RATIO = 0.8
TARGET_P99_MS = 10.0
BATCH_SIZE = 1000
BATCH_CONNECTIONS = 4
TARGET_BATCH_SHARE = 0.1  # batch CPU per customer / single lookup CPU
# Small bounds for the probe, so that each setup takes seconds; one worker, so
# that the connection count is the worker's. PROBE_WAIT is how long a probe
# waits before it calls a connection held.
PROBE_BOUNDS = {
    "VOUCHER_API_KEEPALIVE_SECONDS": "1",
    "VOUCHER_API_HEADER_TIMEOUT_SECONDS": "2",
    "VOUCHER_API_BODY_TIMEOUT_SECONDS": "2",
    "VOUCHER_API_MAX_CONNECTIONS": "20",
    "WEB_CONCURRENCY": "1",
}
PROBE_WAIT = 8.0
PROBE_EXTRA_CONNECTIONS = 10


@dataclass
class Result:
    setup: str
    app: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    # Server CPU (master + workers) per request: less swayed than req/s by
    # other load on a shared machine.
    cpu_us_per_request: float = 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setups", default=",".join(SETUPS), help="comma-separated")
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--bodies", type=int, default=BODY_COUNT, help="distinct lookup bodies"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="repeat every run, alternating the order; judge by the fastest run"
        " of each (the median is shown too)",
    )
    parser.add_argument(
        "--speed",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the wrk runs (--no-speed: the probe alone)",
    )
    parser.add_argument(
        "--batch",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=f"compare a batch of {BATCH_SIZE} with single lookups",
    )
    parser.add_argument(
        "--probe",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="probe the bounds against slow and idle clients",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    if (args.speed or args.batch) and shutil.which("wrk") is None:
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        return 2
    setups = [name.strip() for name in args.setups.split(",") if name.strip()]
    unknown = set(setups) - set(SETUPS)
    if unknown:
        parser.error(f"unknown setups: {sorted(unknown)}; known: {sorted(SETUPS)}")
    if shutil.which("nginx") is None and "nginx" in setups:
        print("nginx is missing (apt-get install -y nginx-light): skipping its setup")
        setups.remove("nginx")

    results: list[Result] = []
    probes: list[Probe] = []
    batch: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-api-") as scratch:
        work = Path(scratch)
        mart = find_or_make_mart(work)
        script = work / "post.lua"
        script.write_text(wrk_script(lookup_bodies(args.bodies)))
        print(machine_summary())
        print(f"mart: {mart}\n")
        runs: dict[tuple[str, str], list[Result]] = {}
        for round_number in range(args.rounds if args.speed else 0):
            # Alternate the order so a noisy neighbour hurts both apps alike.
            apps = ("minimal", "api") if round_number % 2 == 0 else ("api", "minimal")
            for name in setups:
                for app in apps:
                    result = run_one(name, app, args, mart, script, work)
                    runs.setdefault((name, app), []).append(result)
                    print(format_result(result), flush=True)
        results = [best_run(group) for group in runs.values()]
        if args.rounds > 1 and results:
            print("\nmedian runs (for comparison; the verdict below reads the best):")
            for group in runs.values():
                print(format_result(median_run(group)))
            medians = summarise([median_run(group) for group in runs.values()])
            print(f"median-run ratio: {medians['figures']['ratio']:.2f}")
            print("\nbest runs:")
            for result in results:
                print(format_result(result))
        if args.batch:
            batch = compare_batch(args, mart, work, script)
            print(batch["text"], flush=True)
        if args.probe:
            print(f"\nprobe ({format_bounds(PROBE_BOUNDS)}):")
            print(PROBE_HEADER)
            for name in setups:
                probes.append(probe_setup(name, mart, work))
                print(format_probe(probes[-1]), flush=True)

    report = summarise(results) if results else {"text": "", "figures": {}}
    print(report["text"])
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine_summary(),
                    "results": [asdict(r) for r in results],
                    "probes": [asdict(p) for p in probes],
                    "batch": batch.get("figures", {}),
                    **report["figures"],
                },
                indent=2,
            )
        )
    met = report["figures"].get("meets_targets", True)
    return 0 if met and batch.get("figures", {}).get("meets_target", True) else 1


def lookup_bodies(count: int) -> list[dict]:
    """The issue's example, then customers spread like the challenge file's:
    whole-day order dates in 2018 (it has 97 distinct last_order_ts values),
    0 to 60 orders, both segments; deterministic."""
    bodies = [BODY]
    for number in range(1, count):
        last = date(2018, 1, 1) + timedelta(days=(number * 37) % 300)
        first = last - timedelta(days=(number * 53) % 400)
        bodies.append(
            {
                "customer_id": 1000 + number,
                "country_code": "Peru",
                "last_order_ts": f"{last.isoformat()} 00:00:00",
                "first_order_ts": f"{first.isoformat()} 00:00:00",
                "total_orders": 1 + (number * 7) % 60,
                "segment_name": ("frequent_segment", "recency_segment")[number % 2],
            }
        )
    return bodies


def wrk_script(bodies: list[dict]) -> str:
    """A wrk script that posts the bodies in turn, each request built once."""
    quoted = ",\n".join(f"  {json.dumps(json.dumps(body))}" for body in bodies)
    return (
        f"local bodies = {{\n{quoted}\n}}\n"
        "local requests = {}\n"
        "local next_request = 0\n"
        "init = function(args)\n"
        "  for i, body in ipairs(bodies) do\n"
        '    requests[i] = wrk.format("POST", nil,'
        ' {["Content-Type"] = "application/json"}, body)\n'
        "  end\n"
        "end\n"
        "request = function()\n"
        "  next_request = next_request % #requests + 1\n"
        "  return requests[next_request]\n"
        "end\n"
    )


def find_or_make_mart(work: Path) -> Path:
    configured = Path(os.environ.get("DUCKDB_PATH", "warehouse/voucher.duckdb"))
    configured = configured if configured.is_absolute() else REPO / configured
    if configured.is_file():
        # A copy, so the benchmark never holds the real file while dbt runs.
        copy = work / "voucher.duckdb"
        shutil.copyfile(configured, copy)
        return copy
    import duckdb

    sys.path.insert(0, str(REPO))
    from tests.api.fake_mart import mart_rows, write_mart

    synthetic = work / "synthetic.duckdb"
    connection = duckdb.connect(str(synthetic))
    write_mart(connection, mart_rows())
    connection.close()
    return synthetic


def run_one(name, app, args, mart: Path, script: Path, work: Path) -> Result:
    env = {"WEB_CONCURRENCY": str(args.workers)}
    with serving(name, app, mart, work, env) as (port, pids):
        output, cpu_used, requests = measure(
            port, pids, script, LOOKUP_PATH, args.connections, args.duration
        )
    result = parse_wrk(name, app, output)
    result.cpu_us_per_request = cpu_used / max(requests, 1) * 1e6
    return result


def measure(
    port: int, pids: list[int], script: Path, path: str, connections: int, seconds: int
) -> tuple[str, float, int]:
    """wrk's output, the servers' CPU seconds and the requests, after a warm-up."""
    wrk(port, script, connections, 1, path)
    cpu_before = sum(map(process_tree_cpu_seconds, pids))
    output = wrk(port, script, connections, seconds, path)
    cpu_used = sum(map(process_tree_cpu_seconds, pids)) - cpu_before
    return output, cpu_used, int(re.search(r"(\d+) requests in", output).group(1))


def compare_batch(args, mart: Path, work: Path, single_script: Path) -> dict:
    """Server CPU per customer: batches of BATCH_SIZE against single lookups,
    one server, the two runs back to back (single, batch, single: the share
    is taken against the cheaper single run)."""
    batch_script = work / "batch.lua"
    bodies = lookup_bodies(args.bodies)
    customers = [bodies[i % len(bodies)] for i in range(BATCH_SIZE)]
    batch_script.write_text(wrk_script([{"customers": customers}]))
    env = {"WEB_CONCURRENCY": str(args.workers)}
    with serving(DEFAULT_SETUP, "api", mart, work, env) as (port, pids):
        runs = []
        for script, path, connections in (
            (single_script, LOOKUP_PATH, args.connections),
            (batch_script, BATCH_PATH, BATCH_CONNECTIONS),
            (single_script, LOOKUP_PATH, args.connections),
        ):
            output, cpu, requests = measure(
                port, pids, script, path, connections, args.duration
            )
            size = BATCH_SIZE if path == BATCH_PATH else 1
            runs.append((path, output, cpu / max(requests * size, 1) * 1e6))
    single_us = min(us for path, _, us in runs if path == LOOKUP_PATH)
    output, batch_us = next((out, us) for path, out, us in runs if path == BATCH_PATH)
    errors = parse_wrk(DEFAULT_SETUP, "batch", output).errors
    share = batch_us / single_us
    meets = share <= TARGET_BATCH_SHARE and errors == 0
    text = (
        f"\nbatch ({DEFAULT_SETUP} setup, {BATCH_SIZE} customers a request,"
        f" {BATCH_CONNECTIONS} connections): {batch_us:.1f} us server CPU per"
        f" customer, single lookup {single_us:.1f} us; share {share:.3f}"
        f" (target <= {TARGET_BATCH_SHARE}), {errors} errors:"
        f" {'MET' if meets else 'NOT MET'}"
    )
    figures = {
        "batch_size": BATCH_SIZE,
        "batch_cpu_us_per_customer": batch_us,
        "single_cpu_us_per_lookup": single_us,
        "share": share,
        "errors": errors,
        "meets_target": meets,
    }
    return {"text": text, "figures": figures}


@contextmanager
def serving(
    name: str, app: str, mart: Path, work: Path, env: dict[str, str]
) -> Iterator[tuple[int, list[int]]]:
    """The setup serving app on a free port: (the port, the servers' pids).

    Both apps run with api/gunicorn.conf.py and the same environment, so the
    only difference between them is the app: the bounds (env, else the
    config's defaults) apply to both.
    """
    setup = SETUPS[name]
    port = free_port()
    gunicorn_port = free_port() if setup.proxy else port
    env = server_env(name, mart, gunicorn_port, env)
    command = gunicorn_command(app)
    log = (work / f"{name}-{app}.log").open("a")
    processes = [subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=log)]
    try:
        if setup.proxy:
            conf = work / f"nginx-{port}.conf"
            conf.write_text(nginx_conf(work, port, gunicorn_port, server_bounds(env)))
            processes.append(
                subprocess.Popen(
                    ["nginx", "-p", str(work), "-c", str(conf), "-e", "stderr"],
                    stdout=log,
                    stderr=log,
                )
            )
        wait_until_answering(gunicorn_port, processes[0])
        if setup.proxy:
            wait_until_answering(port, processes[1])
        yield port, [process.pid for process in processes]
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=30)
        log.close()


def server_env(name: str, mart: Path, port: int, env: dict[str, str]) -> dict[str, str]:
    """The environment gunicorn serves either app with on setup `name`."""
    return {
        **os.environ,
        "PORT": str(port),
        "DBT_TARGET": "duckdb",
        "DUCKDB_PATH": str(mart),
        "VOUCHER_API_WORKER_CLASS": SETUPS[name].worker_class,
        "VOUCHER_API_KEY": "",
        **env,
    }


def gunicorn_command(app: str, *options: str) -> list[str]:
    """gunicorn serving app ("api" or "minimal") with api/gunicorn.conf.py."""
    target = "api.asgi:app" if app == "api" else "benchmarks.minimal_app:app"
    return [str(BIN / "gunicorn"), "--config", str(CONFIG), *options, target]


def server_bounds(env: dict[str, str]) -> dict:
    """keepalive, header_timeout, body_timeout and worker_connections as
    api/gunicorn.conf.py reads them from env, for nginx to get the same."""
    saved = dict(os.environ)
    os.environ.update(env)
    sys.path.insert(0, str(REPO))
    try:
        settings = runpy.run_path(str(CONFIG))
    finally:
        os.environ.clear()
        os.environ.update(saved)
        sys.path.remove(str(REPO))
    names = ("keepalive", "header_timeout", "body_timeout", "worker_connections")
    return {name: settings[name] for name in names}


def nginx_conf(work: Path, port: int, upstream_port: int, bounds: dict) -> str:
    """nginx in front of gunicorn, as gunicorn's deployment docs suggest, with
    the same bounds as gunicorn's: nginx's own timeouts and connection cap."""
    temp = " ".join(
        f"{kind}_temp_path {work}/nginx-{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    ms = {name: f"{float(value) * 1000:.0f}ms" for name, value in bounds.items()}
    return f"""
daemon off;
worker_processes 1;
pid {work}/nginx-{port}.pid;
error_log stderr warn;
events {{ worker_connections {bounds["worker_connections"]}; }}
http {{
    access_log off;
    {temp}
    keepalive_timeout {ms["keepalive"]};
    client_header_timeout {ms["header_timeout"]};
    client_body_timeout {ms["body_timeout"]};
    upstream gunicorn {{
        server 127.0.0.1:{upstream_port};
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://gunicorn;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }}
    }}
}}
"""


@dataclass
class Probe:
    """Seconds until the server closed each kind of connection (None: still
    open after PROBE_WAIT), with the status it answered, if any."""

    setup: str
    idle_keepalive: tuple[float | None, str]
    silent_new: tuple[float | None, str]
    slow_head: tuple[float | None, str]
    slow_body: tuple[float | None, str]
    # Of max connections + PROBE_EXTRA_CONNECTIONS opened at once: how many
    # were still open after a second, and how many were answered 503.
    connections_held: int
    connections_refused: int
    connections_opened: int


PROBE_HEADER = (
    f"{'setup':8s}  {'idle keep-alive':16s}  {'silent new':16s}"
    f"  {'head 2 B/s':16s}  {'body 2 B/s':16s}  connections held"
)


def probe_setup(name: str, mart: Path, work: Path) -> Probe:
    """Each kind of slow or idle client at once against the API, in threads,
    then the connection count."""
    limit = int(PROBE_BOUNDS["VOUCHER_API_MAX_CONNECTIONS"])
    with serving(name, "api", mart, work, PROBE_BOUNDS) as (port, _):
        found: dict[str, object] = {}
        checks = {
            "idle_keepalive": lambda: closed_after(port, lookup_request(), b""),
            "silent_new": lambda: closed_after(port, b"", b""),
            # A head that never ends, and a 100-byte body, 2 bytes a second.
            "slow_head": lambda: closed_after(
                port, b"", b"POST /api/vouchervalue HTTP/1.1\r\nX-Pad: " + b"a" * 64
            ),
            "slow_body": lambda: closed_after(
                port, lookup_request(b"", content_length=100), b" " * 100
            ),
        }
        threads = [
            threading.Thread(target=lambda k=k, f=f: found.__setitem__(k, f()))
            for k, f in checks.items()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # Alone, so that no other probe takes a connection.
        found["connections"] = connections_held(port, limit + PROBE_EXTRA_CONNECTIONS)
    held, refused = found.pop("connections")
    return Probe(
        name,
        **found,
        connections_held=held,
        connections_refused=refused,
        connections_opened=limit + PROBE_EXTRA_CONNECTIONS,
    )


def lookup_request(body: bytes | None = None, content_length: int | None = None):
    body = json.dumps(BODY).encode() if body is None else body
    length = len(body) if content_length is None else content_length
    return (
        b"POST /api/vouchervalue HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: " + str(length).encode() + b"\r\n\r\n" + body
    )


def closed_after(port: int, first: bytes, trickle: bytes) -> tuple[float | None, str]:
    """Send first (a whole lookup: wait for its answer), then trickle a byte
    every half second; seconds from then until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(first)
        if first.endswith(b"}"):  # a complete request: read its answer first
            try:
                answer = client.recv(65536)
            except TimeoutError:
                return None, "unanswered"
            if not answer.startswith(b"HTTP/1.1 200"):
                return 0.0, "no 200"
        client.settimeout(0.5)
        start = time.monotonic()
        received = b""
        sent = 0
        while time.monotonic() - start < PROBE_WAIT:
            try:
                if sent < len(trickle):
                    client.send(trickle[sent : sent + 1])
                    sent += 1
                data = client.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break  # reset
            if not data:
                break
            received += data
        else:
            return None, ""
    status = received.split(b"\r\n", 1)[0].split(b" ")[1:2]
    return round(time.monotonic() - start, 1), b"".join(status).decode()


def connections_held(port: int, count: int) -> tuple[int, int]:
    """Open count silent connections at once; after a second, how many are
    still open and how many were answered 503."""
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
    try:
        time.sleep(1)
        held = refused = 0
        for client in clients:
            client.setblocking(False)
            try:
                data = client.recv(65536)
            except BlockingIOError:
                held += 1
                continue
            except OSError:
                continue
            refused += data.startswith(b"HTTP/1.1 503")
        return held, refused
    finally:
        for client in clients:
            client.close()


def format_probe(probe: Probe) -> str:
    def closed(found: tuple[float | None, str]) -> str:
        seconds, status = found
        if seconds is None:
            return f"held > {PROBE_WAIT:.0f} s"
        return f"closed {seconds:.1f} s" + (f" {status}" if status else "")

    return (
        f"{probe.setup:8s}  {closed(probe.idle_keepalive):16s}"
        f"  {closed(probe.silent_new):16s}  {closed(probe.slow_head):16s}"
        f"  {closed(probe.slow_body):16s}"
        f"  {probe.connections_held} of {probe.connections_opened}"
        + (
            f" ({probe.connections_refused} got 503)"
            if probe.connections_refused
            else ""
        )
    )


def format_bounds(bounds: dict[str, str]) -> str:
    return ", ".join(f"{name}={value}" for name, value in bounds.items())


def process_tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (gunicorn's workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def wait_until_answering(
    port: int, server: subprocess.Popen, timeout: float = 30
) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/vouchervalue",
        data=json.dumps(BODY).encode(),
        headers={"Content-Type": "application/json"},
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                answer = json.load(response)
            if "voucher_amount" in answer:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not answer within {timeout:g} s")


def wrk(
    port: int,
    script: Path,
    connections: int,
    duration: int,
    path: str = LOOKUP_PATH,
    timeout: int = 2,
) -> str:
    """wrk's output; timeout: seconds before wrk counts a request as an error
    (its default is 2)."""
    return subprocess.run(
        [
            "wrk",
            "--threads=2",
            f"--connections={connections}",
            f"--duration={duration}s",
            f"--timeout={timeout}s",
            "--latency",
            f"--script={script}",
            f"http://127.0.0.1:{port}{path}",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def parse_wrk(setup: str, app: str, output: str) -> Result:
    def latency(label: str) -> float:
        match = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if not match:
            raise ValueError(f"no {label} latency in wrk output:\n{output}")
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
        return float(match.group(1)) * scale

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = 0
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    return Result(setup, app, rps, latency("50%"), latency("99%"), errors)


def median_run(group: list[Result]) -> Result:
    """The run with the median req/s; its errors are the whole group's."""
    ordered = sorted(group, key=lambda r: r.requests_per_second)
    return replace(ordered[len(ordered) // 2], errors=sum(r.errors for r in group))


def best_run(group: list[Result]) -> Result:
    """The fastest run, as timeit reports the fastest repeat: on a shared machine
    other load only ever slows a run down, so the fastest is the least
    disturbed. Its errors are the whole group's."""
    best = max(group, key=lambda r: r.requests_per_second)
    return replace(best, errors=sum(r.errors for r in group))


def summarise(results: list[Result]) -> dict:
    """The default setup's API against the fastest minimal app of any setup."""
    minimal = [r for r in results if r.app == "minimal"]
    api = [r for r in results if r.app == "api"]
    fastest_minimal = max(minimal, key=lambda r: r.requests_per_second)
    fastest_api = max(api, key=lambda r: r.requests_per_second)
    chosen = next((r for r in api if r.setup == DEFAULT_SETUP), fastest_api)
    ratio = chosen.requests_per_second / fastest_minimal.requests_per_second
    lines = [
        "",
        "ratio api / minimal: same setup (req/s, server CPU per request),"
        " and req/s against the fastest minimal app",
    ]
    for api_result in api:
        same = next(r for r in minimal if r.setup == api_result.setup)
        share = api_result.requests_per_second / same.requests_per_second
        cpu_share = same.cpu_us_per_request / max(api_result.cpu_us_per_request, 1e-9)
        overall = api_result.requests_per_second / fastest_minimal.requests_per_second
        lines.append(
            f"  {api_result.setup:8s} {share:5.2f}   {cpu_share:5.2f}   {overall:5.2f}"
        )
    meets = (
        ratio >= TARGET_RATIO and chosen.p99_ms < TARGET_P99_MS and chosen.errors == 0
    )
    lines += [
        f"fastest minimal app: {fastest_minimal.setup} "
        f"{fastest_minimal.requests_per_second:,.0f} req/s",
        f"fastest API:         {fastest_api.setup} "
        f"{fastest_api.requests_per_second:,.0f} req/s",
        f"API, {chosen.setup} setup: {chosen.requests_per_second:,.0f} req/s,"
        f" p50 {chosen.p50_ms:.2f} ms, p99 {chosen.p99_ms:.2f} ms,"
        f" {chosen.errors} errors",
        f"ratio: {ratio:.2f} (target >= {TARGET_RATIO}, p99 < {TARGET_P99_MS} ms,"
        f" 0 errors): {'MET' if meets else 'NOT MET'}",
    ]
    return {
        "text": "\n".join(lines),
        "figures": {
            "fastest_minimal": asdict(fastest_minimal),
            "fastest_api": asdict(fastest_api),
            "chosen_api": asdict(chosen),
            "ratio": ratio,
            "meets_targets": meets,
        },
    }


def format_result(result: Result) -> str:
    return (
        f"{result.setup:8s} {result.app:8s} {result.requests_per_second:9,.0f} req/s"
        f"  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms"
        f"  errors {result.errors}  cpu {result.cpu_us_per_request:5.0f} us/req"
    )


def machine_summary() -> str:
    model = "unknown CPU"
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        match = re.search(r"Model name:\s+(.+)", lscpu)
        model = match.group(1).strip() if match else model
    except OSError:
        pass
    import falcon
    import gunicorn

    return (
        f"machine: {model}, {os.cpu_count()} CPUs, {platform.platform()}; "
        f"Python {platform.python_version()}, falcon {falcon.__version__}, "
        f"gunicorn {gunicorn.__version__}; wrk shares the CPUs with the server"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
