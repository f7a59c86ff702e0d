"""The referral API's bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from trofast.kit.text import ONE_LINE
from trofast.models import Referral
from trofast.referral import codes
from trofast.referral.rules import REASONS

_REASONS = ", ".join(REASONS)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=ONE_LINE)] = Field(
        description="Why; kept with the referral as its `note`."
    )


class ReferralOut(BaseModel):
    id: int
    status: Literal["pending", "completed", "blocked"]
    reason: str | None = Field(description=f"Why it is blocked, a stable code: {_REASONS}.")
    note: str | None = Field(description="The admin's words with a block or approval.")
    approved: bool = Field(description="An admin approved it: the abuse rules do not apply.")
    referrer_id: int
    friend_id: int | None = Field(description="Shown to admin keys only.")
    first_order_id: int | None
    due_at: datetime | None = Field(description="When the first order's return window closes.")
    created_at: datetime
    completed_at: datetime | None

    @classmethod
    def build(cls, referral: Referral, *, admin: bool) -> ReferralOut:
        return cls(
            id=referral.id,
            status=referral.status,
            reason=referral.reason,
            note=referral.note if admin else None,
            approved=referral.approved,
            referrer_id=referral.referrer_id,
            friend_id=referral.friend_id if admin else None,
            first_order_id=referral.first_order_id if admin else None,
            due_at=referral.due_at,
            created_at=referral.created_at,
            completed_at=referral.completed_at,
        )


class MemberReferralsOut(BaseModel):
    member_id: int
    code: str = Field(description="As printed, grouped with a dash; any case or dashes work.")
    link: str | None = Field(description="`{TROFAST_PUBLIC_URL}/r/{code}`; null when unset.")
    referrals: list[ReferralOut]

    @staticmethod
    def display(code: str) -> str:
        return codes.display(code)
