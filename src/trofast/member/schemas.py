"""Bodies of the member API: enrolment, the till's view of a member, QR codes, claims."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, model_validator
from pydantic_core import PydanticCustomError

from trofast.coupon.discounts import Discount
from trofast.ingest.schemas import ConsentIn, IdentifiedCustomer, SourceName, Strict
from trofast.ingest.types import Amount

# Printed on a receipt: no control characters (PostgreSQL text cannot hold NUL).
Label = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


class EnrolIn(Strict):
    """Who joins, what they agreed to, and where (`source` also scopes `external_id`)."""

    customer: IdentifiedCustomer
    consents: Annotated[list[ConsentIn], Field(max_length=4)] = []
    source: SourceName = Field(
        description="Where the member joined, e.g. `web`, `shopify:shop.example`, "
        "`pos:oslo-1`; stored with each consent, and the scope of `customer.external_id`."
    )

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        # Names and ids are stored as text, which cannot hold NUL on PostgreSQL.
        if _has_nul(data):
            raise PydanticCustomError("nul_character", "text must not contain NUL")
        return data

    @model_validator(mode="after")
    def _one_consent_per_channel(self) -> EnrolIn:
        channels = [consent.channel for consent in self.consents]
        if len(set(channels)) != len(channels):
            raise PydanticCustomError("duplicate_channel", "one consent per channel")
        return self


class ConsentOut(BaseModel):
    channel: str
    granted: bool
    occurred_at: datetime
    source: str


class EnrolOut(BaseModel):
    member_id: int
    enrolled: bool = Field(description="True when this call made the customer a member.")
    enrolled_at: datetime | None = Field(description="Null for members imported without it.")
    welcome_points: int = Field(description="Points of the welcome bonus this call gave.")
    consents: list[ConsentOut] = Field(description="The consent in force per channel.")


class BalanceBrief(BaseModel):
    pending: int
    available: int


class LevelBrief(BaseModel):
    id: str
    name: str


class TillCoupon(BaseModel):
    """A coupon of the member that can be used in a store now."""

    id: int
    code: str = Field(description="As printed; scan or type it at the till.")
    discount: Discount
    currency: str
    valid_until: datetime | None
    min_order_minor: int | None
    categories: list[str]


class TillReward(BaseModel):
    """A reward of the catalogue the member can redeem now, for points."""

    id: str
    name: str
    kind: str
    cost: int


class TillMember(BaseModel):
    """What a till needs about the customer in front of it, and nothing more.

    No e-mail, phone or address: the cashier greets the member by first name and the
    initial of the surname, and sees what the member can use in the store now: the
    rewards the balance pays for and the coupons issued to the member.
    """

    member_id: int
    first_name: str | None
    last_initial: str | None
    enrolled_at: datetime | None
    balance: BalanceBrief
    tier: LevelBrief | None
    rewards: list[TillReward]
    coupons: list[TillCoupon]


class QrOut(BaseModel):
    member_id: int
    payload: str = Field(
        description="Encode as a QR code on the member page; the till sends it as `qr=`."
    )
    expires_at: datetime


class ClaimIn(Strict):
    """A receipt as printed: its number and total, and where and when if one is not enough."""

    number: Label
    amount: Amount = Field(description="The receipt's total, as printed (e.g. `249.90`).")
    store: Label | None = Field(
        default=None, description="The store's code, when the number alone is ambiguous."
    )
    purchased_on: date | None = Field(
        default=None, description="The purchase date (UTC), when the number alone is ambiguous."
    )


class ClaimOut(BaseModel):
    member_id: int
    order_id: int
    points: int = Field(description="Points the receipt earned (pending until its window).")
    claimed_at: datetime
