"""Gunicorn settings: `gunicorn --config api/gunicorn.conf.py api.asgi:app`.

The app runs on api.worker.BoundedASGIWorker: gunicorn's own asyncio worker,
which of the setups benchmarks/bench_api.py compares serves the minimal app
fastest, plus the deadlines and the connection limit it lacks against slow and
idle clients (the probe in docs/serving.md, the speed in docs/benchmarks.md).
VOUCHER_API_WORKER_CLASS names another ASGI worker: asgi (gunicorn's, without
the bounds) or uvicorn.workers.UvicornWorker.

The workers' metrics are summed through files in PROMETHEUS_MULTIPROC_DIR
(prometheus_client's multiprocess mode, api/metrics.py): a directory emptied
at start-up, or a new temporary one when the variable is not set.
"""

import atexit
import glob
import os
import shutil
import signal
import sys
import tempfile

from api.worker import BoundedASGIWorker

BOUNDED_WORKER = "api.worker.BoundedASGIWorker"

# Localhost unless told otherwise (a container sets BIND_HOST=0.0.0.0).
bind = f"{os.environ.get('BIND_HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
proc_name = "voucher-api"
worker_class = os.environ.get("VOUCHER_API_WORKER_CLASS", BOUNDED_WORKER)
wsgi_app = "api.asgi:app"

# Bounds against slow and idle clients (docs/serving.md). A well-behaved client
# sends a head and a body in one packet each, so the deadlines only ever cut
# connections that hold a slot without using it.
# Idle seconds between requests on a keep-alive connection: a client reuses a
# connection within milliseconds, and each idle one holds a slot below.
# gunicorn advises 1-5 s for direct clients; behind a load balancer, set it
# above the balancer's own idle timeout (e.g. 65 for AWS's 60 s) so the
# balancer never reuses a connection the worker is closing.
keepalive = int(os.environ.get("VOUCHER_API_KEEPALIVE_SECONDS", "5"))
# Seconds to send a request head (from the accept, or from the first byte of
# a later request) and then its body: a head is well under 1 KiB and a body at
# most 64 KiB (api.config), so 10 s allows a slow mobile link while a
# slowloris holds a slot 10 s at most (nginx allows 60 s; it fronts anything).
header_timeout = float(
    os.environ.get(
        "VOUCHER_API_HEADER_TIMEOUT_SECONDS", BoundedASGIWorker.header_timeout
    )
)
body_timeout = float(
    os.environ.get("VOUCHER_API_BODY_TIMEOUT_SECONDS", BoundedASGIWorker.body_timeout)
)
# Open connections per worker (the bounded worker answers one more with 503):
# gunicorn's default, below the 1,024 open files most systems allow a process,
# so the worker refuses cleanly before accept() fails for want of descriptors.
worker_connections = int(os.environ.get("VOUCHER_API_MAX_CONNECTIONS", "1000"))
# Several instances (tests, benchmarks) may run side by side; none needs gunicornc.
control_socket_disable = True
timeout = 30
graceful_timeout = 10

# One JSON line per event on stderr; the service writes its own access log
# with the request id, so gunicorn's is off (see api.logs.GunicornJsonLogger).
logger_class = "api.logs.GunicornJsonLogger"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
accesslog = None
errorlog = "-"


def on_starting(server):
    """Before any worker: the settings checked (a bad one is one line and
    exit 2, not a traceback per worker), and a fresh directory for the
    metrics' files.

    Files left by an earlier run would be summed with this one's, so they go.
    The variable must be set before a worker imports prometheus_client, which
    picks its mode then; the workers inherit it from this process.
    """
    from api.config import ApiConfig
    from dwh.errors import OneLineError

    try:
        ApiConfig.from_env()
    except (OneLineError, ValueError) as error:
        print(f"voucher api: error: {error}", file=sys.stderr)
        sys.exit(2)
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        for stale in glob.glob(os.path.join(directory, "*.db")):
            os.remove(stale)
        return
    directory = tempfile.mkdtemp(prefix="voucher-api-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    # Workers inherit atexit handlers: only this process may remove it.
    atexit.register(_remove_in_process, directory, os.getpid())


def _remove_in_process(directory, pid):
    if os.getpid() == pid:
        shutil.rmtree(directory, ignore_errors=True)


def child_exit(server, worker):
    """A worker ended: prometheus_client's bookkeeping, which drops the live
    gauges of a dead worker (its counters and histograms stay in the sums, so
    totals never go down when a worker is replaced)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):
    """The deadlines above for the bounded worker, and SIGHUP to a worker: look
    for a new build now, in place, no restart.

    (SIGHUP to the master keeps gunicorn's meaning: reload and replace workers.)
    """
    from api.store import refresh_all_stores

    if isinstance(worker, BoundedASGIWorker):
        worker.header_timeout = header_timeout
        worker.body_timeout = body_timeout

    signal.signal(signal.SIGHUP, lambda signum, frame: refresh_all_stores())
