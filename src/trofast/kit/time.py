"""Time is always timezone-aware UTC inside Trofast."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def ensure_utc(value: datetime) -> datetime:
    """Convert an aware datetime to UTC; a naive one is a bug at the edge, so refuse it."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError("naive datetime: a timezone offset is required")
    return value.astimezone(UTC)


def parse_timestamp(text: str) -> datetime:
    """Parse ISO 8601 with an offset (`Z` allowed) into UTC."""
    return ensure_utc(datetime.fromisoformat(text.strip().replace("Z", "+00:00")))


_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


def utc_or_bound(value: datetime) -> datetime:
    """An aware datetime in UTC; one an offset pushes past what `datetime` holds is a bound.

    `0001-01-01T00:00+01:00` is an instant in year 0, before any a datetime can hold: it is
    earlier than every other instant, and so is the earliest datetime, so the bound compares
    the same way against anything Trofast compares it with (and likewise at year 9999).
    """
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return _EARLIEST if value.year == 1 else _LATEST


# A timestamp in a request body: any ISO 8601 date-time with an offset, kept in UTC.
Instant = Annotated[AwareDatetime, AfterValidator(utc_or_bound)]
