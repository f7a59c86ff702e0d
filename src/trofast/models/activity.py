from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trofast.kit.base import Base, BigId, JSONType, UTCDateTime


class Checkout(Base):
    """A cart or checkout; `completed_at` is set when it became an order."""

    __tablename__ = "checkouts"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(320))
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int]
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    recovery_url: Mapped[str | None] = mapped_column(String(2000))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source_updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ProductView(Base):
    __tablename__ = "product_views"
    __table_args__ = (Index("ix_product_views_customer_time", "customer_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    anonymous_id: Mapped[str | None] = mapped_column(String(200))
    sku: Mapped[str] = mapped_column(String(200))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), unique=True)
