"""Read side of the ledger: balance summary and history. Everything derives from postings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from trofast.kit.time import utc_now
from trofast.ledger import repository
from trofast.ledger.errors import MemberNotFound
from trofast.models import LedgerTransaction

EXPIRY_HORIZONS_DAYS = (30, 60, 90)


@dataclass(frozen=True, slots=True)
class BalanceSummary:
    """A member's points. `available` is negative only while the member is in debt.

    `lifetime_earned` is what earnings issued minus what reversals took back; adjustments,
    spending and expiry do not change it. `expiring` maps 30/60/90 days to the points
    (pending or available) whose lots expire within that many days from `as_of`.
    """

    customer_id: int
    pending: int
    available: int
    lifetime_earned: int
    expiring: dict[int, int]
    as_of: datetime


@dataclass(frozen=True, slots=True)
class PostingView:
    account: str  # `pending`, `available` or a system account kind
    amount: int
    lot_id: int | None


@dataclass(frozen=True, slots=True)
class TransactionView:
    transaction: LedgerTransaction
    postings: list[PostingView] = field(default_factory=list)

    @property
    def member_change(self) -> int:
        """How the member's pending + available points changed."""
        return sum(p.amount for p in self.postings if p.account in ("pending", "available"))


def balance_summary(
    session: Session, customer_id: int, now: datetime | None = None
) -> BalanceSummary:
    now = now or utc_now()
    if not repository.customer_exists(session, customer_id):
        raise MemberNotFound(f"no customer {customer_id}", detail={"customer_id": customer_id})
    sums = repository.sums_by_account_kind(session, customer_id)
    expiring = {
        days: repository.expiring_between(session, customer_id, now, now + timedelta(days=days))
        for days in EXPIRY_HORIZONS_DAYS
    }
    return BalanceSummary(
        customer_id=customer_id,
        pending=sums.get("pending", 0),
        available=sums.get("available", 0),
        # The issued account is debited by earnings only, the reversed one credited by
        # reversals only, so their per-member sums are exactly "earned" and "taken back".
        lifetime_earned=-sums.get("issued", 0) - sums.get("reversed", 0),
        expiring=expiring,
        as_of=now,
    )


def pending_and_available(session: Session, customer_id: int) -> tuple[int, int]:
    """The two figures of `balance_summary` a till shows, in one query (no expiry horizons,
    no existence check: the caller has the customer)."""
    sums = repository.sums_by_account_kind(session, customer_id)
    return sums.get("pending", 0), sums.get("available", 0)


def history(
    session: Session, customer_id: int, *, before_id: int | None = None, limit: int = 50
) -> list[TransactionView]:
    """Newest first, each transaction with its reasons and postings."""
    if not repository.customer_exists(session, customer_id):
        raise MemberNotFound(f"no customer {customer_id}", detail={"customer_id": customer_id})
    transactions = repository.history(session, customer_id, before_id, limit)
    return views(session, transactions)


def transaction_view(session: Session, transaction_id: int) -> TransactionView:
    transaction = repository.get_transaction(session, transaction_id)
    assert transaction is not None
    return views(session, [transaction])[0]


def views(session: Session, transactions: list[LedgerTransaction]) -> list[TransactionView]:
    by_id: dict[int, list[PostingView]] = {t.id: [] for t in transactions}
    for row in repository.postings_of(session, list(by_id)):
        by_id[row.transaction_id].append(PostingView(row.kind, row.amount, row.lot_id))
    return [TransactionView(t, by_id[t.id]) for t in transactions]
