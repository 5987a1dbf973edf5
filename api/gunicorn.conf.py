"""Gunicorn settings: `gunicorn --config api/gunicorn.conf.py api.asgi:app`.

The app runs on api.worker.BoundedASGIWorker: gunicorn's own asyncio worker,
which of the setups benchmarks/bench_api.py compares serves the minimal app
fastest, plus the deadlines and the connection limit it lacks against slow and
idle clients (the probe in docs/serving.md, the speed in docs/benchmarks.md).
VOUCHER_API_WORKER_CLASS names another ASGI worker: asgi (gunicorn's, without
the bounds) or uvicorn.workers.UvicornWorker.
"""

import os
import signal

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
