"""A plain model of a member's lots, shared by the ledger and programme state machines.

It says what the ledger should do in the simplest terms: expire what is due before a debit,
consume soonest-expiring lots first (older first on ties), repay debt from new available
points first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Lot:
    seq: int
    points: int
    remaining: int
    state: str
    earned_at: datetime
    available_at: datetime | None
    expires_at: datetime | None
    transaction_id: int
    refunded: int = 0
    reversed: int = 0


@dataclass
class Member:
    id: int
    lots: list[Lot] = field(default_factory=list)
    debt: int = 0
    earned: int = 0
    reversed: int = 0

    def expire(self, now: datetime) -> None:
        for lot in self.lots:
            if lot.expires_at is not None and lot.expires_at <= now:
                lot.remaining = 0

    def credit(self, lot: Lot) -> None:
        repay = min(self.debt, lot.remaining)
        self.debt -= repay
        lot.remaining -= repay

    def spendable(self, now: datetime) -> list[Lot]:
        live = [
            lot
            for lot in self.lots
            if lot.state == "available"
            and lot.remaining > 0
            and (lot.expires_at is None or lot.expires_at > now)
        ]
        # Soonest expiry first, older first on ties, never-expiring last.
        return sorted(
            live,
            key=lambda lot: (lot.expires_at is None, lot.expires_at or now, lot.earned_at, lot.seq),
        )

    def take(self, lots: list[Lot], amount: int) -> int:
        for lot in lots:
            n = min(lot.remaining, amount)
            lot.remaining -= n
            amount -= n
        return amount
