from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trofast.kit.base import Base, BigId, UTCDateTime


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
