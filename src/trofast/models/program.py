"""The loyalty programme: its versions, members' tiers, and what each order earned."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trofast.kit.base import Base, BigId, JSONType, UTCDateTime


class ProgrammeVersion(Base):
    """One applied programme document. Versions are never edited; the newest is in force."""

    __tablename__ = "programme_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(200))
    document: Mapped[dict[str, Any]] = mapped_column(JSONType)
    source_text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MemberTier(Base):
    """A member's current tier; `review_at` is when a downgrade may next happen."""

    __tablename__ = "member_tiers"
    __table_args__ = (Index("ix_member_tiers_review_at", "review_at"),)

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    level: Mapped[str] = mapped_column(String(64))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    review_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    programme_version: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TierChange(Base):
    """Every tier change, kept as history and read by flows as the `tier.changed` event."""

    __tablename__ = "tier_changes"
    __table_args__ = (Index("ix_tier_changes_customer_id_id", "customer_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    from_level: Mapped[str | None] = mapped_column(String(64))
    to_level: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(16))  # up, down
    reason: Mapped[str] = mapped_column(String(32))  # qualified, review, returned
    value: Mapped[int]  # the qualification value that decided it
    programme_version: Mapped[int]
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OrderEarning(Base):
    """Marks that an order went through the earning rules, so it earns exactly once."""

    __tablename__ = "program_order_earnings"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    programme_version: Mapped[int]
    points: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EarningLine(Base):
    """The points an earning transaction gave each order line: what a refund reverses."""

    __tablename__ = "program_earning_lines"

    transaction_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_transactions.id"), primary_key=True
    )
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), primary_key=True)
    points: Mapped[int]


class RuleBudget(Base):
    """Points a rule with a global budget has given; the CHECK is the last line of defence."""

    __tablename__ = "program_rule_budgets"
    __table_args__ = (CheckConstraint("used >= 0", name="used_not_negative"),)

    rule: Mapped[str] = mapped_column(String(64), primary_key=True)
    used: Mapped[int] = mapped_column(default=0)
