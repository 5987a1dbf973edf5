"""Gunicorn settings: `gunicorn --config api/gunicorn.conf.py api.asgi:app`.

The ASGI app on gunicorn's own asyncio worker is the default: of the setups
benchmarks/bench_api.py compares it serves the minimal app fastest (10-12k
req/s against about 6k with uvicorn's worker, 4-6k with sync or gthread, on 2
cores) and the API too (9.4k req/s, docs/benchmarks.md). The WSGI app runs on
threaded workers when named instead (`... api.wsgi:app`), or with
VOUCHER_API_WORKER_CLASS=sync|gthread.
"""

import os
import signal
import sys

# Localhost unless told otherwise (a container sets BIND_HOST=0.0.0.0).
bind = f"{os.environ.get('BIND_HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
proc_name = "voucher-api"

# The app on the command line decides the worker, so that naming either entry
# point works: an ASGI app needs the asgi worker, a WSGI app a WSGI worker.
_wsgi_named = any(arg.startswith("api.wsgi") for arg in sys.argv[1:])
worker_class = os.environ.get(
    "VOUCHER_API_WORKER_CLASS", "gthread" if _wsgi_named else "asgi"
)
threads = int(
    os.environ.get("VOUCHER_API_THREADS", "4" if worker_class == "gthread" else "1")
)
_asgi = worker_class == "asgi" or "uvicorn" in worker_class.lower()
wsgi_app = "api.asgi:app" if _asgi else "api.wsgi:app"

keepalive = 5
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
    """SIGHUP to a worker: look for a new build now, in place, no restart.

    (SIGHUP to the master keeps gunicorn's meaning: reload and replace workers.)
    """
    from api.store import refresh_all_stores

    signal.signal(signal.SIGHUP, lambda signum, frame: refresh_all_stores())
