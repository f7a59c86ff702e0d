"""Pure expiry dates for the programme's expiry policies."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime


def add_months(at: datetime, months: int) -> datetime:
    """`at` plus whole months, the day clamped to the target month (31 Jan + 1 = 28/29 Feb)."""
    index = at.year * 12 + at.month - 1 + months
    year, month = divmod(index, 12)
    day = min(at.day, calendar.monthrange(year, month + 1)[1])
    return at.replace(year=year, month=month + 1, day=day)


def month_end(at: datetime) -> datetime:
    """The end of `at`'s month (UTC): the first instant of the next month."""
    at = at.astimezone(UTC)
    year, month = (at.year + 1, 1) if at.month == 12 else (at.year, at.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def expires_after(at: datetime, months: int, *, round_to_month_end: bool) -> datetime:
    """When points earned (or last purchased) at `at` expire, `months` later."""
    end = add_months(at.astimezone(UTC), months)
    return month_end(end) if round_to_month_end else end
