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
TIMESTAMP_FIELDS = ("last_order_ts", "first_order_ts", "as_of")


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


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, field: str, detail: str) -> None:
        self.items.append({"field": field, "pointer": f"#/{field}", "detail": detail})

    def has(self, field: str) -> bool:
        return any(item["field"] == field for item in self.items)


def parse_voucher_request(
    body: dict[str, Any], snapshot: MartSnapshot, now: datetime
) -> VoucherRequest:
    """Check every field of a lookup body; raise InvalidFields listing all failures."""
    errors = _Errors()

    customer_id = body.get("customer_id")
    if isinstance(customer_id, str):
        if not _is_text(customer_id):
            errors.add("customer_id", "must be valid Unicode text")
    elif customer_id is not None:
        customer_id = _whole_number(customer_id)
        if customer_id is None:
            errors.add("customer_id", "must be a string or an integer")

    country = body.get("country_code")
    if country is None:
        errors.add("country_code", "is required")
    elif not isinstance(country, str) or not country.strip():
        errors.add("country_code", "must be a non-empty string, e.g. 'Peru'")
    elif not _is_text(country):
        errors.add("country_code", "must be valid Unicode text")

    segment_name = body.get("segment_name")
    measure = None
    if segment_name is None:
        errors.add("segment_name", "is required")
    else:
        if isinstance(segment_name, str):
            measure = snapshot.measure_of(segment_name)
        if measure is None:
            names = ", ".join(snapshot.segments)
            errors.add("segment_name", f"must be one of: {names}")

    total_orders = body.get("total_orders")
    if total_orders is not None:
        total_orders = _whole_number(total_orders)
        if total_orders is None or total_orders < 0:
            errors.add("total_orders", "must be a whole number >= 0")
            total_orders = None

    stamps: dict[str, Timestamp | None] = {}
    for field in TIMESTAMP_FIELDS:
        stamps[field] = _timestamp(body.get(field), field, errors)

    if measure is not None:
        needed = MEASURE_INPUTS[measure]
        if body.get(needed) is None:
            errors.add(needed, f"is required for {segment_name}")

    reference = stamps["as_of"]
    if reference is None:
        reference = Timestamp(utc=now, date_only=False)
    if not errors.items:
        _check_consistency(total_orders, stamps, reference, errors)
    if errors.items:
        raise InvalidFields(errors=errors.items)

    return VoucherRequest(
        customer_id=customer_id,
        country_code=country.strip(),
        segment_name=segment_name,
        measure=measure,
        total_orders=total_orders,
        last_order=stamps["last_order_ts"],
        first_order=stamps["first_order_ts"],
        reference=reference,
    )


def _check_consistency(
    total_orders: int | None,
    stamps: dict[str, Timestamp | None],
    reference: Timestamp,
    errors: _Errors,
) -> None:
    # The same rules the cleaning step applies to the history (see the dbt
    # staging models): a request that breaks them describes no real customer.
    last, first = stamps["last_order_ts"], stamps["first_order_ts"]
    if total_orders == 0 and (last or first):
        errors.add(
            "total_orders",
            "is 0, but an order timestamp is given: a customer without orders "
            "has no order timestamps",
        )
    if last and first and _before(last, first):
        errors.add("last_order_ts", "is before first_order_ts")
    for field, stamp in (("last_order_ts", last), ("first_order_ts", first)):
        if stamp and _before(reference, stamp):
            errors.add(
                field,
                "is after the reference time (as_of, or now when as_of is absent)",
            )


def _before(a: Timestamp, b: Timestamp) -> bool:
    """a is earlier than b; a date-only value stands for its whole UTC day."""
    if a.date_only or b.date_only:
        return a.utc_date < b.utc_date
    return a.utc < b.utc


def _timestamp(value: Any, field: str, errors: _Errors) -> Timestamp | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors.add(field, "must be a string holding an ISO 8601 date or date-time")
        return None
    try:
        return parse_timestamp(value)
    except InvalidTimestamp as error:
        errors.add(field, str(error))
        return None


def _is_text(value: str) -> bool:
    # JSON may carry lone surrogates ("\\ud800"); they cannot be echoed as UTF-8.
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
