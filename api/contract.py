"""The API's contract, declared once: a lookup, a batch, an answer, the catalogue.

msgspec Structs (chosen over pydantic v2 by measurement on the lookup path:
benchmarks/bench_contract.py, docs/benchmarks.md). From these declarations come
  - the decoding and the per-field checks of a request (api.validation),
  - the 422's errors[]: every failing field, its pointer and what is wrong
    (`invalid` below, or the type's own message),
  - the OpenAPI components (api.openapi, through msgspec's JSON Schema),
  - the README's table of request fields (field_table(); a test compares).
Checks that need the snapshot (a known segment, its measure's input, a covered
country) and the consistency rules mirrored from the cleaning stay in
api.validation; segment names come from the mart, never from here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

import msgspec
from msgspec import Meta, Struct

from api.timestamps import TIMESTAMP_PATTERN, Timestamp, parse_timestamp


def decode_hook(kind: type, value: Any) -> Any:
    """msgspec's dec_hook: the request's own types from their JSON values.

    A ValueError's text becomes the 422 detail of the field.
    """
    if kind is Timestamp:
        if not isinstance(value, str):
            raise ValueError("must be a string holding an ISO 8601 date or date-time")
        return parse_timestamp(value)  # InvalidTimestamp says what is wrong
    raise NotImplementedError(kind)


def schema_hook(kind: type) -> dict[str, Any]:
    """msgspec's schema_hook: the JSON Schema of the request's own types."""
    if kind is Timestamp:
        return {"type": "string", "pattern": TIMESTAMP_PATTERN}
    raise NotImplementedError(kind)


def _field(rule: str, invalid: str | None = None, **schema: Any) -> Meta:
    """A request field's rule in words (README and OpenAPI), and the 422 detail
    when its value has the wrong type (None: the type's own message)."""
    return Meta(description=rule, extra={"invalid": invalid}, **schema)


_TIMESTAMP_RULE = (
    "ISO 8601 date or date-time (`T` or space, optional fraction, optional "
    "`Z`/`+05:30`; naive = UTC)"
)


class VoucherRequest(Struct, kw_only=True):
    """One customer to look up (POST /api/vouchervalue; an item of a batch).

    Unknown fields are ignored. A field that is null counts as absent. An
    integral number such as 15.0 counts as the integer 15 wherever an integer
    is declared (clients that hold numbers as floats send them so).
    """

    segment_name: Annotated[
        str,
        _field(
            "required: one of the segments of the mart, as `GET /api/segments` "
            "lists them",
            "must be a string naming one of the segments GET /api/segments lists",
        ),
    ]
    country_code: Annotated[
        str,
        _field(
            "required; trimmed, case-insensitive; a country the mart does not "
            "cover is a 404 naming the covered ones",
            "must be a non-empty string, e.g. 'Peru'",
            pattern=r"\S",
        ),
    ]
    total_orders: Annotated[
        Annotated[int, Meta(ge=0)] | None,
        _field(
            "JSON integer ≥ 0 (`15.0` accepted; strings, booleans, fractions, "
            "negatives refused); required by a segment measured by "
            "`total_orders`",
            "must be a whole number >= 0",
        ),
    ] = None
    last_order_ts: Annotated[
        Timestamp | None,
        _field(
            f"{_TIMESTAMP_RULE}; required by a segment measured in days since "
            "the last order"
        ),
    ] = None
    first_order_ts: Annotated[Timestamp | None, _field("same format, optional")] = None
    as_of: Annotated[
        Timestamp | None, _field("the reference time, same format; default now")
    ] = None
    customer_id: Annotated[
        str | int | None,
        _field(
            "string or integer, optional, echoed",
            "must be a string or an integer",
        ),
    ] = None


class VoucherBatch(Struct):
    """Many customers at once (POST /api/vouchervalues)."""

    customers: Annotated[
        list[msgspec.Raw],
        Meta(
            min_length=1,
            description="Lookup bodies as POST /api/vouchervalue takes. An item "
            "that is not a valid VoucherRequest is not an error of the batch: "
            "it is answered with its own problem in results.",
        ),
    ]


Count = Annotated[int, Meta(ge=0)]
UtcText = Annotated[str, Meta(extra_json_schema={"format": "date-time"})]
Label = Annotated[
    str | None,
    Meta(
        description="In words for people, from the seed (segment_label, "
        "variant_label); null for a build published before the seed had them."
    ),
]

# Where an answer's amount comes from.
Source = Literal["segment", "country_fallback"]
SOURCE_SEGMENT, SOURCE_COUNTRY_FALLBACK = get_args(Source)


class VoucherAnswer(Struct, forbid_unknown_fields=True):
    """The voucher for one customer."""

    customer_id: str | int | None
    country_code: Annotated[str, Meta(description="The mart's spelling.")]
    segment_name: str
    segment_variant: Annotated[
        str | None,
        Meta(description="null when no variant's bounds hold the customer."),
    ]
    voucher_amount: int
    source: Annotated[
        Source,
        Meta(
            description="segment: the mart's amount for the country x segment x "
            "variant; country_fallback: the country-wide most used amount (no "
            "variant holds the customer, or the variant has no history)."
        ),
    ]
    total_orders: Count | None
    days_since_last_order: Count | None
    as_of: Annotated[
        datetime,
        Meta(
            description="The reference time used, UTC.",
            extra_json_schema={"format": "date-time"},
        ),
    ]
    built_at: Annotated[UtcText, Meta(description="When the mart was built, UTC.")]


class BatchCounts(Struct, forbid_unknown_fields=True):
    """Results by source; refused: answered with a problem (every key, zeros too)."""

    segment: Count
    country_fallback: Count
    refused: Count


def schema_ref(name: str) -> str:
    """Where the OpenAPI document keeps the schema of that name."""
    return f"#/components/schemas/{name}"


# The statuses a batch's customer is refused with: the single route's.
REFUSED_STATUSES = (400, 404, 422)


class BatchResult(Struct, forbid_unknown_fields=True):
    """One customer of a batch: 200 and its answer, or 4xx and its problem."""

    status: Literal[(200, *REFUSED_STATUSES)]
    answer: VoucherAnswer | msgspec.UnsetType = msgspec.UNSET
    problem: Annotated[
        dict[str, Any] | msgspec.UnsetType,
        Meta(extra_json_schema={"$ref": schema_ref("Problem")}),
    ] = msgspec.UNSET


# Exactly one of answer (status 200) and problem (any other status).
_ONE_OF_ANSWER_OR_PROBLEM = Meta(
    extra_json_schema={
        "oneOf": [
            {"required": ["answer"], "properties": {"status": {"const": 200}}},
            {
                "required": ["problem"],
                "properties": {"status": {"enum": list(REFUSED_STATUSES)}},
            },
        ]
    }
)


class VoucherBatchAnswer(Struct, forbid_unknown_fields=True):
    """One result per customer, in input order, all from one build."""

    built_at: Annotated[UtcText, Meta(description="The build every item came from.")]
    customers: Count
    counts: BatchCounts
    results: list[Annotated[BatchResult, _ONE_OF_ANSWER_OR_PROBLEM]]


class Build(Struct):
    """The published build answers come from (python -m serving publish): its
    dbt invocation, when it was built and published, and the source file it
    read."""

    publish_id: int
    invocation_id: str
    built_at: UtcText
    published_at: UtcText
    source_file: str
    source_sha256: Annotated[str, Meta(pattern="^[0-9a-f]{64}$")]
    source_rows: Count
    loaded_at: UtcText
    source_origin: Annotated[
        Literal["file", "synthetic"],
        Meta(
            description="synthetic: demo data from `python -m loader generate`, "
            "not real vouchers."
        ),
    ]
    synthetic: Annotated[bool, Meta(description="source_origin is synthetic")]
    load_count: Annotated[
        Count,
        Meta(
            description="How many loaded files the build read; source_file, "
            "source_sha256, loaded_at and source_origin are the newest one's, "
            "source_rows counts all of them."
        ),
    ]
    built_on: Annotated[
        Literal["duckdb", "postgres", "spark"] | None,
        Meta(
            description="The warehouse dbt built it on (a Spark build is served "
            "from the serving warehouse, /ready's warehouse); null for a build "
            "published before this was recorded."
        ),
    ]
    rows_kept: Annotated[
        Count, Meta(description="Rows of the countries served that the cleaning kept.")
    ]


class VariantDefinition(Struct):
    segment_variant: str
    lower_bound: int
    upper_bound: Annotated[int | None, Meta(description="Inclusive; null = unbounded.")]
    label: Label = None


class SegmentDefinition(Struct):
    segment_name: str
    measure: str
    variants: list[VariantDefinition]
    label: Label = None


class Fallback(Struct):
    voucher_amount: int
    voucher_amount_count: Count
    country_voucher_count: Count


class AmountCount(Struct):
    voucher_amount: int
    voucher_count: Count


class VariantAmounts(Struct):
    segment_variant: str
    voucher_amount: Annotated[
        int | None,
        Meta(description="null: no history (lookups fall back to the country)."),
    ]
    voucher_amount_count: Count
    segment_voucher_count: Count
    distribution: Annotated[
        list[AmountCount],
        Meta(description="How often each amount was used, by amount."),
    ]


class SegmentAmounts(Struct):
    segment_name: str
    variants: list[VariantAmounts]


class CountryCatalogue(Struct):
    country_code: str
    fallback: Fallback
    segments: list[SegmentAmounts]


class Catalogue(Struct):
    """GET /api/segments: the definitions, and per country the amounts."""

    built_at: UtcText
    build: Build | None
    segments: list[SegmentDefinition]
    countries: list[CountryCatalogue]


# The declarations the OpenAPI document's components come from.
DECLARED = (VoucherRequest, VoucherBatch, VoucherAnswer, VoucherBatchAnswer, Catalogue)

REQUEST_FIELDS = msgspec.structs.fields(VoucherRequest)
REQUIRED_FIELDS = frozenset(f.name for f in REQUEST_FIELDS if f.required)

encode = msgspec.json.Encoder().encode
decode_request = msgspec.json.Decoder(VoucherRequest, dec_hook=decode_hook).decode
decode_batch = msgspec.json.Decoder(VoucherBatch).decode


def components() -> dict[str, Any]:
    """The JSON Schemas of DECLARED and what they contain, by name."""
    _, schemas = msgspec.json.schema_components(
        DECLARED,
        schema_hook=schema_hook,
        ref_template=schema_ref("{name}"),
    )
    # A batch's items are read one by one (msgspec.Raw), each as a
    # VoucherRequest; one that is not is refused alone, not the batch.
    customers = schemas["VoucherBatch"]["properties"]["customers"]
    customers["items"] = {"anyOf": [{"$ref": schema_ref("VoucherRequest")}, {}]}
    return schemas


def field_rules() -> dict[str, str]:
    """Each request field's rule in words, in declaration order."""
    properties = components()["VoucherRequest"]["properties"]
    return {f.name: properties[f.name]["description"] for f in REQUEST_FIELDS}


def field_table() -> str:
    """The README's table of request fields (Markdown), from the declaration."""
    rows = [f"| `{name}` | {rule} |" for name, rule in field_rules().items()]
    return "\n".join(["| field | rule |", "| --- | --- |", *rows])
