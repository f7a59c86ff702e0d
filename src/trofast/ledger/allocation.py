"""Which lots a debit consumes, and how a partial reversal rounds. Pure: no database.

Order: soonest-expiring first (the member loses the fewest points to expiry), older first on
ties, non-expiring lots last; the lot id breaks any remaining tie so the order is total and
two runs over the same lots always agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class LotView:
    id: int
    remaining: int
    earned_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Take:
    lot_id: int
    points: int


def spending_order(lots: Iterable[LotView]) -> list[LotView]:
    return sorted(
        lots,
        key=lambda lot: (
            lot.expires_at is None,
            lot.expires_at or lot.earned_at,
            lot.earned_at,
            lot.id,
        ),
    )


def allocate(lots: Iterable[LotView], amount: int) -> tuple[list[Take], int]:
    """Consume up to `amount` points from `lots`; return the takes and the shortfall."""
    if amount < 0:
        raise ValueError("amount must not be negative")
    takes: list[Take] = []
    left = amount
    for lot in spending_order(lots):
        if left == 0:
            break
        if lot.remaining <= 0:
            continue
        n = min(lot.remaining, left)
        takes.append(Take(lot.id, n))
        left -= n
    return takes, left


def reversal_target(points: int, refunded_to_date: int, order_total: int) -> int:
    """Points that should stand reversed once `refunded_to_date` of `order_total` is refunded.

    Rounded down on the *cumulative* share, so partial refunds never reverse more than their
    share and the last one (refunded_to_date == order_total) always reverses exactly `points`:
    100 points refunded in thirds reverse 33, 33 and 34, never 33 + 33 + 33.
    """
    if order_total <= 0:
        raise ValueError("order_total must be positive")
    if not 0 <= refunded_to_date <= order_total:
        raise ValueError("refunded_to_date must be within 0..order_total")
    return points * refunded_to_date // order_total
