"""gunicorn for real on a free localhost port, for the end-to-end tests.

Used by tests/api/test_gunicorn_e2e.py and tests/browser/; a helper module, not
a test module, so no test module imports another.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from tests.api.fake_mart import write_mart
from tests.conftest import BIN, REPO_ROOT

GUNICORN = BIN / "gunicorn"


@dataclass
class Server:
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, method, path, body=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            payload = None if body is None else json.dumps(body).encode()
            all_headers = {"Content-Type": "application/json", **(headers or {})}
            connection.request(method, path, body=payload, headers=all_headers)
            response = connection.getresponse()
            data = response.read()
            return (
                response.status,
                dict(response.getheaders()),
                json.loads(data or b"null"),
            )
        finally:
            connection.close()

    def workers(self) -> list[int]:
        children = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    children.append(int(entry.name))
        return children


def write_duckdb(path: Path, rows) -> None:
    """A DuckDB file at path whose serving schema holds rows, as if published."""
    connection = duckdb.connect(str(path))
    try:
        write_mart(connection, rows)
    finally:
        connection.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(
    tmp_path: Path, app: str, duckdb_path: Path | None = None, **env: str
) -> Iterator[Server]:
    """Run gunicorn on a free port until the generator is closed.

    Serves the DuckDB file duckdb_path (default tmp_path/voucher.duckdb) and
    waits until every worker (WEB_CONCURRENCY, default 2) has loaded it.
    """
    port = free_port()
    log = tmp_path / f"gunicorn-{port}.log"
    workers = int(env.get("WEB_CONCURRENCY", "2"))
    process = subprocess.Popen(
        [str(GUNICORN), "--config", "api/gunicorn.conf.py", app],
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "PORT": str(port),
            "DBT_TARGET": "duckdb",
            "DUCKDB_PATH": str(duckdb_path or tmp_path / "voucher.duckdb"),
            "VOUCHER_API_KEY": "",
            "WEB_CONCURRENCY": "2",
            **env,
        },
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    server = Server(port, process, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            # Every worker loads its own snapshot at boot; wait for all of them.
            if log.read_text().count('"snapshot loaded"') >= workers:
                try:
                    if server.request("GET", "/ready")[0] == 200:
                        break
                except OSError:
                    pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
