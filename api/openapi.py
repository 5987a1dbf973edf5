"""The OpenAPI 3.1 document: every route, request, response and error.

Built from the app's config and the served snapshot's segments, so it tells the
truth about this deployment (whether an API key is needed, which segment names
a lookup takes and which input each one needs). The request, batch, answer and
catalogue schemas are derived from their declarations in api.contract; the
problem documents (problems.py) and /ready are described here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api import contract
from api.config import ApiConfig
from api.examples import EXAMPLE_REQUEST
from api.metrics import MEDIA_TYPE as METRICS_MEDIA_TYPE
from api.store import REASONS
from api.validation import MEASURE_INPUTS, SEGMENT_ALIASES
from dwh.version import VERSION

_REQUEST_ID = {
    "description": "The request id: the caller's X-Request-ID if it was safe, "
    "else a new one.",
    "schema": {"type": "string"},
}
_HEADERS = {"X-Request-ID": _REQUEST_ID}


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


_RETRY_AFTER = _header("Seconds to wait before trying again.")


def _problem_response(
    description: str, schema: str = "Problem", headers: dict | None = None
) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {**_HEADERS, **(headers or {})},
        "content": {
            "application/problem+json": {
                "schema": {"$ref": contract.schema_ref(schema)}
            }
        },
    }


def _json_response(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": _HEADERS,
        "content": {
            "application/json": {"schema": {"$ref": contract.schema_ref(schema)}}
        },
    }


def _page_file(
    operation_id: str,
    summary: str,
    media_type: str,
    description: str = "",
    schema: dict[str, Any] | None = None,
    tag: str = "lookup page",
) -> dict[str, Any]:
    """GET and HEAD of one file of a page (lookup or docs; no API key needed)."""
    headers = {
        **_HEADERS,
        "ETag": _header("Strong validator; send it back in If-None-Match."),
        "Cache-Control": _header("no-cache: revalidate before reuse."),
        "Content-Security-Policy": _header("Only this origin; no inline code."),
    }

    def operation(method: str) -> dict[str, Any]:
        return {
            "operationId": f"{operation_id}{method}",
            "summary": summary if method == "Get" else f"{summary} (headers only)",
            "tags": [tag],
            **({"description": description} if description else {}),
            "responses": {
                "200": {
                    "description": summary,
                    "headers": headers,
                    "content": {media_type: {"schema": schema or {"type": "string"}}},
                },
                "304": {
                    "description": "Not modified (If-None-Match matched the ETag).",
                    "headers": headers,
                },
            },
        }

    return {"get": operation("Get"), "head": operation("Head")}


def build_openapi(
    config: ApiConfig, segments: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The document served at /openapi.json, for this deployment's config and
    the served snapshot's segments ({segment_name: measure}; None: no snapshot
    yet, and segment names are then not listed)."""
    api_key_required = bool(config.api_key)
    max_body_bytes = config.max_body_bytes
    protected: dict[str, Any] = {}
    auth_responses: dict[str, Any] = {}
    if api_key_required:
        protected = {"security": [{"apiKey": []}]}
        auth_responses = {
            "401": _problem_response(
                "Missing or wrong 'Authorization: Bearer' key.",
                headers={"WWW-Authenticate": _header("The scheme to use: Bearer.")},
            )
        }
    unavailable = _problem_response(
        "No snapshot of the mart could ever be read (warehouse unreachable).",
        headers={"Retry-After": _RETRY_AFTER},
    )

    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Voucher selection API",
            "version": VERSION,
            "description": (
                "Looks up the most used reactivation voucher amount for a "
                "customer's segment, from the dbt marts. Every error is RFC 9457 "
                "application/problem+json."
            ),
        },
        "paths": {
            "/api/vouchervalue": {
                "post": {
                    "operationId": "voucherValue",
                    "summary": "Voucher amount for one customer",
                    "description": (
                        "The variant comes from the seed's bounds on the "
                        "segment's measure: total_orders, or days since "
                        "last_order_ts (UTC dates, reference = as_of or now). "
                        "The answer is the mart amount of country x segment x "
                        "variant ('segment'), else the country-wide mode "
                        "('country_fallback'). Also 422: total_orders = 0 with an "
                        "order timestamp, last_order_ts before first_order_ts, or "
                        "an order timestamp after the reference time. "
                        f"Bodies over {max_body_bytes} bytes are refused with 413."
                    ),
                    **protected,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "$ref": contract.schema_ref("VoucherRequest")
                                },
                                "examples": {"example": {"value": EXAMPLE_REQUEST}},
                            }
                        },
                    },
                    "responses": {
                        "200": _json_response("The voucher amount.", "VoucherAnswer"),
                        "400": _problem_response("Malformed JSON, or not an object."),
                        **auth_responses,
                        "404": _problem_response(
                            "The mart does not cover the country.", "UnknownCountry"
                        ),
                        "413": _problem_response("Body too large."),
                        "415": _problem_response("Body not declared as JSON."),
                        "422": _problem_response(
                            "Fields missing, malformed or inconsistent.",
                            "InvalidFields",
                        ),
                        "503": unavailable,
                    },
                }
            },
            "/api/vouchervalues": {
                "post": {
                    "operationId": "voucherValues",
                    "summary": "Voucher amounts for many customers (a campaign)",
                    "description": (
                        "Each customer is checked and answered exactly as POST "
                        "/api/vouchervalue would, all from one snapshot, in input "
                        "order. A customer that route would refuse (400, 404, "
                        "422) gets its own problem document in results and the "
                        "others are still answered. At most "
                        f"{config.max_batch_customers} customers and "
                        f"{config.max_batch_bytes} bytes (413 past either)."
                    ),
                    **protected,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": contract.schema_ref("VoucherBatch")},
                                "examples": {
                                    "example": {
                                        "value": {"customers": [EXAMPLE_REQUEST]}
                                    }
                                },
                            }
                        },
                    },
                    "responses": {
                        "200": _json_response(
                            "One result per customer, in input order.",
                            "VoucherBatchAnswer",
                        ),
                        "400": _problem_response("Malformed JSON, or not an object."),
                        **auth_responses,
                        "413": _problem_response("Too many bytes or customers."),
                        "415": _problem_response("Body not declared as JSON."),
                        "422": _problem_response(
                            "No non-empty customers list.", "InvalidFields"
                        ),
                        "503": unavailable,
                    },
                }
            },
            "/api/segments": {
                "get": {
                    "operationId": "segments",
                    "summary": "Segment definitions and per-country amounts",
                    **protected,
                    "responses": {
                        "200": _json_response(
                            "Definitions, amounts, counts and distributions.",
                            "Catalogue",
                        ),
                        **auth_responses,
                        "503": unavailable,
                    },
                }
            },
            "/health": {
                "get": {
                    "operationId": "health",
                    "summary": "The process is alive",
                    "responses": {"200": _json_response("Alive.", "Health")},
                }
            },
            "/api/healthcheck": {
                "get": {
                    "operationId": "healthcheck",
                    "summary": "The same as /health, for clients of the original "
                    "write-up's API",
                    "responses": {"200": _json_response("Alive.", "Health")},
                }
            },
            "/ready": {
                "get": {
                    "operationId": "ready",
                    "summary": "A snapshot of the mart is being served",
                    "responses": {
                        "200": _json_response(
                            "Serving; status 'stale' if the warehouse could not be "
                            "checked lately (the last good snapshot still serves).",
                            "Ready",
                        ),
                        "503": _problem_response(
                            "No snapshot to serve.",
                            "NotReady",
                            headers={"Retry-After": _RETRY_AFTER},
                        ),
                    },
                }
            },
            "/": _page_file(
                "lookupPage",
                "The lookup page (HTML)",
                "text/html",
                "A form for POST /api/vouchervalue and, per segment, charts of "
                "how often each amount was used (GET /api/segments); a CSV "
                "campaign file sent through POST /api/vouchervalues. The page "
                "itself needs no API key; its calls send the key typed into it.",
            ),
            "/static/app.js": _page_file(
                "lookupPageScript", "The lookup page's script.", "text/javascript"
            ),
            "/static/csv.js": _page_file(
                "lookupPageCsvScript",
                "The lookup page's CSV reader and writer (campaign files).",
                "text/javascript",
            ),
            "/static/style.css": _page_file(
                "lookupPageStyle", "The lookup page's stylesheet.", "text/css"
            ),
            "/static/example-request.json": _page_file(
                "exampleRequest",
                "The example lookup (a POST /api/vouchervalue body).",
                "application/json",
                schema={"$ref": contract.schema_ref("VoucherRequest")},
            ),
            "/static/campaign-template.csv": _page_file(
                "campaignTemplate",
                "The campaign template (CSV).",
                "text/csv",
                "A header row naming the request fields and example customers: "
                "the lookup page sends such a file through POST "
                "/api/vouchervalues and offers the answered CSV for download.",
            ),
            "/docs": _page_file(
                "apiDocs",
                "The API docs (HTML)",
                "text/html",
                "Swagger UI over this document, served by the API itself from "
                "the installed swagger-ui-py package: no CDN, no request to "
                "another origin. Its 'Authorize' takes the API key as a bearer "
                "token when one is needed.",
                tag="API docs",
            ),
            "/docs/docs.js": _page_file(
                "apiDocsScript",
                "The docs page's script (starts Swagger UI).",
                "text/javascript",
                tag="API docs",
            ),
            "/docs/swagger-ui-bundle.js": _page_file(
                "swaggerUiScript",
                "Swagger UI's script.",
                "text/javascript",
                tag="API docs",
            ),
            "/docs/swagger-ui.css": _page_file(
                "swaggerUiStyle", "Swagger UI's stylesheet.", "text/css", tag="API docs"
            ),
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "responses": {
                        "200": {
                            "description": "The OpenAPI 3.1 document.",
                            "headers": _HEADERS,
                            "content": {
                                "application/json": {"schema": {"type": "object"}}
                            },
                        }
                    },
                }
            },
            "/metrics": {
                method: {
                    "operationId": f"metrics{method.title()}",
                    "summary": "Prometheus metrics"
                    + ("" if method == "get" else " (headers only)"),
                    "description": (
                        "Requests by route template and status, their latency, "
                        "customers answered by source, snapshot refresh "
                        "failures, and the served build's built_at and age; "
                        "summed over every worker. Needs the API key only "
                        "when one is set, as /api/* does."
                    ),
                    **protected,
                    "responses": {
                        "200": {
                            "description": "The Prometheus text format 0.0.4.",
                            "headers": _HEADERS,
                            "content": {
                                METRICS_MEDIA_TYPE: {"schema": {"type": "string"}}
                            },
                        },
                        **auth_responses,
                    },
                }
                for method in ("get", "head")
            },
        },
        "components": {"schemas": {**_declared(segments), **_SCHEMAS}},
    }
    if api_key_required:
        document["components"]["securitySchemes"] = {
            "apiKey": {"type": "http", "scheme": "bearer"}
        }
    return document


_UTC = {"type": "string", "format": "date-time"}
_REASON = {
    "type": ["string", "null"],
    "enum": [*REASONS, None],
    "description": "Why there is no fresh snapshot, as a stable code: "
    + "; ".join(f"`{code}`: {text}" for code, text in REASONS.items()),
}
_BUILD = {"anyOf": [{"$ref": contract.schema_ref("Build")}, {"type": "null"}]}
_PROBLEM_PROPERTIES = {
    "type": {"type": "string"},
    "title": {"type": "string"},
    "status": {"type": "integer"},
    "detail": {"type": "string"},
}


def _declared(segments: Mapping[str, str] | None) -> dict[str, Any]:
    """api.contract's schemas, with the segment names of the served snapshot:
    the names a lookup takes (aliases too) and, per segment, the input its
    measure needs."""
    schemas = contract.components()
    if not segments:
        return schemas
    request = schemas["VoucherRequest"]
    names = [spelling for name in segments for spelling in _spellings(name)]
    request["properties"]["segment_name"]["enum"] = names
    request["allOf"] = [
        {
            "if": {
                "properties": {"segment_name": {"enum": _spellings(name)}},
                "required": ["segment_name"],
            },
            "then": {
                "required": [MEASURE_INPUTS[measure]],
                "properties": {MEASURE_INPUTS[measure]: {"not": {"type": "null"}}},
            },
        }
        for name, measure in segments.items()
    ]
    schemas["VoucherAnswer"]["properties"]["segment_name"]["enum"] = list(segments)
    return schemas


def _spellings(segment: str) -> list[str]:
    return [segment, *(a for a, n in SEGMENT_ALIASES.items() if n == segment)]


_SCHEMAS: dict[str, Any] = {
    "Health": {
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"const": "ok"}},
    },
    "Ready": {
        "type": "object",
        "required": [
            "status",
            "stale",
            "reason",
            "version",
            "commit",
            "warehouse",
            "build",
            "built_at",
            "countries",
        ],
        "properties": {
            "status": {"type": "string", "enum": ["ready", "stale"]},
            "version": {
                "type": "string",
                "description": "This service's version (pyproject.toml).",
            },
            "commit": {
                "type": ["string", "null"],
                "description": "The git commit it runs, when known.",
            },
            "stale": {"type": "boolean"},
            "reason": _REASON,
            "warehouse": {
                "type": "string",
                "description": "The kind of warehouse read (duckdb, postgres), never"
                " where it is.",
            },
            "built_at": _UTC,
            "build": _BUILD,
            "loaded_at": _UTC,
            "last_checked_at": {"type": ["string", "null"], "format": "date-time"},
            "last_attempt_at": {"type": ["string", "null"], "format": "date-time"},
            "countries": {"type": "integer", "minimum": 1},
        },
    },
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details.",
        "required": ["type", "title", "status"],
        "properties": _PROBLEM_PROPERTIES,
    },
    "InvalidFields": {
        "type": "object",
        "required": ["type", "title", "status", "errors"],
        "properties": {
            **_PROBLEM_PROPERTIES,
            "errors": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["field", "pointer", "detail"],
                    "properties": {
                        "field": {"type": "string"},
                        "pointer": {"type": "string", "description": "JSON Pointer."},
                        "detail": {"type": "string"},
                    },
                },
            },
        },
    },
    "UnknownCountry": {
        "type": "object",
        "required": ["type", "title", "status", "country_code", "covered_countries"],
        "properties": {
            **_PROBLEM_PROPERTIES,
            "country_code": {"type": "string"},
            "covered_countries": {"type": "array", "items": {"type": "string"}},
        },
    },
    "NotReady": {
        "type": "object",
        "required": ["type", "title", "status", "detail", "reason", "stale"],
        "properties": {
            **_PROBLEM_PROPERTIES,
            "reason": _REASON,
            "stale": {"type": "boolean"},
            "countries": {"const": 0},
        },
    },
}
