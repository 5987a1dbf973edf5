"""Request ids, the JSON access log with the metrics' tally, and the optional
API key (ASGI middleware)."""

from __future__ import annotations

import hmac
import os
import re
import time

import falcon
from falcon import http_status_to_code

from api.logs import AccessLine, AccessLog
from api.metrics import TALLY, RequestTally
from api.problems import Unauthorized
from api.vouchers import SOURCE_COUNTRY_FALLBACK, SOURCE_SEGMENT

_perf_counter = time.perf_counter
_SOURCES = (SOURCE_SEGMENT, SOURCE_COUNTRY_FALLBACK)  # of lookups, for the metrics

# A caller's X-Request-ID is kept only if it is short and harmless in a log line.
_SAFE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:@/+=-]{1,128}")

# Request ids made ahead, _ID_BLOCK at a time: 128 random bits each, as many
# as a uuid4. Taking one is a list.pop(); making one per request (random bits
# formatted as hex) cost about 4,800 instructions. A forked worker drops the
# ids it inherited, so no two workers hand out the same ones. An id names a
# request in the logs; it is no secret.
_ID_BLOCK = 1024
_IDS: list[str] = []
os.register_at_fork(after_in_child=_IDS.clear)


def _new_request_id() -> str:
    try:
        return _IDS.pop()
    except IndexError:
        block = os.urandom(16 * _ID_BLOCK).hex()
        _IDS.extend(block[start : start + 32] for start in range(0, len(block), 32))
        return _IDS.pop()


# resp.status as the app set it (an HTTPStatus, a string or an int) -> its
# code; Response.status_code converts it anew on every read.
_STATUS_CODES: dict = {}


def _status_code(status) -> int:
    code = _STATUS_CODES.get(status)
    if code is None:
        code = _STATUS_CODES[status] = http_status_to_code(status)
    return code


def _offered_request_id(req: falcon.Request) -> bytes | None:
    """The caller's X-Request-ID, undecoded. From the header dict Falcon
    built for the request (private; falcon is pinned): req.get_header raises
    and catches a KeyError for a missing header, about 4,200 instructions
    against 1,000 for a request that sends none. A Falcon without the dict
    takes get_header."""
    headers = getattr(req, "_asgi_headers", None)
    if headers is not None:
        return headers.get(b"x-request-id")
    offered = req.get_header("X-Request-ID")
    return None if offered is None else offered.encode("latin-1")


class RequestLog:
    """Give every request an id (X-Request-ID honoured or made), log one line,
    and tally the answer for the metrics (api.metrics, GET /metrics).

    The tally is here rather than in a middleware of its own: it needs the
    same clock reading and context as the log line, and a second middleware
    would cost more than the tally itself (docs/operations.md, "Metrics").
    """

    def __init__(
        self, access_log: AccessLog | None = None, tally: RequestTally | None = TALLY
    ) -> None:
        self._access_log = access_log or AccessLog()
        self._tally = tally
        if tally is not None:
            self._lookups = tally.count_lookups_of(_SOURCES)

    async def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        context = req.context
        context.started = _perf_counter()
        offered = _offered_request_id(req)
        if offered and _SAFE_REQUEST_ID.fullmatch(offered):
            context.request_id = offered.decode("ascii")
        else:
            context.request_id = _new_request_id()

    async def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource, req_succeeded: bool
    ) -> None:
        # The context's own dict: dict.get is a C call, Context.get a Python one.
        context = req.context.__dict__
        request_id = context.get("request_id") or _new_request_id()
        resp.set_header("X-Request-ID", request_id)
        started = context.get("started")
        seconds = 0.0 if started is None else _perf_counter() - started
        # What was answered: a lookup's answer, or a batch's.
        answer = context.get("answer")
        batch = None if answer is not None else context.get("batch")
        tally = self._tally
        if tally is not None:
            # The route template, never the path: a scanner cannot add series.
            tally.record(req.uri_template, resp.status, seconds)
            lookups = self._lookups
            if answer is not None:
                lookups[answer.source] += 1
            elif batch is not None:
                counts = batch.counts
                for source in _SOURCES:
                    lookups[source] += getattr(counts, source)
        access_log = self._access_log
        if not access_log.enabled:
            return
        # The connection's peer, as req.remote_addr gives it, without building
        # the forwarded route (proxy headers) that remote_addr reads first.
        client = req.scope.get("client")
        line = AccessLine(
            request_id=request_id,
            method=req.method,
            path=req.path,
            status=_status_code(resp.status),
            # Whole microseconds: the log shows at most three decimals of a ms.
            duration_ms=int(seconds * 1e6) / 1000,
            remote_addr=client[0] if client else None,
        )
        # What was answered (api.logs.AccessLine says which keys).
        if answer is not None:
            line.segment_variant = answer.segment_variant
            line.voucher_amount = answer.voucher_amount
            line.source = answer.source
        elif batch is not None:
            line.customers = batch.customers
            line.counts = batch.counts
        access_log.record(line)


class RequireApiKey:
    """When a key is configured, resources marked requires_api_key need it.

    The key is compared with hmac.compare_digest so the time taken does not
    reveal how much of a guess was right.
    """

    def __init__(self, api_key: str | None) -> None:
        self._expected = api_key.encode() if api_key else None

    async def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource, params: dict
    ) -> None:
        if self._expected is None or not getattr(resource, "requires_api_key", False):
            return
        header = req.get_header("Authorization")
        if not header:
            raise Unauthorized(detail="Send the header 'Authorization: Bearer <key>'.")
        scheme, _, token = header.partition(" ")
        offered = token.strip().encode("utf-8", "surrogateescape")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            offered, self._expected
        ):
            raise Unauthorized(detail="The bearer token is not the API key.")
