"""Pure tier policy: which level a qualification value earns, and when it is reviewed.

Upgrades happen at once, when the value over the current qualification period reaches a
higher threshold. Downgrades happen only at a review, at the end of a period: the member
keeps the highest level (at most the current one) whose retention value the ended period
reached. `lifetime` tiers are never reviewed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from trofast.program.document import Level, Tiers
from trofast.program.expiry import add_months


def qualified(tiers: Tiers, value: int) -> Level:
    """The highest level whose threshold `value` reaches."""
    best = tiers.levels[0]
    for level in tiers.levels:
        if value >= level.threshold:
            best = level
    return best


def level_of(tiers: Tiers, level_id: str | None) -> Level:
    """The level with this id, or the base level when it is gone from the programme."""
    for level in tiers.levels:
        if level.id == level_id:
            return level
    return tiers.levels[0]


def rank(tiers: Tiers, level: Level) -> int:
    return next(i for i, candidate in enumerate(tiers.levels) if candidate.id == level.id)


def upgraded(tiers: Tiers, current: Level, value: int) -> Level | None:
    """The level to move up to now, or None when `value` earns nothing above `current`."""
    target = qualified(tiers, value)
    return target if rank(tiers, target) > rank(tiers, current) else None


def reviewed(tiers: Tiers, current: Level, value: int) -> Level:
    """The level kept at a review, given the value over the period that ended."""
    for level in reversed(tiers.levels[: rank(tiers, current) + 1]):
        if value >= level.keep_at:
            return level
    return tiers.levels[0]


def period_start(tiers: Tiers, at: datetime) -> datetime | None:
    """Start of the qualification window that counts at `at` (None: since the beginning)."""
    if tiers.period == "calendar_year":
        return datetime(at.astimezone(UTC).year, 1, 1, tzinfo=UTC)
    if tiers.period == "rolling_12_months":
        return add_months(at, -12)
    return None


def next_review(tiers: Tiers, at: datetime) -> datetime | None:
    """When a level held from `at` is next reviewed (None: never)."""
    if tiers.period == "calendar_year":
        return datetime(at.astimezone(UTC).year + 1, 1, 1, tzinfo=UTC)
    if tiers.period == "rolling_12_months":
        return add_months(at, 12)
    return None
