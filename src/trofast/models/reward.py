"""Reward redemptions, the counters behind stock and limits, and points paid at checkout.

A redemption is claimed by its idempotency key (UNIQUE per member) before anything else is
written, so a retried request finds the first one. Stock and limits are counters moved only
by conditional UPDATEs (`trofast.reward.repository`), with CHECK constraints as the backstop.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trofast.kit.base import Base, BigId, UTCDateTime


class RewardRedemption(Base):
    """Points exchanged for a reward from the catalogue.

    `status` is `active` or `cancelled` (the points were returned: by the member, an admin,
    a cancelled fulfilment, or a cancelled order under `returns.released_reward: points`).
    `fulfilment` is set for `custom` rewards only: `requested`, `fulfilled` or `cancelled`.
    """

    __tablename__ = "reward_redemptions"
    __table_args__ = (
        UniqueConstraint("customer_id", "idempotency_key"),
        CheckConstraint("cost > 0", name="cost_positive"),
        Index("ix_reward_redemptions_customer_id_id", "customer_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    idempotency_key: Mapped[str] = mapped_column(String(150))
    request_hash: Mapped[str] = mapped_column(String(64))
    reward_id: Mapped[str] = mapped_column(String(64))
    reward_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    programme_version: Mapped[int]
    cost: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    fulfilment: Mapped[str | None] = mapped_column(String(16))
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupons.id"), index=True)
    ledger_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    restore_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(32))


class RewardStock(Base):
    """Per reward id: units out now (`taken`, given back on cancellation) and redemptions
    ever (`redeemed`, never given back), checked against `stock` and `limits.total`."""

    __tablename__ = "reward_stock"
    __table_args__ = (
        CheckConstraint("taken >= 0", name="taken_not_negative"),
        CheckConstraint("redeemed >= taken", name="redeemed_covers_taken"),
    )

    reward_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    taken: Mapped[int] = mapped_column(default=0)
    redeemed: Mapped[int] = mapped_column(default=0)


class RewardMemberUse(Base):
    """Active redemptions a member holds of a reward, for `limits.per_member`."""

    __tablename__ = "reward_member_uses"
    __table_args__ = (CheckConstraint("uses >= 0", name="uses_not_negative"),)

    reward_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    uses: Mapped[int] = mapped_column(default=0)


class PointsPayment(Base):
    """Points spent as money on one order; `released` when the order was cancelled.

    UNIQUE (order_source, order_ref): an order pays with points once, so a retried checkout
    finds its first payment.
    """

    __tablename__ = "points_payments"
    __table_args__ = (
        UniqueConstraint("order_source", "order_ref"),
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint("discount_minor >= 0", name="discount_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    order_source: Mapped[str] = mapped_column(String(200))
    order_ref: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    points: Mapped[int]
    discount_minor: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(16))
    programme_version: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    ledger_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    restore_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
