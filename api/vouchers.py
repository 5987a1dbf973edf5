"""Look up the voucher amount for a checked request in a snapshot.

No business rule is computed here: the variant comes from the seed's bounds (as
voucher_segment_modes carries them, same build as the amounts) and the amount
from the mart; this module only decides which of them applies.
"""

from __future__ import annotations

from api.contract import SOURCE_COUNTRY_FALLBACK, SOURCE_SEGMENT, VoucherAnswer
from api.snapshot import MartSnapshot
from api.validation import CheckedRequest

__all__ = ["SOURCE_COUNTRY_FALLBACK", "SOURCE_SEGMENT", "choose_voucher"]


class UnknownCountry(LookupError):
    """The mart has no vouchers for this country."""

    def __init__(self, country: str, covered: list[str]) -> None:
        super().__init__(country)
        self.country = country
        self.covered = covered


def choose_voucher(snapshot: MartSnapshot, request: CheckedRequest) -> VoucherAnswer:
    """The answer for one customer: segment amount, else the country-wide mode.

    `as_of` is the reference instant (an aware UTC datetime) for the encoder to
    render as RFC 3339.
    """
    country = snapshot.canonical_country(request.country_code)
    if country is None:
        raise UnknownCountry(request.country_code, sorted(snapshot.country_modes))

    segment = request.segment_name
    days = request.days_since_last_order
    value = request.total_orders if request.measure == "total_orders" else days
    variant = None if value is None else snapshot.variant_for(segment, value)
    amount = None
    if variant is not None:
        amount = snapshot.variant_amount(country, segment, variant)
    source = SOURCE_SEGMENT
    if amount is None:
        # No variant holds the customer, or the variant has no history.
        amount = snapshot.country_amount(country)
        source = SOURCE_COUNTRY_FALLBACK

    return VoucherAnswer(
        customer_id=request.customer_id,
        country_code=country,
        segment_name=segment,
        segment_variant=variant,
        voucher_amount=amount,
        source=source,
        total_orders=request.total_orders,
        days_since_last_order=days,
        as_of=request.reference_at,
        built_at=snapshot.built_at_text,
    )
