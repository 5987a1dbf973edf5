"""Turn a decoded JSON body into a VoucherRequest, or say exactly what is wrong.

This is the edge: every field is checked here and all failures are reported
together as one 422 problem. Nothing past this point sees unchecked input.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, NamedTuple

from api.problems import InvalidFields
from api.snapshot import MartSnapshot
from api.timestamps import InvalidTimestamp, Timestamp, parse_timestamp

# Which request field feeds which measure (the seed's, as voucher_segment_modes
# carries it).
MEASURE_INPUTS = {
    "total_orders": "total_orders",
    "days_since_last_order": "last_order_ts",
}


class VoucherRequest(NamedTuple):
    """A checked lookup request. Timestamps are UTC; `reference` is as_of or now."""

    customer_id: str | int | None
    country_code: str
    segment_name: str
    measure: str
    total_orders: int | None
    last_order: Timestamp | None
    first_order: Timestamp | None
    reference: Timestamp

    @property
    def days_since_last_order(self) -> int | None:
        if self.last_order is None:
            return None
        return (self.reference.utc_date - self.last_order.utc_date).days


def _fail(errors: list[dict[str, str]], field: str, detail: str) -> None:
    errors.append({"field": field, "pointer": f"#/{field}", "detail": detail})


def parse_voucher_request(
    body: dict[str, Any], snapshot: MartSnapshot, now: datetime
) -> VoucherRequest:
    """Check every field of a lookup body; raise InvalidFields listing all failures."""
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

    last = _timestamp(get("last_order_ts"), "last_order_ts", errors)
    first = _timestamp(get("first_order_ts"), "first_order_ts", errors)
    reference = _timestamp(get("as_of"), "as_of", errors)

    if measure is not None:
        needed = MEASURE_INPUTS[measure]
        if get(needed) is None:
            _fail(errors, needed, f"is required for {segment_name}")

    if reference is None:
        reference = Timestamp(utc=now, date_only=False)
    if not errors:
        _check_consistency(total_orders, last, first, reference, errors)
    if errors:
        raise InvalidFields(errors=errors)

    return VoucherRequest(
        customer_id,
        country,
        segment_name,
        measure,
        total_orders,
        last,
        first,
        reference,
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
    if total_orders == 0 and (last or first):
        _fail(
            errors,
            "total_orders",
            "is 0, but an order timestamp is given: a customer without orders "
            "has no order timestamps",
        )
    if last and first and _before(last, first):
        _fail(errors, "last_order_ts", "is before first_order_ts")
    for field, stamp in (("last_order_ts", last), ("first_order_ts", first)):
        if stamp and _before(reference, stamp):
            _fail(
                errors,
                field,
                "is after the reference time (as_of, or now when as_of is absent)",
            )


def _before(a: Timestamp, b: Timestamp) -> bool:
    """a is earlier than b; a date-only value stands for its whole UTC day."""
    if a.date_only or b.date_only:
        return a.utc_date < b.utc_date
    return a.utc < b.utc


def _timestamp(
    value: Any, field: str, errors: list[dict[str, str]]
) -> Timestamp | None:
    if value is None:
        return None
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
