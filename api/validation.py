"""Turn a request body into a checked lookup, or say exactly what is wrong.

This is the edge: the body is read against the declaration in api.contract,
then the checks that need the snapshot (a known segment and its measure's
input) and the consistency rules mirrored from the cleaning. All failures are
reported together as one 422 problem. Nothing past this point sees unchecked
input.

The usual body costs one msgspec decode from bytes. A body that decode refuses
takes the slow path: the strict JSON reader (api.resources.json_body: its 400s
and 413s), then each declared field on its own, so that the 422 names every
failing field, not just the first.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any, NamedTuple, TypeVar, get_args

import msgspec

from api import contract
from api.contract import REQUEST_FIELDS, decode_hook, decode_request
from api.problems import InvalidFields, MalformedBody
from api.resources.json_body import decode_object
from api.snapshot import MartSnapshot
from api.timestamps import Timestamp

T = TypeVar("T")

# Which request field feeds which measure (the seed's, as voucher_segment_modes
# carries it).
MEASURE_INPUTS = {
    "total_orders": "total_orders",
    "days_since_last_order": "last_order_ts",
}


# Other spellings of a segment's name that clients of other implementations of
# this challenge send (their READMEs and clients say frequency_segment); the
# answer names the segment as the mart does.
SEGMENT_ALIASES = {"frequency_segment": "frequent_segment"}


class CheckedRequest(NamedTuple):
    """A checked lookup: the inputs of both measures, and the reference
    instant (as_of, or now; UTC) they were measured at."""

    customer_id: str | int | None
    country_code: str
    segment_name: str
    measure: str
    total_orders: int | None
    # UTC date of the reference minus UTC date of last_order_ts; None without it.
    days_since_last_order: int | None
    reference_at: datetime


# CheckedRequest(...) without the NamedTuple's __new__ in Python: cheaper, on
# the lookup path.
_new_request = partial(tuple.__new__, CheckedRequest)


def field_error(field: str, detail: str) -> dict[str, str]:
    """One entry of a 422's errors: the field, its JSON pointer, what is wrong."""
    return {"field": field, "pointer": f"#/{field}", "detail": detail}


Read = tuple[contract.VoucherRequest, list[dict[str, str]]]


def read_request(raw: bytes, limit: int) -> Read:
    """The body as the declared VoucherRequest and the fields that failed its
    declaration (None in it); a 400 or 413 if it is no JSON object at all.
    check_request does the rest and raises the 422.
    """
    body = decode_fast(decode_request, raw, limit)
    if body is not None:
        return body, []
    return declared_fields(decode_object(raw, limit))


def decode_fast(decode: Callable[[bytes], T], raw: bytes, limit: int) -> T | None:
    """One msgspec pass from bytes (decode_request, decode_batch), or None:
    then the strict reader (json_body.decode_object) and the field-by-field
    reading say exactly what is wrong.

    msgspec skips unknown fields without checking their bytes, so a body that
    is not UTF-8 is left to the strict reader (a 400), wherever the bad bytes
    are; ASCII, the usual body, is checked in one pass in C.
    """
    if len(raw) > limit or not (raw.isascii() or _is_utf8(raw)):
        return None
    try:
        return decode(raw)
    except (msgspec.MsgspecError, RecursionError):
        return None


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def read_item(item: Any, limit: int) -> Read:
    """One customer of a batch: its raw JSON (msgspec.Raw) or, when the batch
    took the slow path, the decoded value."""
    if isinstance(item, msgspec.Raw):
        raw = bytes(item)
        if raw[:1] != b"{":
            raise MalformedBody(detail=_NOT_AN_OBJECT)
        return read_request(raw, limit)
    if not isinstance(item, dict):
        raise MalformedBody(detail=_NOT_AN_OBJECT)
    return declared_fields(item)


_NOT_AN_OBJECT = "Each customer must be a JSON object."
_NOT_TEXT = "must be valid Unicode text"


class _Field(NamedTuple):
    name: str
    type: Any
    required: bool
    invalid: str | None  # the 422 detail for a wrong value; None: the type's own


def _declared(field: msgspec.structs.FieldInfo) -> _Field:
    meta = next(m for m in get_args(field.type) if isinstance(m, msgspec.Meta))
    return _Field(field.name, field.type, field.required, meta.extra["invalid"])


_FIELDS = tuple(map(_declared, REQUEST_FIELDS))


def declared_fields(body: dict[str, Any]) -> Read:
    """Each declared field of a decoded body on its own: every failure listed.

    A failing field is None in what is handed on, so that the snapshot checks
    still run on the others (and name their failures too).
    """
    values: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    for field in _FIELDS:
        value = body.get(field.name)
        values[field.name] = None
        if value is None:  # null counts as absent
            if field.required:
                errors.append(field_error(field.name, "is required"))
            continue
        try:
            converted = _convert(value, field.type)
        except msgspec.ValidationError as error:
            detail = field.invalid or str(error).split(" - at `$", 1)[0]
            errors.append(field_error(field.name, detail))
            continue
        except UnicodeEncodeError:  # msgspec cannot even quote a lone surrogate
            detail = field.invalid or _NOT_TEXT
            errors.append(field_error(field.name, detail))
            continue
        if isinstance(converted, str) and not _is_text(converted):
            errors.append(field_error(field.name, _NOT_TEXT))
            continue
        values[field.name] = converted
    return contract.VoucherRequest(**values), errors


def _convert(value: Any, kind: Any) -> Any:
    try:
        return msgspec.convert(value, kind, dec_hook=decode_hook)
    except msgspec.ValidationError:
        # The contract's rule: an integral number such as 15.0 counts as the
        # integer wherever one is declared (msgspec alone is strict).
        if type(value) is float and math.isfinite(value) and value.is_integer():
            return msgspec.convert(int(value), kind, dec_hook=decode_hook)
        raise


def check_request(
    body: contract.VoucherRequest,
    errors: list[dict[str, str]],
    snapshot: MartSnapshot,
    now: datetime,
) -> CheckedRequest:
    """The checks that need the snapshot, and the consistency rules; raises
    InvalidFields listing every failing field, the declared ones (`errors`,
    from read_request or read_item) included.

    `now` (an aware UTC datetime) is the reference when the body has no as_of.
    """
    failed = {error["field"] for error in errors} if errors else ()
    segment_name = body.segment_name
    measure = None
    if segment_name is not None:
        segment_name = SEGMENT_ALIASES.get(segment_name, segment_name)
        measure = snapshot.measure_of(segment_name)
        if measure is None:
            names = ", ".join(snapshot.segments)
            errors.append(field_error("segment_name", f"must be one of: {names}"))
    if measure is not None:
        needed = MEASURE_INPUTS[measure]
        if getattr(body, needed) is None and needed not in failed:
            errors.append(field_error(needed, f"is required for {segment_name}"))

    last, first, reference = body.last_order_ts, body.first_order_ts, body.as_of
    if reference is None:
        reference = Timestamp(now, False, now.toordinal())  # now is UTC
    if not errors and (last or first):
        _check_consistency(body.total_orders, last, first, reference, errors)
    if errors:
        raise InvalidFields(errors=errors)

    return _new_request(
        (
            body.customer_id,
            body.country_code.strip(),
            segment_name,
            measure,
            body.total_orders,
            None if last is None else reference.utc_day - last.utc_day,
            reference.utc,
        )
    )


def _check_consistency(
    total_orders: int | None,
    last: Timestamp | None,
    first: Timestamp | None,
    reference: Timestamp,
    errors: list[dict[str, str]],
) -> None:
    # The same rules the cleaning step applies to the history (see the dbt
    # staging models): a request that breaks them describes no real customer.
    # (Only called with an order timestamp: without one, none can break.)
    if total_orders == 0:
        errors.append(
            field_error(
                "total_orders",
                "is 0, but an order timestamp is given: a customer without "
                "orders has no order timestamps",
            )
        )
    if last and first and _before(last, first):
        errors.append(field_error("last_order_ts", "is before first_order_ts"))
    if last and _before(reference, last):
        errors.append(field_error("last_order_ts", _AFTER_REFERENCE))
    if first and _before(reference, first):
        errors.append(field_error("first_order_ts", _AFTER_REFERENCE))


_AFTER_REFERENCE = "is after the reference time (as_of, or now when as_of is absent)"


def _before(a: Timestamp, b: Timestamp) -> bool:
    """a is earlier than b; a date-only value stands for its whole UTC day."""
    if a.date_only or b.date_only:
        return a.utc_day < b.utc_day
    return a.utc < b.utc


def _is_text(value: str) -> bool:
    # JSON may carry lone surrogates ("\\ud800"); they cannot be echoed as UTF-8.
    # (msgspec refuses them when decoding bytes; the json module does not.)
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
