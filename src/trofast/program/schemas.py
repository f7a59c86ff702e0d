"""API shapes of the programme: versions, the member ladder, tier history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from trofast.ledger.schemas import BalanceOut
from trofast.models import ProgrammeVersion, TierChange


class VersionOut(BaseModel):
    version: int
    name: str
    sha256: str
    note: str | None
    created_at: datetime
    document: dict[str, Any] | None = Field(
        None, description="The validated document (omitted in lists)"
    )
    source: str | None = Field(
        None,
        description="The document as it was applied, JSON or YAML with its comments "
        "(omitted in lists)",
    )

    @classmethod
    def build(cls, row: ProgrammeVersion, *, with_document: bool = True) -> VersionOut:
        return cls(
            version=row.version,
            name=row.name,
            sha256=row.sha256,
            note=row.note,
            created_at=row.created_at,
            document=row.document if with_document else None,
            source=row.source_text if with_document else None,
        )


class AppliedOut(VersionOut):
    created: bool = Field(description="False when the document equals the version in force")


class VersionsOut(BaseModel):
    versions: list[VersionOut]


class ValidationOut(BaseModel):
    valid: bool
    rules: int
    levels: int


class LevelOut(BaseModel):
    id: str
    name: str
    threshold: int
    multiplier: str
    free_shipping: bool
    rewards: list[str]


class TierOut(BaseModel):
    level: LevelOut
    since: datetime | None
    review_at: datetime | None
    metric: str
    period: str
    currency: str | None = Field(
        description="On spend: the currency of value, thresholds and to_next (minor units)"
    )
    value: int = Field(description="Qualification value in the current period")
    next_level: LevelOut | None
    to_next: int | None = Field(description="What is missing to reach the next level")


class TierChangeOut(BaseModel):
    from_level: str | None
    to_level: str
    direction: str
    reason: str
    value: int
    programme_version: int
    occurred_at: datetime

    @classmethod
    def build(cls, row: TierChange) -> TierChangeOut:
        return cls(
            from_level=row.from_level,
            to_level=row.to_level,
            direction=row.direction,
            reason=row.reason,
            value=row.value,
            programme_version=row.programme_version,
            occurred_at=row.occurred_at,
        )


class MemberOut(BaseModel):
    """The ladder: balance, tier and progress to the next tier, points about to expire."""

    customer_id: int
    is_member: bool
    enrolled_at: datetime | None
    balance: BalanceOut
    tier: TierOut | None
    tier_history: list[TierChangeOut]
    programme_version: int | None
