"""Benchmark the lookup route against a minimal Falcon app, same server setup.

For each gunicorn worker setup (2 workers each), wrk drives POST
/api/vouchervalue with 16 connections for 10 s, cycling through 256 customers'
bodies (lookup_bodies), against (1) the minimal app in
benchmarks/minimal_app.py, which returns constant JSON, and (2) the real API
serving a snapshot of a DuckDB mart. It prints req/s, p50, p99 and errors, and
the API's ratio to the fastest minimal app.

    .venv/bin/python benchmarks/bench_api.py               # every setup
    .venv/bin/python benchmarks/bench_api.py --setups asgi --duration 5
    .venv/bin/python benchmarks/bench_api.py --rounds 3   # on a busy machine

Needs wrk (Debian: apt-get install -y wrk). The mart is DUCKDB_PATH (default
warehouse/voucher.duckdb) if it exists, else a small synthetic one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BODY = {
    "customer_id": 123,
    "country_code": "Peru",
    "last_order_ts": "2018-05-03 00:00:00",
    "first_order_ts": "2017-05-03 00:00:00",
    "total_orders": 15,
    "segment_name": "recency_segment",
}
# Lookups cycle through this many bodies (the example first), each its
# own customer: order dates over 2018, both segments, every range of orders.
BODY_COUNT = 256
# name -> (gunicorn worker class, threads per worker, app flavour)
SETUPS = {
    "asgi": ("asgi", 1, "asgi"),
    "uvicorn": ("uvicorn.workers.UvicornWorker", 1, "asgi"),
    "gthread": ("gthread", 4, "wsgi"),
    "sync": ("sync", 1, "wsgi"),
}
TARGET_RATIO = 0.8
TARGET_P99_MS = 10.0


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
        default=1,
        help="repeat every run, alternating the order; report the median run",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        return 2
    setups = [name.strip() for name in args.setups.split(",") if name.strip()]
    unknown = set(setups) - set(SETUPS)
    if unknown:
        parser.error(f"unknown setups: {sorted(unknown)}; known: {sorted(SETUPS)}")

    with tempfile.TemporaryDirectory(prefix="bench-api-") as scratch:
        work = Path(scratch)
        mart = find_or_make_mart(work)
        script = work / "post.lua"
        script.write_text(wrk_script(lookup_bodies(args.bodies)))
        print(machine_summary())
        print(f"mart: {mart}\n")
        runs: dict[tuple[str, str], list[Result]] = {}
        for round_number in range(args.rounds):
            # Alternate the order so a noisy neighbour hurts both apps alike.
            apps = ("minimal", "api") if round_number % 2 == 0 else ("api", "minimal")
            for name in setups:
                for app in apps:
                    result = run_one(name, app, args, mart, script, work)
                    runs.setdefault((name, app), []).append(result)
                    print(format_result(result), flush=True)
        results = [median_run(group) for group in runs.values()]
        if args.rounds > 1:
            print("\nmedian runs:")
            for result in results:
                print(format_result(result))

    report = summarise(results)
    print(report["text"])
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine_summary(),
                    "results": [asdict(r) for r in results],
                    **report["figures"],
                },
                indent=2,
            )
        )
    return 0 if report["figures"]["meets_targets"] else 1


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
    worker_class, threads, flavour = SETUPS[name]
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "DBT_TARGET": "duckdb",
        "DUCKDB_PATH": str(mart),
        "VOUCHER_API_WORKER_CLASS": worker_class,
        "VOUCHER_API_THREADS": str(threads),
        "WEB_CONCURRENCY": str(args.workers),
        "VOUCHER_API_KEY": "",
    }
    if app == "api":
        command = [
            str(BIN / "gunicorn"),
            "--config",
            "api/gunicorn.conf.py",
            f"api.{flavour}:app",
        ]
    else:
        # The same server knobs as api/gunicorn.conf.py, without the service.
        command = [
            str(BIN / "gunicorn"),
            f"--bind=127.0.0.1:{port}",
            f"--workers={args.workers}",
            f"--worker-class={worker_class}",
            f"--threads={threads}",
            "--keep-alive=5",
            "--no-control-socket",
            f"benchmarks.minimal_app:{flavour}",
        ]
    log = (work / f"{name}-{app}.log").open("w")
    server = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=log)
    try:
        wait_until_answering(port, server)
        wrk(port, script, args.connections, 1)  # warm-up
        cpu_before = process_tree_cpu_seconds(server.pid)
        output = wrk(port, script, args.connections, args.duration)
        cpu_used = process_tree_cpu_seconds(server.pid) - cpu_before
        result = parse_wrk(name, app, output)
        requests = int(re.search(r"(\d+) requests in", output).group(1))
        result.cpu_us_per_request = cpu_used / max(requests, 1) * 1e6
        return result
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


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


def wait_until_answering(port: int, server: subprocess.Popen) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/vouchervalue",
        data=json.dumps(BODY).encode(),
        headers={"Content-Type": "application/json"},
    )
    deadline = time.monotonic() + 30
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
    raise RuntimeError("server did not answer within 30 s")


def wrk(port: int, script: Path, connections: int, duration: int) -> str:
    return subprocess.run(
        [
            "wrk",
            "--threads=2",
            f"--connections={connections}",
            f"--duration={duration}s",
            "--latency",
            f"--script={script}",
            f"http://127.0.0.1:{port}/api/vouchervalue",
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


def summarise(results: list[Result]) -> dict:
    minimal = [r for r in results if r.app == "minimal"]
    api = [r for r in results if r.app == "api"]
    fastest_minimal = max(minimal, key=lambda r: r.requests_per_second)
    best_api = max(api, key=lambda r: r.requests_per_second)
    ratio = best_api.requests_per_second / fastest_minimal.requests_per_second
    lines = ["", "ratio api / minimal, per setup: req/s, and server CPU per request"]
    for api_result in api:
        same = next(r for r in minimal if r.setup == api_result.setup)
        share = api_result.requests_per_second / same.requests_per_second
        cpu_share = same.cpu_us_per_request / max(api_result.cpu_us_per_request, 1e-9)
        lines.append(f"  {api_result.setup:8s} {share:5.2f}   {cpu_share:5.2f}")
    meets = (
        ratio >= TARGET_RATIO
        and best_api.p99_ms < TARGET_P99_MS
        and best_api.errors == 0
    )
    lines += [
        f"fastest minimal app: {fastest_minimal.setup} "
        f"{fastest_minimal.requests_per_second:,.0f} req/s",
        f"fastest API:         {best_api.setup} "
        f"{best_api.requests_per_second:,.0f} req/s,"
        f" p50 {best_api.p50_ms:.2f} ms, p99 {best_api.p99_ms:.2f} ms,"
        f" {best_api.errors} errors",
        f"ratio: {ratio:.2f} (target >= {TARGET_RATIO}, p99 < {TARGET_P99_MS} ms,"
        f" 0 errors): {'MET' if meets else 'NOT MET'}",
    ]
    return {
        "text": "\n".join(lines),
        "figures": {
            "fastest_minimal": asdict(fastest_minimal),
            "fastest_api": asdict(best_api),
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
