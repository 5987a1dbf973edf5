"""Reading a JSON object body safely: media type, size limit, strict JSON.

The strict reader behind api.validation's slow path: it says why a body is
not a JSON object (400) or too large (413). Answers are encoded by
api.contract.encode.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import falcon
import falcon.asgi
import orjson

from api.problems import BodyTooLarge, MalformedBody, NotJson


async def read_body(req: falcon.asgi.Request, limit: int) -> bytes:
    """The body, after the header checks: at most limit + 1 bytes, one past
    the limit telling "at the limit" from "over it" (the callers' 413).

    415 if the body is declared as something other than JSON (no Content-Type
    at all is read as JSON: clients of other implementations send none); 413
    if it announces too many bytes.
    """
    content_type = req.content_type
    # The common case needs no parsing.
    if content_type != "application/json" and content_type is not None:
        _check_media_type(content_type)
    length = req.content_length  # a bad Content-Length is Falcon's 400
    if length is not None and length > limit:
        raise BodyTooLarge(limit_bytes=limit)
    # A lookup's body arrives whole in the first ASGI event, which Falcon has
    # already received. Taking it from there reads exactly what req.stream
    # would (the body cut at Content-Length) without building the stream:
    # about 8,000 of a lookup's 150,000 instructions in process
    # (benchmarks/count_instructions.py). A body in several events, or a
    # Falcon without these attributes (they are private; falcon is pinned),
    # takes the stream.
    first = getattr(req, "_first_event", None)
    unread = getattr(req, "_stream", None) is None
    if first is not None and unread and not first.get("more_body"):
        body = first.get("body", b"")
        if length is not None:
            body = body[:length]
        return body[: limit + 1]
    return await req.stream.read(limit + 1)


def _check_media_type(content_type: str) -> None:
    media_type, _, params = content_type.partition(";")
    media_type = media_type.strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        raise NotJson(content_type=content_type)
    if _charset(params) not in (None, "utf-8", "utf8"):
        raise NotJson(content_type=content_type)


def decode_object(
    raw: bytes,
    limit: int,
    leaves: Callable[[dict[str, Any]], Iterable[Any]] = dict.values,
) -> dict[str, Any]:
    """The body as a JSON object, or the 400/413 problem that says why not.

    leaves(body) are the values a float among which sends the body to the json
    module (see below): the fields read, at whatever depth they are.
    """
    if len(raw) > limit:
        raise BodyTooLarge(limit_bytes=limit)
    # Fast path: orjson, cheaper than the json module. It reads every body the
    # json module reads the same way, except integers past 64 bits (it makes
    # floats of them), so a body with a float among its fields (the only ones
    # read) is read again by the json module, as is whatever orjson rejects:
    # the very same answer as before, for every body.
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    else:
        if not isinstance(body, dict):
            raise MalformedBody(detail="The body must be a JSON object.")
        if float not in map(type, leaves(body)):
            return body
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedBody(detail=f"The body is not UTF-8 ({error.reason}).") from None
    try:
        body = _DECODER.decode(text)
    except RecursionError:
        raise MalformedBody(detail="The JSON is nested too deeply.") from None
    except ValueError as error:
        # JSONDecodeError, NaN/Infinity, and integers too long to convert.
        raise MalformedBody(detail=f"The body is not valid JSON ({error}).") from None
    if not isinstance(body, dict):
        raise MalformedBody(detail="The body must be a JSON object.")
    return body


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


# Strict JSON: NaN and Infinity are JavaScript, not JSON. Built once, because
# json.loads(..., parse_constant=...) builds a new decoder on every call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _charset(params: str) -> str | None:
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None
