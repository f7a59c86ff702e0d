"""Time is always timezone-aware UTC inside Trofast."""

from __future__ import annotations

from datetime import UTC, datetime


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
