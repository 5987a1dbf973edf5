"""Every error leaves the service as RFC 9457 application/problem+json.

Errors found at the edge are raised as the HTTPError subclasses below (keyword
arguments only); domain exceptions are mapped onto them once, in create_app.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import falcon

from api.store import reason_text

PROBLEM_JSON = "application/problem+json"
_TYPE_PREFIX = "tag:voucher-selection,2025:"

log = logging.getLogger("api.errors")


class Problem(falcon.HTTPError):
    """An HTTPError with an RFC 9457 type and extension members."""

    problem_type = "about:blank"

    def __init__(
        self,
        *,
        status: int,
        title: str,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
        **members: Any,
    ) -> None:
        super().__init__(
            status=status, title=title, description=detail, headers=headers
        )
        self.members = members


class MalformedBody(Problem):
    problem_type = _TYPE_PREFIX + "malformed-body"

    def __init__(self, *, detail: str) -> None:
        super().__init__(status=400, title="Malformed request body", detail=detail)


class Unauthorized(Problem):
    problem_type = _TYPE_PREFIX + "unauthorized"

    def __init__(self, *, detail: str) -> None:
        super().__init__(
            status=401,
            title="Missing or wrong API key",
            detail=detail,
            headers={"WWW-Authenticate": 'Bearer realm="voucher-api"'},
        )


class UnknownCountryProblem(Problem):
    problem_type = _TYPE_PREFIX + "unknown-country"

    def __init__(self, *, country: str, covered: list[str]) -> None:
        super().__init__(
            status=404,
            title="Country not covered",
            detail=(
                f"The mart has no vouchers for country {country!r}; "
                f"covered: {', '.join(covered)}."
            ),
            country_code=country,
            covered_countries=covered,
        )

    @classmethod
    def of(cls, error) -> UnknownCountryProblem:
        """The problem for api.vouchers.UnknownCountry (its country, covered)."""
        return cls(country=error.country, covered=error.covered)


class BodyTooLarge(Problem):
    problem_type = _TYPE_PREFIX + "body-too-large"

    def __init__(self, *, limit_bytes: int) -> None:
        super().__init__(
            status=413,
            title="Request body too large",
            detail=f"The body must not exceed {limit_bytes} bytes.",
            max_body_bytes=limit_bytes,
        )


class TooManyCustomers(Problem):
    problem_type = _TYPE_PREFIX + "too-many-customers"

    def __init__(self, *, limit: int, count: int) -> None:
        super().__init__(
            status=413,
            title="Too many customers",
            detail=f"A batch holds at most {limit} customers (this one {count}); "
            "split it.",
            max_customers=limit,
        )


class NotJson(Problem):
    problem_type = _TYPE_PREFIX + "unsupported-media-type"

    def __init__(self, *, content_type: str | None) -> None:
        super().__init__(
            status=415,
            title="Unsupported media type",
            detail=f"Send the body as application/json (got {content_type or 'none'}).",
            accepted_media_types=["application/json"],
        )


class InvalidFields(Problem):
    problem_type = _TYPE_PREFIX + "invalid-fields"

    def __init__(self, *, errors: list[dict[str, str]]) -> None:
        fields = ", ".join(dict.fromkeys(error["field"] for error in errors))
        super().__init__(
            status=422,
            title="Invalid request fields",
            detail=f"Fix these fields: {fields}.",
            errors=errors,
        )


class SnapshotUnavailableProblem(Problem):
    problem_type = _TYPE_PREFIX + "mart-unavailable"

    def __init__(self, *, reason: str) -> None:
        super().__init__(
            status=503,
            title="Voucher mart unavailable",
            detail=reason_text(reason),
            headers={"Retry-After": "5"},
            reason=reason,
        )


class NotReady(Problem):
    problem_type = _TYPE_PREFIX + "not-ready"

    def __init__(self, *, reason: str, details: dict) -> None:
        super().__init__(
            status=503,
            title="Not ready",
            detail=reason_text(reason),
            headers={"Retry-After": "5"},
            reason=reason,
            **details,
        )


class InternalError(Problem):
    problem_type = _TYPE_PREFIX + "internal-error"

    def __init__(self, *, request_id: str | None) -> None:
        super().__init__(
            status=500,
            title="Internal server error",
            detail="An unexpected error occurred; it has been logged.",
            request_id=request_id,
        )


def problem_document(error: Problem) -> dict[str, Any]:
    """The problem details of one of this module's errors, as a dict."""
    problem: dict[str, Any] = {
        "type": error.problem_type,
        "title": error.title,
        "status": error.status_code,
    }
    if error.description:
        problem["detail"] = error.description
    problem.update(error.members)
    return problem


def serialize_problem(
    req: falcon.Request, resp: falcon.Response, error: falcon.HTTPError
) -> None:
    """The app's error serializer: render any HTTPError as problem details."""
    status = error.status_code
    if isinstance(error, Problem):
        problem = problem_document(error)
    else:
        # Falcon's own errors (unknown route, 405, bad header): about:blank,
        # whose title is by definition the status phrase.
        phrase = _phrase(status)
        problem = {"type": "about:blank", "title": phrase, "status": status}
        # Falcon's default title is the status line itself: no news there.
        title = None if error.title == f"{status} {phrase}" else error.title
        detail = ": ".join(part for part in (title, error.description) if part)
        problem["detail"] = detail or _default_detail(req, status)
    resp.content_type = PROBLEM_JSON
    resp.media = problem


def _default_detail(req: falcon.Request, status: int) -> str:
    if status == 404:
        return f"Nothing here: {req.path}"
    if status == 405:
        return f"{req.method} is not allowed on {req.path}."
    return _phrase(status)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _unexpected(req: falcon.Request, error: Exception) -> InternalError:
    request_id = getattr(req.context, "request_id", None)
    log.error(
        "unhandled exception",
        exc_info=error,
        extra={"request_id": request_id, "method": req.method, "path": req.path},
    )
    return InternalError(request_id=request_id)


async def handle_unexpected(
    req: falcon.Request, resp: falcon.Response, error: Exception, params: dict, ws=None
) -> None:
    """Defence in depth: log an unexpected exception, answer a 500 problem."""
    raise _unexpected(req, error)
