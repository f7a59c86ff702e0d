"""Coupons, their redemptions, and per-customer use counters.

`Coupon.uses` is the one counter of a coupon: it is raised by a single conditional UPDATE
(`uses < max_uses`) and lowered when an order is cancelled, and a CHECK keeps it within
bounds even if a future code path forgets the condition. `CouponRedemption` is the fact "this
order used this code"; its UNIQUE (coupon, order) makes redeeming idempotent by order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trofast.kit.base import Base, BigId, JSONType, UTCDateTime


class Coupon(Base):
    """A code that gives a discount, under conditions and limits.

    `code` is the normalised form (upper case, no separators) that lookups use; `display`
    is the grouped form printed for people. `discount` holds the parameters of `kind` as the
    discount registry (`trofast.coupon.discounts`) validates them. `origin` says why the
    coupon exists (`manual`, `reward_redemption`, ...) and `origin_ref` /
    `ledger_transaction_id` point back at what issued it, so points can be returned.
    """

    __tablename__ = "coupons"
    __table_args__ = (
        CheckConstraint("uses >= 0", name="uses_not_negative"),
        CheckConstraint("max_uses IS NULL OR uses <= max_uses", name="uses_within_limit"),
        CheckConstraint("max_uses IS NULL OR max_uses >= 1", name="max_uses_positive"),
        Index("ix_coupons_campaign_id", "campaign", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    display: Mapped[str] = mapped_column(String(80))
    campaign: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    discount: Mapped[dict[str, Any]] = mapped_column(JSONType)
    currency: Mapped[str] = mapped_column(String(3))
    max_uses: Mapped[int | None]
    uses: Mapped[int] = mapped_column(default=0)
    per_customer_limit: Mapped[int | None]
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    min_order_minor: Mapped[int | None]
    channels: Mapped[list[str]] = mapped_column(JSONType, default=list)
    categories: Mapped[list[str]] = mapped_column(JSONType, default=list)
    owner_customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    origin: Mapped[str] = mapped_column(String(32), default="manual")
    origin_ref: Mapped[str | None] = mapped_column(String(200))
    ledger_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    note: Mapped[str | None] = mapped_column(String(500))
    created_by_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CouponRedemption(Base):
    """One order's use of one coupon; `released` when the order was cancelled.

    The order is named as its source names it (`order_source`, `order_ref`), because a shop
    redeems at checkout before the order event reaches Trofast; `order_id` is filled once the
    order is known.
    """

    __tablename__ = "coupon_redemptions"
    __table_args__ = (
        UniqueConstraint("coupon_id", "order_source", "order_ref"),
        Index("ix_coupon_redemptions_order", "order_source", "order_ref"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id"))
    order_source: Mapped[str] = mapped_column(String(200))
    order_ref: Mapped[str] = mapped_column(String(200))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    discount_minor: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="active")
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    redeemed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CouponCustomerUse(Base):
    """How many active redemptions a customer holds of a coupon with a per-customer limit.

    A counter row (rather than a COUNT over redemptions) lets the limit be enforced by one
    conditional UPDATE, which concurrent checkouts of the same customer serialise on.
    """

    __tablename__ = "coupon_customer_uses"
    __table_args__ = (CheckConstraint("uses >= 0", name="uses_not_negative"),)

    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    uses: Mapped[int] = mapped_column(default=0)
