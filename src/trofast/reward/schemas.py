"""The rewards API's bodies. Points are integers; money is integer minor units."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from trofast.coupon.schemas import CouponOut, OrderRefIn
from trofast.models import Coupon, PointsPayment, RewardRedemption
from trofast.program.catalogue import Reward
from trofast.reward.quote import Quote
from trofast.reward.service import Offer

Points = Annotated[int, Field(ge=1, le=10**9)]
Minor = Annotated[int, Field(ge=0, le=10**12)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RedeemIn(_Strict):
    reward_id: Annotated[
        str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", examples=["voucher-100"])
    ]


class FulfilmentIn(_Strict):
    status: Literal["fulfilled", "cancelled"]


class RedemptionOut(BaseModel):
    id: int
    customer_id: int
    reward_id: str
    reward_name: str
    kind: str
    cost: int = Field(description="Points debited.")
    status: Literal["active", "cancelled"]
    fulfilment: Literal["requested", "fulfilled", "cancelled"] | None = Field(
        description="Custom rewards only."
    )
    coupon: CouponOut | None = Field(description="The coupon issued; null for custom rewards.")
    programme_version: int
    ledger_transaction_id: int | None
    restore_transaction_id: int | None = Field(description="The points' return, if cancelled.")
    created_at: datetime
    fulfilled_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None = Field(
        description="member, admin, fulfilment_cancelled or order_cancelled"
    )
    replayed: bool = False

    @classmethod
    def build(
        cls, row: RewardRedemption, coupon: Coupon | None, *, replayed: bool = False
    ) -> RedemptionOut:
        return cls(
            id=row.id,
            customer_id=row.customer_id,
            reward_id=row.reward_id,
            reward_name=row.reward_name,
            kind=row.kind,
            cost=row.cost,
            status=row.status,
            fulfilment=row.fulfilment,
            coupon=CouponOut.build(coupon) if coupon is not None else None,
            programme_version=row.programme_version,
            ledger_transaction_id=row.ledger_transaction_id,
            restore_transaction_id=row.restore_transaction_id,
            created_at=row.created_at,
            fulfilled_at=row.fulfilled_at,
            cancelled_at=row.cancelled_at,
            cancel_reason=row.cancel_reason,
            replayed=replayed,
        )


class RedemptionsOut(BaseModel):
    customer_id: int
    redemptions: list[RedemptionOut] = Field(description="Newest first.")
    next_before: int | None = Field(description="Pass as `before` for the next page.")


class OfferOut(BaseModel):
    reward: Reward = Field(description="The reward as the programme document has it.")
    usable: bool
    reason: str | None = Field(description="Why not, as a stable code; null when usable.")
    points_missing: int = Field(description="Points still needed for its cost (0: enough).")

    @classmethod
    def build(cls, offer: Offer) -> OfferOut:
        return cls(
            reward=offer.reward,
            usable=offer.reason is None,
            reason=offer.reason,
            points_missing=offer.points_missing,
        )


class QuoteIn(_Strict):
    """The order before points: its total in minor units of the programme's currency."""

    order_total_minor: Minor
    currency: Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")]
    channel: Literal["web", "store"] = "web"
    points: Points | None = Field(
        default=None, description="Points the member wants to use; omitted: as many as allowed."
    )


class QuoteOut(BaseModel):
    max_points: int = Field(description="The most points this order can use.")
    points: int
    discount_minor: int

    @classmethod
    def build(cls, quote: Quote) -> QuoteOut:
        return cls(
            max_points=quote.max_points, points=quote.points, discount_minor=quote.discount_minor
        )


class PointsPaymentIn(_Strict):
    order: OrderRefIn
    order_total_minor: Minor
    currency: Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")]
    channel: Literal["web", "store"] = "web"
    points: Points


class PointsReleaseIn(_Strict):
    order: OrderRefIn


class PointsPaymentOut(BaseModel):
    id: int
    customer_id: int
    order: OrderRefIn
    points: int
    discount_minor: int
    currency: str
    channel: str
    status: Literal["active", "released"]
    ledger_transaction_id: int | None
    restore_transaction_id: int | None
    created_at: datetime
    released_at: datetime | None
    replayed: bool = False

    @classmethod
    def build(cls, row: PointsPayment, *, replayed: bool = False) -> PointsPaymentOut:
        return cls(
            id=row.id,
            customer_id=row.customer_id,
            order=OrderRefIn(source=row.order_source, id=row.order_ref),
            points=row.points,
            discount_minor=row.discount_minor,
            currency=row.currency,
            channel=row.channel,
            status=row.status,
            ledger_transaction_id=row.ledger_transaction_id,
            restore_transaction_id=row.restore_transaction_id,
            created_at=row.created_at,
            released_at=row.released_at,
            replayed=replayed,
        )
