"""The OpenAPI 3.1 document: every route, request, response and error.

Built once per app from its config, so it tells the truth about this deployment
(e.g. whether an API key is needed). Shapes here mirror validation.py,
vouchers.py, snapshot.catalogue() and problems.py; tests hold them together.
"""

from __future__ import annotations

from typing import Any

from api.config import ApiConfig
from api.examples import EXAMPLE_REQUEST
from api.metrics import MEDIA_TYPE as METRICS_MEDIA_TYPE
from api.resources.vouchers import COUNT_KEYS, REFUSED
from api.store import REASONS
from api.timestamps import TIMESTAMP_PATTERN
from api.validation import SEGMENT_ALIASES
from api.vouchers import SOURCE_COUNTRY_FALLBACK, SOURCE_SEGMENT
from dwh.version import VERSION

# The seed decides the segments at run time; these are the ones it defines today.
SEGMENT_NAMES = ["frequent_segment", "recency_segment"]

_REQUEST_ID = {
    "description": "The request id: the caller's X-Request-ID if it was safe, "
    "else a new one.",
    "schema": {"type": "string"},
}
_HEADERS = {"X-Request-ID": _REQUEST_ID}


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


_RETRY_AFTER = _header("Seconds to wait before trying again.")
_NULLABLE_TIMESTAMP = {
    "type": ["string", "null"],
    "pattern": TIMESTAMP_PATTERN,
    "description": "ISO 8601 date or date-time, 'T' or space, optional fraction "
    "and offset ('Z', '+05:30'); naive values are UTC. null = absent.",
}


def _problem_response(
    description: str, schema: str = "Problem", headers: dict | None = None
) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {**_HEADERS, **(headers or {})},
        "content": {
            "application/problem+json": {
                "schema": {"$ref": f"#/components/schemas/{schema}"}
            }
        },
    }


def _json_response(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": _HEADERS,
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}
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


def build_openapi(config: ApiConfig) -> dict[str, Any]:
    """The document served at /openapi.json, for this deployment's config."""
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
                        "The variant comes from the seed's bounds on total_orders "
                        "(frequent_segment) or on days since last_order_ts "
                        "(recency_segment, UTC dates, reference = as_of or now). "
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
                                    "$ref": "#/components/schemas/VoucherRequest"
                                },
                                "examples": _REQUEST_EXAMPLES,
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
                                "schema": {"$ref": "#/components/schemas/VoucherBatch"},
                                "examples": {
                                    "two": {
                                        "value": {
                                            "customers": [
                                                EXAMPLE_REQUEST,
                                                {
                                                    "country_code": "Peru",
                                                    "segment_name": "frequent_segment",
                                                    "total_orders": 7,
                                                },
                                            ]
                                        }
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
                schema={"$ref": "#/components/schemas/VoucherRequest"},
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
        "components": {"schemas": _SCHEMAS},
    }
    if api_key_required:
        document["components"]["securitySchemes"] = {
            "apiKey": {"type": "http", "scheme": "bearer"}
        }
    return document


_REQUEST_EXAMPLES = {
    "example": {"value": EXAMPLE_REQUEST},
    "frequent_with_offsets": {
        "value": {
            "customer_id": "c-42",
            "country_code": " peru ",
            "last_order_ts": "2020-03-22 00:00:00+00:00",
            "first_order_ts": "2014-04-17T05:30:00.000+05:30",
            "total_orders": 15,
            "segment_name": "frequent_segment",
        }
    },
}

_COUNT = {"type": "integer", "minimum": 0}
_UTC = {"type": "string", "format": "date-time"}
_REASON = {
    "type": ["string", "null"],
    "enum": [*REASONS, None],
    "description": "Why there is no fresh snapshot, as a stable code: "
    + "; ".join(f"`{code}`: {text}" for code, text in REASONS.items()),
}
_BUILD = {
    "type": ["object", "null"],
    "description": "The published build answers come from (python -m serving"
    " publish): its dbt invocation, when it was built and published, and the"
    " source file it read.",
    "required": ["publish_id", "invocation_id", "built_at", "published_at"],
    "properties": {
        "publish_id": {"type": "integer"},
        "invocation_id": {"type": "string"},
        "built_at": _UTC,
        "published_at": _UTC,
        "source_file": {"type": "string"},
        "source_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "source_rows": {"type": "integer", "minimum": 0},
        "loaded_at": _UTC,
        "source_origin": {
            "enum": ["file", "synthetic"],
            "description": "synthetic: demo data from `python -m loader"
            " generate`, not real vouchers.",
        },
        "synthetic": {"type": "boolean", "description": "source_origin is synthetic"},
        "rows_kept": {
            "type": "integer",
            "minimum": 0,
            "description": "Rows of the countries served that the cleaning kept.",
        },
    },
}
_LABEL = {
    "type": ["string", "null"],
    "description": "In words for people, from the seed (segment_label,"
    " variant_label); null for a build published before the seed had them.",
}
_PROBLEM_PROPERTIES = {
    "type": {"type": "string"},
    "title": {"type": "string"},
    "status": {"type": "integer"},
    "detail": {"type": "string"},
}


def _spellings(segment: str) -> list[str]:
    return [segment, *(a for a, n in SEGMENT_ALIASES.items() if n == segment)]


_SCHEMAS: dict[str, Any] = {
    "VoucherRequest": {
        "type": "object",
        "required": ["country_code", "segment_name"],
        "properties": {
            "customer_id": {
                "type": ["string", "integer", "null"],
                "description": "Echoed back.",
            },
            "country_code": {
                "type": "string",
                "pattern": "\\S",
                "description": "Trimmed, compared case-insensitively.",
            },
            "segment_name": {
                "type": "string",
                "enum": [*SEGMENT_NAMES, *SEGMENT_ALIASES],
                "description": "Also accepted: "
                + ", ".join(f"{a} for {n}" for a, n in SEGMENT_ALIASES.items())
                + " (the answer names the segment as the mart does).",
            },
            "total_orders": {
                "type": ["integer", "null"],
                "minimum": 0,
                "description": "Required for frequent_segment. 15.0 counts as 15.",
            },
            "last_order_ts": {
                **_NULLABLE_TIMESTAMP,
                "description": "Required for recency_segment. "
                + _NULLABLE_TIMESTAMP["description"],
            },
            "first_order_ts": _NULLABLE_TIMESTAMP,
            "as_of": {
                **_NULLABLE_TIMESTAMP,
                "description": "Reference time for days since the last order "
                "(default: now). " + _NULLABLE_TIMESTAMP["description"],
            },
        },
        "allOf": [
            {
                "if": {
                    "properties": {
                        "segment_name": {"enum": _spellings("frequent_segment")}
                    },
                    "required": ["segment_name"],
                },
                "then": {
                    "required": ["total_orders"],
                    "properties": {"total_orders": {"type": "integer"}},
                },
            },
            {
                "if": {
                    "properties": {
                        "segment_name": {"enum": _spellings("recency_segment")}
                    },
                    "required": ["segment_name"],
                },
                "then": {
                    "required": ["last_order_ts"],
                    "properties": {"last_order_ts": {"type": "string"}},
                },
            },
        ],
        "additionalProperties": True,
    },
    "VoucherAnswer": {
        "type": "object",
        "required": [
            "customer_id",
            "country_code",
            "segment_name",
            "segment_variant",
            "voucher_amount",
            "source",
            "total_orders",
            "days_since_last_order",
            "as_of",
            "built_at",
        ],
        "properties": {
            "customer_id": {"type": ["string", "integer", "null"]},
            "country_code": {"type": "string", "description": "The mart's spelling."},
            "segment_name": {"type": "string", "enum": SEGMENT_NAMES},
            "segment_variant": {
                "type": ["string", "null"],
                "description": "null when no variant's bounds hold the customer.",
            },
            "voucher_amount": {"type": "integer"},
            "source": {
                "type": "string",
                "enum": [SOURCE_SEGMENT, SOURCE_COUNTRY_FALLBACK],
            },
            "total_orders": {"type": ["integer", "null"], "minimum": 0},
            "days_since_last_order": {"type": ["integer", "null"], "minimum": 0},
            "as_of": {**_UTC, "description": "The reference time used, UTC."},
            "built_at": {**_UTC, "description": "When the mart was built, UTC."},
        },
        "additionalProperties": False,
    },
    "VoucherBatch": {
        "type": "object",
        "required": ["customers"],
        "properties": {
            "customers": {
                "type": "array",
                "minItems": 1,
                "description": "Lookup bodies as POST /api/vouchervalue takes. An "
                "item that is not a valid VoucherRequest is not an error of the "
                "batch: it is answered with its own problem in results.",
                "items": {
                    "anyOf": [{"$ref": "#/components/schemas/VoucherRequest"}, {}]
                },
            },
        },
        "additionalProperties": True,
    },
    "VoucherBatchAnswer": {
        "type": "object",
        "required": ["built_at", "customers", "counts", "results"],
        "properties": {
            "built_at": {**_UTC, "description": "The build every item came from."},
            "customers": _COUNT,
            "counts": {
                "type": "object",
                "description": "Results by source; refused: answered with a problem.",
                "required": list(COUNT_KEYS),
                "properties": {
                    SOURCE_SEGMENT: _COUNT,
                    SOURCE_COUNTRY_FALLBACK: _COUNT,
                    REFUSED: _COUNT,
                },
                "additionalProperties": False,
            },
            "results": {
                "type": "array",
                "items": {
                    "oneOf": [
                        {
                            "type": "object",
                            "required": ["status", "answer"],
                            "properties": {
                                "status": {"const": 200},
                                "answer": {
                                    "$ref": "#/components/schemas/VoucherAnswer"
                                },
                            },
                            "additionalProperties": False,
                        },
                        {
                            "type": "object",
                            "required": ["status", "problem"],
                            "properties": {
                                "status": {"enum": [400, 404, 422]},
                                "problem": {"$ref": "#/components/schemas/Problem"},
                            },
                            "additionalProperties": False,
                        },
                    ]
                },
            },
        },
        "additionalProperties": False,
    },
    "Catalogue": {
        "type": "object",
        "required": ["built_at", "build", "segments", "countries"],
        "properties": {
            "built_at": _UTC,
            "segments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["segment_name", "measure", "variants"],
                    "properties": {
                        "segment_name": {"type": "string"},
                        "measure": {"type": "string"},
                        "label": _LABEL,
                        "variants": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": [
                                    "segment_variant",
                                    "lower_bound",
                                    "upper_bound",
                                ],
                                "properties": {
                                    "segment_variant": {"type": "string"},
                                    "lower_bound": {"type": "integer"},
                                    "upper_bound": {
                                        "type": ["integer", "null"],
                                        "description": "Inclusive; null = unbounded.",
                                    },
                                    "label": _LABEL,
                                },
                            },
                        },
                    },
                },
            },
            "countries": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/CountryCatalogue"},
            },
        },
    },
    "CountryCatalogue": {
        "type": "object",
        "required": ["country_code", "fallback", "segments"],
        "properties": {
            "country_code": {"type": "string"},
            "fallback": {
                "type": "object",
                "required": [
                    "voucher_amount",
                    "voucher_amount_count",
                    "country_voucher_count",
                ],
                "properties": {
                    "voucher_amount": {"type": "integer"},
                    "voucher_amount_count": _COUNT,
                    "country_voucher_count": _COUNT,
                },
            },
            "segments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["segment_name", "variants"],
                    "properties": {
                        "segment_name": {"type": "string"},
                        "variants": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/VariantAmounts"},
                        },
                    },
                },
            },
        },
    },
    "VariantAmounts": {
        "type": "object",
        "required": [
            "segment_variant",
            "voucher_amount",
            "voucher_amount_count",
            "segment_voucher_count",
            "distribution",
        ],
        "properties": {
            "segment_variant": {"type": "string"},
            "voucher_amount": {
                "type": ["integer", "null"],
                "description": "null: no history (lookups fall back to the country).",
            },
            "voucher_amount_count": _COUNT,
            "segment_voucher_count": _COUNT,
            "distribution": {
                "type": "array",
                "description": "How often each amount was used, by amount.",
                "items": {
                    "type": "object",
                    "required": ["voucher_amount", "voucher_count"],
                    "properties": {
                        "voucher_amount": {"type": "integer"},
                        "voucher_count": _COUNT,
                    },
                },
            },
        },
    },
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
