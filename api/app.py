"""create_app(config): the ASGI app (the one entry point is api.asgi:app).

Dependencies (config, the snapshot store over the mart source) are built once
here and handed to the resources. Tests inject a store over an in-memory source.
"""

from __future__ import annotations

import json
import logging

import falcon.asgi
import falcon.media

from api.config import ApiConfig
from api.logs import AccessLog
from api.middleware import RequestLog, RequireApiKey
from api.problems import (
    PROBLEM_JSON,
    SnapshotUnavailableProblem,
    UnknownCountryProblem,
    handle_unexpected,
    serialize_problem,
)
from api.resources.docs import docs_routes
from api.resources.health import HealthResource, ReadyResource
from api.resources.metrics import MetricsResource
from api.resources.openapi import OpenApiResource
from api.resources.page import page_routes
from api.resources.segments import SegmentsResource
from api.resources.vouchers import VoucherBatchResource, VoucherValueResource
from api.sources import source_for
from api.store import SnapshotStore, SnapshotUnavailable
from api.vouchers import UnknownCountry
from dwh.version import version_info

log = logging.getLogger("api")


def create_app(
    config: ApiConfig | None = None,
    *,
    store: SnapshotStore | None = None,
    access_log: AccessLog | None = None,
) -> falcon.asgi.App:
    """The app. Without a store, one is made from the config and started."""
    config = config or ApiConfig.from_env()
    app = falcon.asgi.App(middleware=_middleware(config, access_log))
    _configure(app, config, store or _started_store(config))
    return app


def _started_store(config: ApiConfig) -> SnapshotStore:
    log.info(
        "api starting", extra={**version_info(), "warehouse": str(config.warehouse)}
    )
    store = SnapshotStore(
        source_for(config),
        refresh_seconds=config.refresh_seconds,
        stale_after_seconds=config.stale_after_seconds,
    )
    store.start()
    return store


def _middleware(config: ApiConfig, access_log: AccessLog | None) -> list:
    middleware = [RequestLog(access_log)]
    if config.api_key:  # no per-request cost when there is no key to check
        middleware.append(RequireApiKey(config.api_key))
    return middleware


def _configure(app: falcon.asgi.App, config: ApiConfig, store: SnapshotStore) -> None:
    routes = {
        "/api/vouchervalue": VoucherValueResource(store, config.max_body_bytes),
        "/api/vouchervalues": VoucherBatchResource(
            store, config.max_batch_bytes, config.max_batch_customers
        ),
        "/api/segments": SegmentsResource(store),
        "/health": HealthResource(),
        # The health check of the original write-up's API, for its clients.
        "/api/healthcheck": HealthResource(),
        "/ready": ReadyResource(store),
        "/openapi.json": OpenApiResource(config, store),
        # Prometheus metrics; needs the API key when one is set, as /api/* does.
        "/metrics": MetricsResource(store),
        # The lookup page (GET /) and its two files; no API key needed to load
        # them: the page's own calls to /api/* carry the key if there is one.
        **page_routes(),
        # Swagger UI over /openapi.json (GET /docs), also without a key: its
        # "Authorize" button sends the key as a bearer token with each call.
        **docs_routes(),
    }
    for path, resource in routes.items():
        _answer_head_like_get(resource)
        app.add_route(path, resource)

    # One JSON encoder for every answer (Falcon's default builds one per call),
    # also for problem documents, so resp.media renders them too. ASCII output:
    # no string can fail to encode, whatever a client managed to send.
    json_handler = falcon.media.JSONHandler(dumps=json.JSONEncoder().encode)
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = json_handler
    app.resp_options.media_handlers[PROBLEM_JSON] = json_handler
    app.set_error_serializer(serialize_problem)

    # Domain exceptions become problems in one place. Handlers are looked up by
    # the exception's MRO, so Exception only catches what nothing else does.
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(UnknownCountry, _unknown_country)
    app.add_error_handler(SnapshotUnavailable, _unavailable)


def _answer_head_like_get(resource: object) -> None:
    """HEAD on every GET route: the same headers, and Falcon sends no body."""
    get = getattr(resource, "on_get", None)
    if get is not None and not hasattr(resource, "on_head"):
        resource.on_head = get


async def _unknown_country(req, resp, error: UnknownCountry, params, ws=None) -> None:
    raise UnknownCountryProblem.of(error)


async def _unavailable(req, resp, error: SnapshotUnavailable, params, ws=None) -> None:
    raise SnapshotUnavailableProblem(reason=str(error))
