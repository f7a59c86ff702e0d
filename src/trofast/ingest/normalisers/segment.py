"""Segment messages (E-commerce spec v2 `track` events and `identify`) → canonical events.

A body is one message or a `{"batch": [...]}`; each message becomes at most one event
keyed `segment:{messageId}` (Segment's own deduplication id, stable across its retries).
A Segment destination receives every event a site tracks, so messages Trofast has no use
for (page, screen, Coupon Applied, Product Reviewed, ...) are skipped, not refused.
`userId` is the customer's external id in the event's source; `anonymousId` only
labels product views. Segment products carry no line ids, so a line's id is its
`product_id`, else its `sku`, else its position: the same rule for an order and its refund.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from trofast.ingest.normalisers.base import (
    JSON,
    DeliveryLike,
    Normaliser,
    amount,
    build,
    clean_email,
    clean_phone,
    first_time,
    ident,
    obj,
    objects,
    parse_json,
    require,
    text,
    timestamp,
)
from trofast.ingest.normalisers.errors import InvalidPayload
from trofast.ingest.schemas import (
    CanonicalEvent,
    CartUpdated,
    CheckoutStarted,
    CustomerUpserted,
    OrderCancelled,
    OrderPlaced,
    OrderRefunded,
    OrderUpdated,
    ProductViewed,
)

CHANNEL = "segment"


class _Message:
    """One Segment message with the envelope fields every handler needs."""

    def __init__(self, data: JSON, source: str, received_at: datetime, currency: str | None):
        self.data = data
        self.props = obj(data, "properties")
        self.source = source
        self.default_currency = currency
        self.key = f"segment:{require(ident(data, 'messageId'), 'messageId')}"
        self.occurred_at = (
            first_time(
                timestamp(data.get("timestamp"), "timestamp"),
                timestamp(data.get("originalTimestamp"), "originalTimestamp"),
                timestamp(data.get("receivedAt"), "receivedAt"),
            )
            or received_at
        )

    def envelope(self, kind: str) -> JSON:
        return {
            "type": kind,
            "idempotency_key": self.key,
            "source": self.source,
            "occurred_at": self.occurred_at,
        }

    def currency(self) -> str | None:
        return text(self.props, "currency") or self.default_currency

    def customer(self) -> JSON | None:
        traits = obj(self.data, "traits") or obj(obj(self.data, "context"), "traits")
        identity = {
            "external_id": ident(self.data, "userId"),
            "email": clean_email(text(traits, "email") or text(self.props, "email")),
            "phone": clean_phone(text(traits, "phone")),
            "first_name": text(traits, "firstName") or text(traits, "first_name"),
            "last_name": text(traits, "lastName") or text(traits, "last_name"),
        }
        if not any(identity[key] for key in ("external_id", "email", "phone")):
            return None
        return {key: value for key, value in identity.items() if value is not None}


def _products(props: JSON) -> list[JSON]:
    """Lines with ids unique within the order (a product listed twice gets `#2`)."""
    lines, seen = [], set()
    for position, product in enumerate(objects(props, "products"), start=1):
        base = ident(product, "product_id") or text(product, "sku") or str(position)
        line_id, n = base, 1
        while line_id in seen:
            n += 1
            line_id = f"{base}#{n}"
        seen.add(line_id)
        quantity = product.get("quantity", 1)
        lines.append(
            {
                "id": line_id,
                "sku": text(product, "sku"),
                "name": text(product, "name"),
                "category": text(product, "category"),
                "brand": text(product, "brand"),
                "quantity": quantity,
                "unit_price": amount(product.get("price"), "products[].price"),
            }
        )
    return lines


def _lines_total(lines: list[JSON]) -> Decimal:
    total = Decimal(0)
    for line in lines:
        quantity = line["quantity"]
        if isinstance(quantity, bool) or not isinstance(quantity, int | Decimal):
            raise InvalidPayload("products[].quantity must be a number", code="invalid_quantity")
        total += line["unit_price"] * quantity
    return total


def _order(message: _Message) -> JSON:
    props = message.props
    coupon = text(props, "coupon")
    return {
        "id": require(ident(props, "order_id"), "properties.order_id"),
        "customer": message.customer(),
        "currency": require(message.currency(), "properties.currency"),
        "lines": _products(props),
        "discount": amount(props.get("discount"), "discount"),
        "shipping": amount(props.get("shipping"), "shipping"),
        "tax": amount(props.get("tax"), "tax"),
        "total": amount(props["total"], "total") if props.get("total") is not None else None,
        # "Order Completed" is sent once the purchase went through.
        "financial_status": "paid",
        "placed_at": message.occurred_at,
        "updated_at": message.occurred_at,
        "discount_codes": [coupon] if coupon else [],
    }


def _order_completed(message: _Message) -> CanonicalEvent:
    return build(OrderPlaced, message.envelope("order.placed") | {"order": _order(message)})


def _order_updated(message: _Message) -> CanonicalEvent:
    return build(OrderUpdated, message.envelope("order.updated") | {"order": _order(message)})


def _order_cancelled(message: _Message) -> CanonicalEvent:
    data = message.envelope("order.cancelled") | {
        "order_id": require(ident(message.props, "order_id"), "properties.order_id"),
        "reason": text(message.props, "reason"),
    }
    return build(OrderCancelled, data)


def _order_refunded(message: _Message) -> CanonicalEvent:
    props = message.props
    lines = _products(props)
    total = props.get("total", props.get("value"))
    refund = {
        # The spec has no refund id; the message id is unique per refund sent.
        "id": message.key.removeprefix("segment:"),
        "currency": require(message.currency(), "properties.currency"),
        "amount": _lines_total(lines) if total is None else amount(total, "total"),
        "lines": [
            {
                "line_id": line["id"],
                "quantity": line["quantity"],
                "amount": line["unit_price"] * line["quantity"],
            }
            for line in lines
        ],
    }
    data = message.envelope("order.refunded") | {
        "order_id": require(ident(props, "order_id"), "properties.order_id"),
        "refund": refund,
    }
    return build(OrderRefunded, data)


def _checkout(message: _Message, id_keys: tuple[str, ...]) -> JSON | None:
    currency = message.currency()
    if currency is None:
        # Cart Viewed carries no currency in the spec; without a source default it is
        # unusable rather than wrong, so it is skipped.
        return None
    lines = _products(message.props)
    total = message.props.get("total", message.props.get("value"))
    checkout_id = next((i for key in id_keys if (i := ident(message.props, key))), None)
    return {
        "id": require(checkout_id, f"properties.{id_keys[0]}"),
        "customer": message.customer(),
        "currency": currency,
        "total": _lines_total(lines) if total is None else amount(total, "total"),
        "lines": [
            {key: line[key] for key in ("sku", "name", "quantity", "unit_price")} for line in lines
        ],
        "started_at": message.occurred_at,
    }


def _checkout_started(message: _Message) -> CanonicalEvent | None:
    checkout = _checkout(message, ("checkout_id", "order_id", "cart_id"))
    if checkout is None:
        return None
    return build(CheckoutStarted, message.envelope("checkout.started") | {"checkout": checkout})


def _cart_viewed(message: _Message) -> CanonicalEvent | None:
    checkout = _checkout(message, ("cart_id",))
    if checkout is None:
        return None
    return build(CartUpdated, message.envelope("cart.updated") | {"checkout": checkout})


def _product_viewed(message: _Message) -> CanonicalEvent:
    props = message.props
    product = {
        "sku": require(text(props, "sku") or ident(props, "product_id"), "properties.sku"),
        "name": text(props, "name"),
        "category": text(props, "category"),
        "brand": text(props, "brand"),
    }
    data = message.envelope("product.viewed") | {
        "customer": message.customer(),
        "anonymous_id": text(message.data, "anonymousId"),
        "product": product,
    }
    return build(ProductViewed, data)


def _identify(message: _Message) -> CanonicalEvent:
    customer = message.customer()
    if customer is None:
        raise InvalidPayload("identify needs a userId or an e-mail in traits")
    return build(CustomerUpserted, message.envelope("customer.upserted") | {"customer": customer})


Handler = Callable[[_Message], CanonicalEvent | None]

# Product Added is read as interest in the product: the spec sends the one product added,
# not the cart, and the cart's contents come with Cart Viewed and Checkout Started.
TRACK: dict[str, Handler] = {
    "Order Completed": _order_completed,
    "Order Updated": _order_updated,
    "Order Cancelled": _order_cancelled,
    "Order Refunded": _order_refunded,
    "Checkout Started": _checkout_started,
    "Cart Viewed": _cart_viewed,
    "Product Viewed": _product_viewed,
    "Product Added": _product_viewed,
}


def _handler(data: JSON) -> Handler | None:
    kind = text(data, "type")
    if kind == "identify":
        return _identify
    if kind == "track":
        return TRACK.get(text(data, "event") or "")
    return None


def make_segment_normaliser(default_currency: str | None = None) -> Normaliser:
    """A Segment normaliser; `default_currency` prices cart events that name none."""

    def normalise_segment(delivery: DeliveryLike) -> list[CanonicalEvent]:
        body: Any = parse_json(delivery.body)
        if isinstance(body, dict) and "batch" in body:
            messages = objects(body, "batch")
        elif isinstance(body, dict):
            messages = [body]
        else:
            raise InvalidPayload("the body must be a Segment message or a batch")
        source = f"segment:{delivery.source_name}" if delivery.source_name else "segment"
        events = []
        for data in messages:
            handler = _handler(data)
            if handler is None:
                continue
            event = handler(_Message(data, source, delivery.received_at, default_currency))
            if event is not None:
                events.append(event)
        return events

    return normalise_segment


normalise_segment = make_segment_normaliser()
