"""The reward catalogue and points as payment: the parts of the programme document that
turn points into value. Pure models; `trofast.reward` redeems them.

A reward is one of a few kinds (a discriminated union on `kind`); the kinds that give a
discount issue a coupon of the same discount kind, `custom` (a gift, an event invitation)
issues no coupon but a fulfilment an admin moves from `requested` to `fulfilled` or
`cancelled`. Stock and limits are counted in the database under the reward's `id`, which
therefore stays the same across programme versions.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

Ident = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Points = Annotated[int, Field(ge=1, le=10**9)]
Channel = Literal["web", "store"]
Text = Annotated[str, Field(min_length=1, max_length=200)]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a timestamp needs a timezone (e.g. 2026-11-27T00:00:00+01:00)")
    return value


Timestamp = Annotated[datetime, AfterValidator(_aware)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Minor = Annotated[int, Field(ge=1, le=10**12)]


class Limits(Strict):
    """`per_member`: redemptions a member may hold (a cancelled one gives its place back);
    `total`: redemptions ever, all members (a cancelled one still counts: a campaign budget)."""

    per_member: Annotated[int, Field(ge=1, le=10**6)] | None = None
    total: Annotated[int, Field(ge=1, le=10**9)] | None = None


class RewardBase(Strict):
    id: Ident
    name: Text
    description: Annotated[str, Field(max_length=1000)] | None = None
    cost: Points
    # When the reward can be redeemed; the issued coupon has its own `coupon_valid_days`.
    available_from: Timestamp | None = None
    available_until: Timestamp | None = None
    stock: Annotated[int, Field(ge=0, le=10**9)] | None = None  # None: unlimited
    limits: Limits = Limits()

    @model_validator(mode="after")
    def _window(self) -> RewardBase:
        if (
            self.available_from is not None
            and self.available_until is not None
            and self.available_until <= self.available_from
        ):
            raise PydanticCustomError(
                "programme",
                "available_until must be after available_from",
                {"at": ("available_until",)},
            )
        return self


class CouponReward(RewardBase):
    """A reward paid out as a single-use coupon owned by the member."""

    coupon_valid_days: Annotated[int, Field(ge=1, le=3650)] = 90
    min_order_minor: Minor | None = None
    channels: list[Channel] = []


class FixedAmountReward(CouponReward):
    kind: Literal["fixed_amount"]
    amount_minor: Minor


class PercentReward(CouponReward):
    kind: Literal["percent"]
    percent: Annotated[int, Field(ge=1, le=100)]
    max_amount_minor: Minor | None = None


class FreeShippingReward(CouponReward):
    kind: Literal["free_shipping"]


class FreeProductReward(CouponReward):
    kind: Literal["free_product"]
    sku: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]


class CustomReward(RewardBase):
    """A gift or an invitation: no coupon; an admin records its fulfilment."""

    kind: Literal["custom"]
    instructions: Annotated[str, Field(max_length=1000)] | None = None


Reward = Annotated[
    FixedAmountReward | PercentReward | FreeShippingReward | FreeProductReward | CustomReward,
    Field(discriminator="kind"),
]
REWARD_KINDS = ("fixed_amount", "percent", "free_shipping", "free_product", "custom")


class PointsPayment(Strict):
    """Points spent as money at checkout or at the till.

    `value_minor` is what one point is worth in minor units of the programme's currency (up
    to 4 decimals: 0.5 is half an øre); the discount is `points × value_minor` rounded down.
    An order may use between `min_points` and `max_points` points, and the discount may not
    exceed `max_share_percent` of the order total.
    """

    value_minor: Annotated[Decimal, Field(gt=0, le=10**6, max_digits=14, decimal_places=4)]
    min_points: Annotated[int, Field(ge=1, le=10**9)] = 1
    max_points: Annotated[int, Field(ge=1, le=10**9)] | None = None
    max_share_percent: Annotated[int, Field(ge=1, le=100)] = 100
    channels: list[Channel] = []  # empty: every channel

    @model_validator(mode="after")
    def _bounds(self) -> PointsPayment:
        if self.max_points is not None and self.max_points < self.min_points:
            raise PydanticCustomError(
                "programme", "max_points must not be below min_points", {"at": ("max_points",)}
            )
        return self
