"""The canonical event schema: what `POST /v1/events` accepts and every normaliser emits.

An event is an envelope (`idempotency_key`, `type`, `occurred_at`, `source`) around a typed
body; `type` selects the body. Amounts are decimal strings (or JSON numbers, parsed exactly)
in the order's `currency`; ids are strings. See docs/events.md for the full reference.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from trofast.ingest.types import (
    Amount,
    Currency,
    Email,
    ExternalId,
    NonEmpty,
    Phone,
    Quantity,
    ShortText,
    Timestamp,
    check_exact,
)

SourceName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:\-/]+$")]
Channel = Literal["email", "sms", "push", "post"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CustomerIn(Strict):
    """Who the customer is; any of the keys identifies them across channels."""

    external_id: ExternalId | None = None
    email: Email = None
    phone: Phone = None
    card_number: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    first_name: ShortText | None = None
    last_name: ShortText | None = None
    birthday: date | None = None
    locale: Annotated[str, Field(max_length=16)] | None = None


class ConsentIn(Strict):
    channel: Channel
    granted: bool
    occurred_at: Timestamp | None = None


class OrderLineIn(Strict):
    id: ExternalId
    sku: ShortText | None = None
    name: ShortText | None = None
    category: ShortText | None = None
    brand: ShortText | None = None
    quantity: Quantity
    unit_price: Amount
    discount: Amount = Decimal(0)
    tax: Amount = Decimal(0)
    gift_card: bool = False
    sustainable: bool = False


class AddressIn(Strict):
    """A delivery address; Trofast keeps only a hash of its normalised form (see referrals)."""

    line1: Annotated[str, Field(min_length=1, max_length=500)]
    line2: ShortText | None = None
    postal_code: Annotated[str, Field(max_length=32)] | None = None
    city: ShortText | None = None
    country: Annotated[str, Field(min_length=2, max_length=2)] | None = None


# A code a person typed or a link carried: letters and digits, maybe grouped with dashes.
ReferralCode = Annotated[str, Field(min_length=4, max_length=40, pattern=r"^[A-Za-z0-9 _.\-]+$")]


FinancialStatus = Literal[
    "pending", "authorized", "paid", "partially_paid", "partially_refunded", "refunded", "voided"
]
FulfillmentStatus = Literal["unfulfilled", "partial", "fulfilled"]


def check_unique_line_ids(lines: list[OrderLineIn]) -> None:
    seen: set[str] = set()
    for line in lines:
        if line.id in seen:
            raise PydanticCustomError(
                "duplicate_line_id", "line id {line_id} appears twice", {"line_id": line.id}
            )
        seen.add(line.id)


class OrderIn(Strict):
    """A full order snapshot; a later `updated_at` replaces an earlier one."""

    id: ExternalId
    number: ShortText | None = None
    customer: CustomerIn | None = None
    channel: Literal["web", "store"] = "web"
    store: NonEmpty | None = None
    currency: Currency
    presentment_currency: Currency | None = None
    presentment_total: Amount | None = None
    lines: Annotated[list[OrderLineIn], Field(max_length=1000)] = []
    discount: Amount = Decimal(0)
    shipping: Amount = Decimal(0)
    tax: Amount = Decimal(0)
    total: Amount | None = None
    financial_status: FinancialStatus = "pending"
    fulfillment_status: FulfillmentStatus = "unfulfilled"
    placed_at: Timestamp
    updated_at: Timestamp | None = None
    paid_at: Timestamp | None = None
    cancelled_at: Timestamp | None = None
    cancel_reason: ShortText | None = None
    discount_codes: Annotated[list[NonEmpty], Field(max_length=50)] = []
    loyalty_opt_in: bool = False
    # The member referral code the customer arrived with (see docs/programme.md, Referrals).
    referral_code: ReferralCode | None = None
    shipping_address: AddressIn | None = None
    # The payment provider's fingerprint of the card or account (e.g. Stripe's
    # `card.fingerprint`): the same value means the same means of payment.
    payment_fingerprint: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    @model_validator(mode="after")
    def _line_ids_unique(self) -> OrderIn:
        # Refunds name lines by id, so two lines with one id could not be told apart.
        check_unique_line_ids(self.lines)
        return self

    @model_validator(mode="after")
    def _amounts_fit_currency(self) -> OrderIn:
        amounts = [self.discount, self.shipping, self.tax]
        amounts += [self.total] if self.total is not None else []
        for line in self.lines:
            amounts += [line.unit_price, line.discount, line.tax]
        for amount in amounts:
            check_exact(amount, self.currency)
        if self.presentment_total is not None and self.presentment_currency is not None:
            check_exact(self.presentment_total, self.presentment_currency)
        return self


class ShipmentIn(Strict):
    id: ExternalId
    status: Literal[
        "pending", "in_transit", "out_for_delivery", "delivered", "failure", "cancelled"
    ] = "in_transit"
    carrier: ShortText | None = None
    tracking_number: ShortText | None = None
    shipped_at: Timestamp | None = None
    delivered_at: Timestamp | None = None


class RefundLineIn(Strict):
    line_id: ExternalId
    quantity: Quantity
    amount: Amount


class RefundIn(Strict):
    id: ExternalId
    currency: Currency
    amount: Amount
    shipping: Amount = Decimal(0)
    reason: ShortText | None = None
    restock: bool = False
    lines: Annotated[list[RefundLineIn], Field(max_length=1000)] = []

    @model_validator(mode="after")
    def _amounts_fit_currency(self) -> RefundIn:
        for amount in [self.amount, self.shipping, *(line.amount for line in self.lines)]:
            check_exact(amount, self.currency)
        return self


class CartLineIn(Strict):
    sku: ShortText | None = None
    name: ShortText | None = None
    quantity: Quantity
    unit_price: Amount


class CheckoutIn(Strict):
    id: ExternalId
    customer: CustomerIn | None = None
    currency: Currency
    total: Amount
    lines: Annotated[list[CartLineIn], Field(max_length=1000)] = []
    url: Annotated[str, Field(max_length=2000)] | None = None
    started_at: Timestamp | None = None
    completed_at: Timestamp | None = None

    @model_validator(mode="after")
    def _amounts_fit_currency(self) -> CheckoutIn:
        for amount in [self.total, *(line.unit_price for line in self.lines)]:
            check_exact(amount, self.currency)
        return self


class ProductIn(Strict):
    sku: NonEmpty
    name: ShortText | None = None
    category: ShortText | None = None
    brand: ShortText | None = None


class Envelope(Strict):
    idempotency_key: Annotated[str, Field(min_length=1, max_length=200)]
    occurred_at: Timestamp
    source: SourceName = "api"


def _identified(customer: CustomerIn) -> CustomerIn:
    if not (customer.external_id or customer.email or customer.phone or customer.card_number):
        raise PydanticCustomError(
            "missing_identity", "a customer needs external_id, email, phone or card_number"
        )
    return customer


IdentifiedCustomer = Annotated[CustomerIn, AfterValidator(_identified)]


class CustomerUpserted(Envelope):
    type: Literal["customer.upserted"]
    customer: IdentifiedCustomer
    consents: Annotated[list[ConsentIn], Field(max_length=10)] = []
    # The member referral code the customer signed up with (see docs/programme.md, Referrals).
    referral_code: ReferralCode | None = None


class ConsentUpdated(Envelope):
    type: Literal["consent.updated"]
    customer: IdentifiedCustomer
    consent: ConsentIn


class OrderPlaced(Envelope):
    type: Literal["order.placed"]
    order: OrderIn


class OrderUpdated(Envelope):
    type: Literal["order.updated"]
    order: OrderIn


class OrderPaid(Envelope):
    type: Literal["order.paid"]
    order_id: ExternalId


class OrderCancelled(Envelope):
    type: Literal["order.cancelled"]
    order_id: ExternalId
    reason: ShortText | None = None


class OrderFulfilled(Envelope):
    type: Literal["order.fulfilled"]
    order_id: ExternalId
    shipment: ShipmentIn | None = None


class ShipmentUpdated(Envelope):
    type: Literal["shipment.updated"]
    order_id: ExternalId
    shipment: ShipmentIn


class OrderRefunded(Envelope):
    type: Literal["order.refunded"]
    order_id: ExternalId
    refund: RefundIn


class CheckoutStarted(Envelope):
    type: Literal["checkout.started"]
    checkout: CheckoutIn


class CartUpdated(Envelope):
    type: Literal["cart.updated"]
    checkout: CheckoutIn


class ProductViewed(Envelope):
    type: Literal["product.viewed"]
    customer: CustomerIn | None = None
    anonymous_id: Annotated[str, Field(max_length=200)] | None = None
    product: ProductIn


class ActionCompleted(Envelope):
    """A member did something the programme may reward (review, survey, follow, ...)."""

    type: Literal["action.completed"]
    customer: IdentifiedCustomer
    action: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    # What was done (the review's id, the survey's id): one award per action and reference.
    reference: ExternalId


CanonicalEvent = Annotated[
    CustomerUpserted
    | ConsentUpdated
    | OrderPlaced
    | OrderUpdated
    | OrderPaid
    | OrderCancelled
    | OrderFulfilled
    | ShipmentUpdated
    | OrderRefunded
    | CheckoutStarted
    | CartUpdated
    | ProductViewed
    | ActionCompleted,
    Field(discriminator="type"),
]


class EventBatch(Strict):
    events: Annotated[list[CanonicalEvent], Field(min_length=1, max_length=1000)]


class EventResult(BaseModel):
    idempotency_key: str
    type: str
    status: Literal["applied", "duplicate", "parked"]
    customer_id: int | None = None
    order_id: int | None = None
    # Points this event gave (issued minus reversed) when a programme is in force.
    points: int | None = None


class EventsResponse(BaseModel):
    delivery_id: int
    results: list[EventResult]
