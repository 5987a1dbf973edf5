"""ISO 8601 timestamps as the API accepts them, and UTC rendering for answers."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import NamedTuple

# Shared with the OpenAPI document so the contract and the check cannot drift.
# A date, optionally followed by 'T' or a space, hh:mm[:ss[.fraction]] and an
# offset ('Z', '+05:30', '+0530'). ASCII digits only.
TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,9})?)?"
    r"([Zz]|[+-]([01][0-9]|2[0-3]):?[0-5][0-9])?)?$"
)
# fullmatch, because '$' alone would also accept a trailing newline.
_TIMESTAMP = re.compile(TIMESTAMP_PATTERN, re.ASCII)
_TIME, _OFFSET = 3, 7  # the pattern's groups: the time part, the UTC offset


class InvalidTimestamp(ValueError):
    """The text is not a timestamp the API accepts; the message says why."""


class Timestamp(NamedTuple):
    """A parsed timestamp: the UTC instant, and whether only a date was given.

    (A NamedTuple: immutable like a frozen dataclass, and cheaper to make on the
    request path.)
    """

    utc: datetime
    date_only: bool

    @property
    def utc_date(self) -> date:
        return self.utc.date()


def parse_timestamp(text: str) -> Timestamp:
    """Parse an ISO 8601 date or date-time; naive values are taken as UTC."""
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise InvalidTimestamp(
            "must be an ISO 8601 date or date-time, e.g. 2018-05-03, "
            "2018-05-03 00:00:00 or 2018-05-03T00:00:00+05:30"
        )
    # fromisoformat wants upper-case separators; the pattern allows both. A
    # naive value gets its UTC offset as text: parsing "+00:00" is several times
    # cheaper than datetime.replace(tzinfo=...) afterwards.
    if match.group(_OFFSET) is not None:
        iso = text.upper()
    elif match.group(_TIME) is not None:
        iso = text.upper() + "+00:00"
    else:
        iso = text + "T00:00+00:00"
    try:
        instant = datetime.fromisoformat(iso)
        if instant.tzinfo is not UTC:
            instant = instant.astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise InvalidTimestamp(f"is not a valid date or time ({error})") from None
    return Timestamp(instant, len(text) == 10)


def format_utc(instant: datetime) -> str:
    """Render an instant as RFC 3339 in UTC with a 'Z' suffix."""
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")
