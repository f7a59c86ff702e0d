from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trofast.kit.base import Base, BigId, JSONType, UTCDateTime


class Customer(Base):
    """One person across every channel; identities point here."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    birthday: Mapped[date | None] = mapped_column(Date)
    locale: Mapped[str | None] = mapped_column(String(16))
    is_member: Mapped[bool] = mapped_column(Boolean, default=False)
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Newest source timestamp applied to the profile fields: an older delivery never
    # overwrites a newer profile.
    source_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CustomerIdentity(Base):
    """A key that identifies a customer.

    kind is one of `external` (source-scoped id), `email` (normalised), `phone` (E.164) or
    `card` (loyalty card number); `source` is empty for the global kinds.
    """

    __tablename__ = "customer_identities"
    __table_args__ = (UniqueConstraint("kind", "source", "value"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(200), default="")
    value: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Consent(Base):
    """Append-only consent history; the newest `occurred_at` per channel is in force."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_customer_channel", "customer_id", "channel"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(16))
    granted: Mapped[bool] = mapped_column(Boolean)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CustomerMerge(Base):
    """Two customers found to be one person: merged, or left apart for an admin to review.

    Written when one event's identity keys name two customers (`customer.merge`).
    `merged`: the absorbed customer's identities, orders, consent, carts, views and coupon
    uses now belong to the survivor, its row is deleted, and `absorbed` keeps its profile.
    `candidate`: both hold loyalty history (points, tier, rewards, referrals), which cannot be
    joined without rewriting the append-only ledger, so both stay as they are; `survivor_id`
    is the older of the two. `keys` are the event's identity keys that named both; `moved`
    counts the rows moved per table.
    """

    __tablename__ = "customer_merges"
    __table_args__ = (
        UniqueConstraint("survivor_id", "absorbed_id"),
        CheckConstraint("status IN ('merged', 'candidate')", name="status_known"),
        CheckConstraint("survivor_id <> absorbed_id", name="two_customers"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # No foreign keys: an absorbed customer's row is deleted, and a survivor may itself be
    # absorbed by a later merge; the history stays as it was written (follow the chain).
    survivor_id: Mapped[int] = mapped_column(BigId)
    absorbed_id: Mapped[int] = mapped_column(BigId, index=True)
    status: Mapped[str] = mapped_column(String(16))
    keys: Mapped[list[dict[str, str]]] = mapped_column(JSONType)
    absorbed: Mapped[dict[str, Any]] = mapped_column(JSONType)
    moved: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
