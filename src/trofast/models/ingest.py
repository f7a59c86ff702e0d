from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trofast.kit.base import Base, BigId, JSONType, UTCDateTime


class Source(Base):
    """A shop that sends signed webhooks (kind `shopify` or `woocommerce`, name its domain)."""

    __tablename__ = "sources"
    __table_args__ = (UniqueConstraint("kind", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    # The HMAC secret must be kept in the clear to verify signatures; protect the database.
    secret: Mapped[str] = mapped_column(String(500))
    currency: Mapped[str | None] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Delivery(Base):
    """One HTTP delivery exactly as received, kept so it can be replayed after a fix.

    status: `processed`, `duplicate` (every event already applied), `failed` (an error
    the sender cannot fix, replayable), `rejected` (bad signature or bad input).
    """

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_status_received", "status", "received_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    source_name: Mapped[str] = mapped_column(String(255), default="")
    topic: Mapped[str] = mapped_column(String(100), default="")
    headers: Mapped[dict[str, str]] = mapped_column(JSONType)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    body_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    verification: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    event_count: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=1)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))


class Event(Base):
    """A canonical event applied exactly once, keyed by its idempotency key.

    `request_hash` is the SHA-256 of the canonical event: the same key with another body
    is a conflict. status: `applied`, `parked` (waits for its order), `ignored`.
    """

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_parked_order", "parked_order_id", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(400), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    parked_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
