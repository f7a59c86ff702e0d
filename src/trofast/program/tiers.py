"""Pure tier policy: which level a qualification value earns, and when it is reviewed.

Upgrades happen at once, when the value over the current qualification period reaches a
higher threshold. Downgrades happen only at a review, at the end of a period: the member
keeps the highest level (at most the current one) whose retention value the ended period
reached. `lifetime` tiers are never reviewed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from trofast.kit.money import currency_exponent
from trofast.program.document import Level, Tiers
from trofast.program.expiry import add_months


def qualified(tiers: Tiers, value: int) -> Level:
    """The highest level whose threshold `value` reaches."""
    best = tiers.levels[0]
    for level in tiers.levels:
        if value >= level.threshold:
            best = level
    return best


def spend_factors(tiers: Tiers, currency: str) -> dict[str, tuple[int, int]]:
    """Per counted currency, the exact fraction (numerator, denominator) that turns its minor
    units into minor units of `currency`, the programme's (exponents differ: JPY has none)."""
    target = currency_exponent(currency)
    factors = {}
    for code, rate in tiers.rates.items():
        shift = target - currency_exponent(code)
        numerator = int(rate.scaleb(6)) * 10 ** max(shift, 0)  # rates have at most 6 decimals
        factors[code] = (numerator, 10**6 * 10 ** max(-shift, 0))
    factors[currency] = (1, 1)  # the programme refuses a rate for its own currency
    return factors


def spend_value(tiers: Tiers, currency: str, by_currency: Mapping[str, int]) -> int:
    """What spend in several currencies counts toward the thresholds: each currency's sum at
    its rate, rounded down to a minor unit of `currency`; a currency without a rate counts
    nothing. Summed per currency before converting, so many small orders lose no more than
    one minor unit per currency to rounding."""
    factors = spend_factors(tiers, currency)
    value = 0
    for code, amount in by_currency.items():
        if code in factors:
            numerator, denominator = factors[code]
            value += amount * numerator // denominator
    return value


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
