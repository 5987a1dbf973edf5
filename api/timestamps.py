"""ISO 8601 timestamps as the API accepts them, and UTC rendering for answers."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache

# Shared with the OpenAPI document so the contract and the check cannot drift.
# A date, optionally followed by 'T' or a space, hh:mm[:ss[.fraction]] and an
# offset ('Z', '+05:30', '+0530'). ASCII digits only.
TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"(?:[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,9})?)?"
    r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?)?$"
)
# fullmatch, because '$' alone would also accept a trailing newline.
_TIMESTAMP = re.compile(TIMESTAMP_PATTERN, re.ASCII)


class InvalidTimestamp(ValueError):
    """The text is not a timestamp the API accepts; the message says why."""


class Timestamp:
    """A parsed timestamp: the UTC instant, whether only a date was given, and
    the UTC date as a day number (date.toordinal), so that days between two
    timestamps are one subtraction.

    A plain class, not a NamedTuple: msgspec (api.contract) reads a NamedTuple
    as a JSON array, and this type is decoded from a JSON string. Immutable by
    convention; parsed values are shared through the cache below.
    """

    __slots__ = ("utc", "date_only", "utc_day")

    def __init__(self, utc: datetime, date_only: bool, utc_day: int) -> None:
        self.utc = utc
        self.date_only = date_only
        self.utc_day = utc_day

    def __repr__(self) -> str:
        return f"Timestamp({self.utc!r}, date_only={self.date_only})"


# Order timestamps repeat: the challenge file has 97 distinct last_order_ts and
# 2,244 distinct first_order_ts values in 285,570 rows (whole days). So parsed
# values are kept, at most this many (only valid ones: a refusal raises, and
# raising is never cached), and a repeated timestamp costs one dict lookup
# instead of a regular expression and fromisoformat.
PARSED_TIMESTAMPS_KEPT = 4096


@lru_cache(maxsize=PARSED_TIMESTAMPS_KEPT)
def parse_timestamp(text: str) -> Timestamp:
    """Parse an ISO 8601 date or date-time; naive values are taken as UTC."""
    # (No capturing groups: the match is cheaper without them.)
    if _TIMESTAMP.fullmatch(text) is None:
        raise InvalidTimestamp(
            "must be an ISO 8601 date or date-time, e.g. 2018-05-03, "
            "2018-05-03 00:00:00 or 2018-05-03T00:00:00+05:30"
        )
    # fromisoformat wants upper-case separators; the pattern allows both. A
    # naive value gets its UTC offset as text: parsing "+00:00" is several times
    # cheaper than datetime.replace(tzinfo=...) afterwards. Past the date (10
    # characters), only an offset has a sign or a Z.
    if len(text) == 10:
        iso = text + "T00:00+00:00"
    else:
        iso = text.upper()
        if iso[-1] != "Z" and "+" not in iso and iso.find("-", 10) < 0:
            iso += "+00:00"
    try:
        instant = datetime.fromisoformat(iso)
        if instant.tzinfo is not UTC:
            instant = instant.astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise InvalidTimestamp(f"is not a valid date or time ({error})") from None
    return Timestamp(instant, len(text) == 10, instant.toordinal())


def format_utc(instant: datetime) -> str:
    """Render an instant as RFC 3339 in UTC with a 'Z' suffix."""
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")
