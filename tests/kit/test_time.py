"""Timestamps at the API's edge: UTC, and the calendar's bounds for what lies past them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import TypeAdapter, ValidationError

from trofast.kit.time import Instant, utc_or_bound

INSTANT: TypeAdapter[datetime] = TypeAdapter(Instant)


def test_an_instant_is_converted_to_utc() -> None:
    assert INSTANT.validate_python("2026-03-01T10:00:00+01:00") == datetime(
        2026, 3, 1, 9, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))), datetime.min.replace(tzinfo=UTC)),
        (
            datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))),
            datetime.max.replace(tzinfo=UTC),
        ),
        (
            datetime(1, 1, 1, 2, tzinfo=timezone(timedelta(hours=1))),
            datetime(1, 1, 1, 1, tzinfo=UTC),
        ),
    ],
)
def test_an_instant_past_the_calendar_becomes_its_bound(written: datetime, kept: datetime) -> None:
    assert utc_or_bound(written) == kept


def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValidationError):
        INSTANT.validate_python("2026-03-01T10:00:00")
