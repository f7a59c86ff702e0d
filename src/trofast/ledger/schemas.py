from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from trofast.kit.text import VISIBLE
from trofast.kit.time import Instant
from trofast.ledger.queries import BalanceSummary, TransactionView
from trofast.ledger.service import MAX_POINTS


class AdjustmentIn(BaseModel):
    """An admin correction; negative points debit the member like a spend."""

    points: int = Field(
        ge=-MAX_POINTS,
        le=MAX_POINTS,
        examples=[250, -100],
        # Zero is refused by the service too (400); saying it in the schema lets clients
        # and contract tests know before sending.
        json_schema_extra={"not": {"const": 0}},
    )
    reason: str = Field(
        min_length=3, max_length=1000, pattern=VISIBLE, examples=["goodwill: late delivery"]
    )
    expires_at: Instant | None = None


class PostingOut(BaseModel):
    account: str
    amount: int
    lot_id: int | None


class ReasonsOut(BaseModel):
    event_id: int | None
    order_id: int | None
    programme_version: int | None
    rule: str | None
    note: str | None
    api_key_id: int | None
    reverses_id: int | None
    debt_policy: str | None


class TransactionOut(BaseModel):
    id: int
    kind: str
    change: int = Field(description="Change of the member's pending + available points.")
    created_at: datetime
    effective_at: datetime
    reasons: ReasonsOut
    postings: list[PostingOut]

    @classmethod
    def build(cls, view: TransactionView) -> TransactionOut:
        t = view.transaction
        return cls(
            id=t.id,
            kind=t.kind,
            change=view.member_change,
            created_at=t.created_at,
            effective_at=t.effective_at,
            reasons=ReasonsOut.model_validate(t, from_attributes=True),
            postings=[PostingOut(account=p.account, amount=p.amount, lot_id=p.lot_id)
                      for p in view.postings],
        )  # fmt: skip


class AdjustmentOut(TransactionOut):
    replayed: bool = Field(description="True when this key was used before: the first result.")


class BalanceOut(BaseModel):
    pending: int
    available: int
    lifetime_earned: int
    expiring_30_days: int
    expiring_60_days: int
    expiring_90_days: int
    as_of: datetime

    @classmethod
    def build(cls, summary: BalanceSummary) -> BalanceOut:
        return cls(
            pending=summary.pending,
            available=summary.available,
            lifetime_earned=summary.lifetime_earned,
            expiring_30_days=summary.expiring[30],
            expiring_60_days=summary.expiring[60],
            expiring_90_days=summary.expiring[90],
            as_of=summary.as_of,
        )


class LedgerOut(BaseModel):
    customer_id: int
    balance: BalanceOut
    transactions: list[TransactionOut] = Field(description="Newest first.")
    next_before: int | None = Field(description="Pass as `before` for the next page.")
