"""The points ledger: accounts, transactions, postings and lots.

Double-entry and append-only: a transaction is a set of postings that sums to zero, and a
correction is a new transaction. Balances are never stored; an account's balance is the sum of
its postings. The one mutable column is `LedgerLot.remaining`, a cache of the lot's postings
that `trofast ledger verify` proves equal and a CHECK constraint keeps within bounds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from trofast.kit.base import Base, BigId, UTCDateTime


class LedgerAccount(Base):
    """A member account (`pending`, `available`) or a system account (`issued`, ...).

    `name` is the unique handle (`member:42:available`, `system:issued`): a UNIQUE over
    (customer_id, kind) would not stop duplicate system accounts, whose customer_id is NULL.
    """

    __tablename__ = "ledger_accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerTransaction(Base):
    """One ledger write and why it happened; its postings sum to zero.

    The reason columns (`event_id`, `order_id`, `programme_version`, `rule`) are filled by the
    programme engine; admin adjustments carry `note` and `api_key_id` instead.
    """

    __tablename__ = "ledger_transactions"
    __table_args__ = (Index("ix_ledger_transactions_customer_id_id", "customer_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    # SHA-256 of the canonical request: the same key with another request is a conflict.
    request_hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    # Indexed: a refund, a cancellation or a delivery finds the order's earnings by it.
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    programme_version: Mapped[int | None]
    rule: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    # For a reversal: the earning transaction it reverses, and the policy applied to points
    # that were already spent (`allow_debt` or `clamp`).
    reverses_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_transactions.id"), index=True
    )
    debt_policy: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)


# Index predicates; the queries repeat them word for word (ledger/repository.py): under a
# generic plan PostgreSQL cannot use a partial index for a condition on a bound parameter.
DUE_PENDING = "state = 'pending'"
DUE_EXPIRING = "remaining > 0 AND expires_at IS NOT NULL"


def _where(predicate: str) -> dict[str, Any]:
    return {"postgresql_where": text(predicate), "sqlite_where": text(predicate)}


class LedgerLot(Base):
    """Points earned together, with their expiry; spending consumes lots.

    `remaining` equals the sum of the member-side postings that carry this lot's id.
    """

    __tablename__ = "ledger_lots"
    __table_args__ = (
        CheckConstraint("remaining >= 0 AND remaining <= points", name="remaining_in_bounds"),
        CheckConstraint("points > 0", name="points_positive"),
        Index("ix_ledger_lots_customer_id_state", "customer_id", "state"),
        # The hourly jobs find who is due through these: only the lots that can still come
        # due are in them, so the search costs what is due, not the size of the ledger.
        Index("ix_ledger_lots_due_pending", "available_at", **_where(DUE_PENDING)),
        Index("ix_ledger_lots_due_expiring", "expires_at", **_where(DUE_EXPIRING)),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    points: Mapped[int]
    remaining: Mapped[int]
    state: Mapped[str] = mapped_column(String(16))
    earned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    available_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LedgerPosting(Base):
    """A signed integer amount on one account; `lot_id` is set on member-side postings."""

    __tablename__ = "ledger_postings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    amount: Mapped[int]
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_lots.id"), index=True)
