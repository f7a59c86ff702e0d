"""The coupon API's bodies. Money is integer minor units of the shop's currency."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from trofast.coupon.codes import MAX_PREFIX
from trofast.coupon.discounts import MAX_MINOR, Cart, CartLine, Discount
from trofast.kit.time import Instant
from trofast.models import Coupon, CouponRedemption

# 2**53: JSON numbers beyond it may arrive as floats that no longer round-trip.
CustomerRef = Annotated[int, Field(ge=1, le=2**53)]
Minor = Annotated[int, Field(ge=0, le=MAX_MINOR)]
# One line without control characters (PostgreSQL refuses NUL in text), no space at either
# end. Explicit ranges rather than \s, whose meaning differs between regex dialects.
TEXT_PATTERN = r"^[^\x00-\x20\x7f]([^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?$"
Label = Annotated[str, Field(min_length=1, max_length=100, pattern=TEXT_PATTERN)]
Text = Annotated[str, Field(min_length=1, max_length=200, pattern=TEXT_PATTERN)]
# A chosen code: letters and digits, optionally grouped with spaces, dashes, dots or underscores.
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 _.\-]*[A-Za-z0-9]$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TermsIn(Strict):
    """What a coupon gives and when; shared by a single coupon and a batch."""

    discount: Discount
    max_uses: Annotated[int, Field(ge=1, le=10**9)] | None = Field(
        default=1, description="Total uses; 1 = single-use, null = unlimited."
    )
    per_customer_limit: Annotated[int, Field(ge=1, le=10**6)] | None = None
    valid_from: Instant | None = None
    valid_until: Instant | None = None
    min_order_minor: Minor | None = None
    channels: Annotated[list[Literal["web", "store"]], Field(max_length=2)] = []
    categories: Annotated[list[Text], Field(max_length=100)] = []
    campaign: Label | None = None
    note: Annotated[str, Field(max_length=500, pattern=r"^[^\x00]*$")] | None = None


class CouponIn(TermsIn):
    """One coupon: a generated code (with an optional prefix) or one you choose."""

    code: Annotated[str, Field(min_length=4, max_length=48, pattern=CODE_PATTERN)] | None = Field(
        default=None,
        description="Your own code (e.g. SUMMER25), after the prefix; omitted: generated.",
    )
    prefix: Annotated[str, Field(max_length=MAX_PREFIX, pattern=r"^[A-Za-z0-9]*$")] = ""
    owner_customer_id: CustomerRef | None = Field(
        default=None, description="Only this member may use the coupon."
    )


class BatchIn(TermsIn):
    """`count` coupons with generated codes and the same terms, for one campaign."""

    campaign: Label
    count: Annotated[int, Field(ge=1, le=1000)]
    prefix: Annotated[str, Field(max_length=MAX_PREFIX, pattern=r"^[A-Za-z0-9]*$")] = ""


class CouponOut(BaseModel):
    id: int
    code: str = Field(description="As printed, grouped with dashes; any case or dashes work.")
    campaign: str | None
    discount: Discount
    currency: str
    max_uses: int | None
    uses: int
    per_customer_limit: int | None
    valid_from: datetime | None
    valid_until: datetime | None
    min_order_minor: int | None
    channels: list[str]
    categories: list[str]
    owner_customer_id: int | None
    origin: str
    origin_ref: str | None
    note: str | None
    created_at: datetime
    disabled_at: datetime | None

    @classmethod
    def build(cls, coupon: Coupon) -> CouponOut:
        return cls(
            id=coupon.id,
            code=coupon.display,
            campaign=coupon.campaign,
            discount={**coupon.discount, "kind": coupon.kind},
            currency=coupon.currency,
            max_uses=coupon.max_uses,
            uses=coupon.uses,
            per_customer_limit=coupon.per_customer_limit,
            valid_from=coupon.valid_from,
            valid_until=coupon.valid_until,
            min_order_minor=coupon.min_order_minor,
            channels=coupon.channels,
            categories=coupon.categories,
            owner_customer_id=coupon.owner_customer_id,
            origin=coupon.origin,
            origin_ref=coupon.origin_ref,
            note=coupon.note,
            created_at=coupon.created_at,
            disabled_at=coupon.disabled_at,
        )


class BatchOut(BaseModel):
    campaign: str
    count: int
    coupons: list[CouponOut]


class CheckoutLineIn(Strict):
    sku: Annotated[str, Field(max_length=200)] | None = None
    category: Annotated[str, Field(max_length=200)] | None = None
    quantity: Annotated[int, Field(ge=1, le=100_000)]
    unit_price_minor: Annotated[int, Field(ge=0, le=10**10)]


class CheckoutCartIn(Strict):
    """The cart before this coupon: lines at their undiscounted prices, and shipping."""

    currency: Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")]
    channel: Literal["web", "store"] = "web"
    lines: Annotated[list[CheckoutLineIn], Field(max_length=500)] = []
    shipping_minor: Annotated[int, Field(ge=0, le=10**10)] = 0

    def to_cart(self) -> Cart:
        return Cart(
            currency=self.currency.upper(),
            channel=self.channel,
            lines=[
                CartLine(line.sku, line.category, line.quantity, line.unit_price_minor)
                for line in self.lines
            ],
            shipping_minor=self.shipping_minor,
        )


class OrderRefIn(Strict):
    """The order as its source names it; the same pair the order's events carry
    (e.g. `shopify:SHOP.myshopify.com` + the order id), so a redeem at checkout and the
    order arriving later are recognised as one."""

    source: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:\-/]+$")]
    id: Text


CodeText = Annotated[str, Field(min_length=1, max_length=100)]


class ValidateIn(Strict):
    code: CodeText
    cart: CheckoutCartIn
    customer_id: CustomerRef | None = Field(
        default=None, description="The Trofast member, if known; needed for member-only codes."
    )
    shopper_ip: Annotated[str, Field(max_length=64)] | None = Field(
        default=None,
        description="The shopper's IP address as your server saw it: guessing is throttled "
        "per shopper, not per shop server.",
    )


class RedeemIn(ValidateIn):
    order: OrderRefIn


class ReleaseIn(Strict):
    order: OrderRefIn
    code: CodeText | None = Field(default=None, description="Only this code; omitted: every code.")


class DiscountOut(BaseModel):
    kind: str
    amount_minor: int = Field(description="What the customer saves, in minor units.")
    free_shipping: bool
    sku: str | None


class ValidateOut(BaseModel):
    valid: bool
    reason: str | None = Field(description="Why not, as a stable code; null when valid.")
    discount: DiscountOut | None


class RedemptionOut(BaseModel):
    id: int
    coupon_id: int
    code: str
    order: OrderRefIn
    order_id: int | None
    customer_id: int | None
    discount: DiscountOut
    currency: str
    status: Literal["active", "released"]
    redeemed_at: datetime
    released_at: datetime | None
    replayed: bool = False

    @classmethod
    def build(
        cls, row: CouponRedemption, coupon: Coupon, *, replayed: bool = False
    ) -> RedemptionOut:
        return cls(
            id=row.id,
            coupon_id=coupon.id,
            code=coupon.display,
            order=OrderRefIn(source=row.order_source, id=row.order_ref),
            order_id=row.order_id,
            customer_id=row.customer_id,
            discount=DiscountOut(
                kind=row.kind,
                amount_minor=row.discount_minor,
                free_shipping=row.kind == "free_shipping",
                sku=coupon.discount.get("sku"),
            ),
            currency=row.currency,
            status=row.status,
            redeemed_at=row.redeemed_at,
            released_at=row.released_at,
            replayed=replayed,
        )


class ReleaseOut(BaseModel):
    released: list[RedemptionOut]


class MemberCouponOut(BaseModel):
    """A member's own coupon, with whether it can still be used."""

    coupon: CouponOut
    usable: bool
