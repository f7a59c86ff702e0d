"""What members did themselves: receipts they claimed after the purchase."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from trofast.kit.base import Base, UTCDateTime


class ReceiptClaim(Base):
    """A guest receipt linked to a member by its number and amount.

    `order_id` is the primary key: a receipt is claimed once. The claim itself is decided by
    the conditional UPDATE of `orders.customer_id` (see `member.claims`); this row is the
    record of who claimed it, when, through which key (None: the member's own token), and
    the points the claim earned.
    """

    __tablename__ = "receipt_claims"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    points: Mapped[int]
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
