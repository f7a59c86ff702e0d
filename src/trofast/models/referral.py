"""Referral codes, referrals, the order signals that expose self-referrals, and weekly counters.

A friend can be referred once (`UNIQUE friend_id`): the first code that reaches Trofast for a
new customer wins, and concurrent deliveries converge on one row. A referral's first order is
claimed with one conditional UPDATE (`first_order_id IS NULL`), so two orders racing to be
"the first" cannot both be. `ReferralWeek` counts rewarded referrals per referrer and week,
raised by a conditional UPDATE (`rewarded < cap`) with a CHECK behind it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from trofast.kit.base import Base, BigId, UTCDateTime


class ReferralCode(Base):
    """A member's referral code, created the first time it is asked for."""

    __tablename__ = "referral_codes"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Referral(Base):
    """A friend who arrived with a member's code: pending, completed or blocked (`reason`)."""

    __tablename__ = "referrals"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'completed', 'blocked')", name="status_known"),
        CheckConstraint("(status = 'blocked') = (reason IS NOT NULL)", name="blocked_has_reason"),
        Index("ix_referrals_referrer_id", "referrer_id", "id"),
        Index("ix_referrals_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    referrer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    friend_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    code: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(500))
    # An admin approved it: the abuse rules no longer apply (a returned first order still does).
    approved: Mapped[bool] = mapped_column(Boolean, default=False)
    first_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    # When the first order's return window closes: the referrer is rewarded from then on.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    welcome_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    welcome_coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupons.id"))
    reward_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    decided_by_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OrderSignal(Base):
    """A fingerprint an order carried: `address` (hash of the normalised shipping address) or
    `payment` (the payment provider's card fingerprint, hashed). Only hashes are kept."""

    __tablename__ = "order_signals"
    __table_args__ = (Index("ix_order_signals_kind_value", "kind", "value"),)

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(64))


class ReferralWeek(Base):
    """Rewarded referrals of a referrer in the week (Monday, UTC) their first order came due."""

    __tablename__ = "referral_weeks"
    __table_args__ = (CheckConstraint("rewarded >= 0", name="rewarded_not_negative"),)

    referrer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    week: Mapped[date] = mapped_column(Date, primary_key=True)
    rewarded: Mapped[int] = mapped_column(default=0)
