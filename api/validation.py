"""Turn a decoded JSON body into a VoucherRequest, or say exactly what is wrong.

This is the edge: every field is checked here and all failures are reported
together as one 422 problem. Nothing past this point sees unchecked input.
"""

from __future__ import annotations

import math
from datetime import datetime
from functools import partial
from typing import Any, NamedTuple

from api.problems import InvalidFields
from api.snapshot import MartSnapshot
from api.timestamps import (
    InvalidTimestamp,
    Timestamp,
    make_timestamp,
    parse_timestamp,
)

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


class VoucherRequest(NamedTuple):
    """A checked lookup request: the inputs of both measures, and the reference
    instant (as_of, or now; UTC) they were measured at."""

    customer_id: str | int | None
    country_code: str
    segment_name: str
    measure: str
    total_orders: int | None
    # UTC date of the reference minus UTC date of last_order_ts; None without it.
    days_since_last_order: int | None
    reference_at: datetime


# VoucherRequest(...) without the NamedTuple's __new__ in Python (see
# api.timestamps.make_timestamp).
_new_request = partial(tuple.__new__, VoucherRequest)


def field_error(field: str, detail: str) -> dict[str, str]:
    """One entry of a 422's errors: the field, its JSON pointer, what is wrong."""
    return {"field": field, "pointer": f"#/{field}", "detail": detail}


def _fail(errors: list[dict[str, str]], field: str, detail: str) -> None:
    errors.append(field_error(field, detail))


def parse_voucher_request(
    body: dict[str, Any], snapshot: MartSnapshot, now: datetime
) -> VoucherRequest:
    """Check every field of a lookup body; raise InvalidFields listing all failures.

    `now` (an aware UTC datetime) is the reference when the body has no as_of.
    """
    # Runs on every lookup: plain type checks first, helpers only when needed.
    errors: list[dict[str, str]] = []
    get = body.get

    customer_id = get("customer_id")
    if customer_id is None or type(customer_id) is int:
        pass
    elif isinstance(customer_id, str):
        if not _is_text(customer_id):
            _fail(errors, "customer_id", "must be valid Unicode text")
    else:
        customer_id = _whole_number(customer_id)
        if customer_id is None:
            _fail(errors, "customer_id", "must be a string or an integer")

    country = get("country_code")
    if country is None:
        _fail(errors, "country_code", "is required")
    elif not isinstance(country, str) or not (country := country.strip()):
        _fail(errors, "country_code", "must be a non-empty string, e.g. 'Peru'")
    elif not _is_text(country):
        _fail(errors, "country_code", "must be valid Unicode text")

    segment_name = get("segment_name")
    measure = None
    if segment_name is None:
        _fail(errors, "segment_name", "is required")
    else:
        if isinstance(segment_name, str):
            segment_name = SEGMENT_ALIASES.get(segment_name, segment_name)
            measure = snapshot.measure_of(segment_name)
        if measure is None:
            names = ", ".join(snapshot.segments)
            _fail(errors, "segment_name", f"must be one of: {names}")

    total_orders = get("total_orders")
    if total_orders is not None and (type(total_orders) is not int or total_orders < 0):
        total_orders = _whole_number(total_orders)
        if total_orders is None or total_orders < 0:
            _fail(errors, "total_orders", "must be a whole number >= 0")
            total_orders = None

    # Absent timestamps (the usual as_of) cost no call.
    last = get("last_order_ts")
    if last is not None:
        last = _timestamp(last, "last_order_ts", errors)
    first = get("first_order_ts")
    if first is not None:
        first = _timestamp(first, "first_order_ts", errors)
    reference = get("as_of")
    if reference is not None:
        reference = _timestamp(reference, "as_of", errors)

    if measure is not None:
        needed = MEASURE_INPUTS[measure]
        if get(needed) is None:
            _fail(errors, needed, f"is required for {segment_name}")

    if reference is None:
        reference = make_timestamp((now, False, now.toordinal()))  # now is UTC
    if not errors and (last or first):
        _check_consistency(total_orders, last, first, reference, errors)
    if errors:
        raise InvalidFields(errors=errors)

    return _new_request(
        (
            customer_id,
            country,
            segment_name,
            measure,
            total_orders,
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
        _fail(
            errors,
            "total_orders",
            "is 0, but an order timestamp is given: a customer without orders "
            "has no order timestamps",
        )
    if last and first and _before(last, first):
        _fail(errors, "last_order_ts", "is before first_order_ts")
    if last and _before(reference, last):
        _fail(errors, "last_order_ts", _AFTER_REFERENCE)
    if first and _before(reference, first):
        _fail(errors, "first_order_ts", _AFTER_REFERENCE)


_AFTER_REFERENCE = "is after the reference time (as_of, or now when as_of is absent)"


def _before(a: Timestamp, b: Timestamp) -> bool:
    """a is earlier than b; a date-only value stands for its whole UTC day."""
    if a.date_only or b.date_only:
        return a.utc_day < b.utc_day
    return a.utc < b.utc


def _timestamp(
    value: Any, field: str, errors: list[dict[str, str]]
) -> Timestamp | None:
    if not isinstance(value, str):
        _fail(errors, field, "must be a string holding an ISO 8601 date or date-time")
        return None
    try:
        return parse_timestamp(value)
    except InvalidTimestamp as error:
        _fail(errors, field, str(error))
        return None


def _is_text(value: str) -> bool:
    # JSON may carry lone surrogates ("\\ud800"); they cannot be echoed as UTF-8.
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _whole_number(value: Any) -> int | None:
    """An integer, or an integral finite float such as 15.0; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None
