"""gunicorn's asgi worker with the bounds it lacks against slow and idle clients.

gunicorn 27's asgi worker closes a keep-alive connection left idle for
`keepalive` seconds after a response, and nothing else: a connection that
never finishes its first request head, or whose body trickles in, is held
for ever, and `worker_connections` is read but never enforced (probed in
docs/serving.md). This worker adds, for HTTP/1:

- a head deadline: a request head must be complete `header_timeout` seconds
  after the accept (the first request) or after its first byte (a later one);
- a body deadline: the body must be complete `body_timeout` seconds after its
  head;
- at most `worker_connections` open connections per worker;
- connections shared among the workers: one accepted per wake-up, and the
  listen backlog gunicorn was configured with.

A missed deadline gets 408 (unless the app already answered) and the
connection is closed. A connection over the limit is answered 503 at once,
unread, and closed. api/gunicorn.conf.py sets all of them from the
environment.

Well-behaved clients pay nothing: a deadline is armed only when a read ends
with a head or a body still incomplete, so a request that arrives in one
piece arms no timer.
"""

from __future__ import annotations

import asyncio
import functools

from gunicorn.asgi.protocol import ASGIProtocol
from gunicorn.workers.gasgi import ASGIWorker

# Where the request being read is: its head, its body, or read whole (the
# connection then waits for the app, or for the next request).
_HEAD, _BODY, _READ = "head", "body", "read"

_OVER_LIMIT = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Length: 29\r\n"
    b"Retry-After: 1\r\n"
    b"Connection: close\r\n"
    b"\r\n"
    b"Too many connections, retry.\n"
)


# The base methods called on every request, looked up once (not via super()).
_feed_callback_parser = ASGIProtocol._feed_callback_parser
_on_headers_complete = ASGIProtocol._on_headers_complete
_on_message_complete = ASGIProtocol._on_message_complete
_send_response_start = ASGIProtocol._send_response_start


class BoundedASGIProtocol(ASGIProtocol):
    """One HTTP/1 connection, with the head and body deadlines and the limit."""

    def __init__(self, worker: BoundedASGIWorker) -> None:
        super().__init__(worker)
        self._phase = _HEAD
        self._deadline: asyncio.TimerHandle | None = None
        self._deadline_phase: str | None = None
        self._answered = False

    def connection_made(self, transport: asyncio.Transport) -> None:
        worker = self.worker
        if worker.nr_conns >= worker.worker_connections:
            # Counted like any other, so connection_lost() balances it.
            worker.nr_conns += 1
            self.transport = transport
            if not worker.refusing:
                worker.refusing = True
                self.log.warning(
                    "Connection limit reached (%d), refusing with 503",
                    worker.worker_connections,
                )
            self._safe_write(_OVER_LIMIT)
            self._close_transport()
            return
        worker.refusing = False
        super().connection_made(transport)
        if self._callback_parser is not None:  # HTTP/1; HTTP/2 has its own
            self._arm(_HEAD)

    def _feed_callback_parser(self, data: bytes) -> bool:
        if self._phase == _READ:
            # Bytes after a complete request begin the next one.
            self._phase = _HEAD
        keep_going = _feed_callback_parser(self, data)
        if keep_going and not self._closed and self._phase != _READ:
            if self._deadline_phase != self._phase:
                self._arm(self._phase)
            if self._keepalive_handle is not None:
                # A new request started: its head has the full header_timeout.
                self._cancel_keepalive_timer()
        return keep_going

    def _on_headers_complete(self):
        self._phase = _BODY
        self._answered = False
        if self._deadline is not None:
            self._disarm()
        return _on_headers_complete(self)

    def _on_message_complete(self) -> None:
        self._phase = _READ
        if self._deadline is not None:
            self._disarm()
        _on_message_complete(self)

    def _send_response_start(self, status, headers, request, close=False):
        self._answered = True
        _send_response_start(self, status, headers, request, close)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._disarm()
        super().connection_lost(exc)

    def _arm(self, phase: str) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        seconds = (
            self.worker.header_timeout if phase == _HEAD else self.worker.body_timeout
        )
        self._deadline = self.worker.loop.call_later(seconds, self._expired, phase)
        self._deadline_phase = phase

    def _disarm(self) -> None:
        self._deadline.cancel()
        self._deadline = None
        self._deadline_phase = None

    def _expired(self, phase: str) -> None:
        self._deadline = None
        self._deadline_phase = None
        if self._closed:
            return
        peer = self.transport.get_extra_info("peername")
        self.log.info("Request %s from %s not read in time, closing", phase, peer)
        if phase == _HEAD:
            # A request may still be running while the next one's head
            # trickles in; its answer must not be cut by a 408.
            if self._current_request is None:
                self._send_error_response(408, "Request head not received in time.")
        elif not self._answered:
            self._send_error_response(408, "Request body not received in time.")
        self._close_transport()
        if self._request_ready is not None:
            # Wake the connection loop so it sees the close and ends.
            self._request_ready.set()


class BoundedASGIWorker(ASGIWorker):
    """gunicorn's asgi worker serving BoundedASGIProtocol connections."""

    # Seconds; api/gunicorn.conf.py sets both from the environment (it says
    # why these defaults) in post_worker_init.
    header_timeout: float = 10.0
    body_timeout: float = 10.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # True while connections are being refused, to log it once per episode.
        self.refusing = False

    async def _serve(self) -> None:
        # gunicorn's _serve builds the servers with ASGIProtocol by name; this
        # module's protocol takes its place for the worker's lifetime, and
        # its servers accept fairly (_create_fair_server).
        import gunicorn.workers.gasgi as gasgi

        gasgi.ASGIProtocol = BoundedASGIProtocol
        self.loop.create_server = functools.partial(
            _create_fair_server, self.loop.create_server, self.cfg.backlog
        )
        await super()._serve()


async def _create_fair_server(create_server, backlog: int, *args, sock, **kwargs):
    """loop.create_server(..., sock=sock), accepting one connection each time
    the listening socket wakes the worker.

    asyncio accepts up to `backlog` waiting connections per wake-up (100:
    gunicorn passes none), and every worker shares the one listening socket,
    so the worker that wakes first takes a whole burst, leaving the other
    idle and the server at half speed (measured in docs/serving.md). Taken
    one at a time, they go to the workers in turn, all woken by the same
    readiness. asyncio also hands its backlog to listen(): the socket gets
    gunicorn's (`backlog`, 2048 by default) back, which gunicorn's own
    worker cuts to asyncio's 100 (for the two system calls between, at a
    worker's start, the queue holds one).
    """
    server = await create_server(*args, sock=sock, backlog=1, **kwargs)
    sock.listen(backlog)
    return server
