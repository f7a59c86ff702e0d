"""WooCommerce webhooks → canonical events.

WooCommerce never retries and disables a hook after 5 failed deliveries, but it does send
the same state twice (an order saved twice, a hook re-saved). So snapshots are keyed by
what they describe, `woocommerce:{site}:{topic}:{id}:{date_modified_gmt}`: the same state
is a duplicate, a newer one is a new event. Refunds only appear inside the order, as
`refunds: [{id, reason, total: "-10.00"}]` repeated on every later `order.updated`; each
becomes an `order.refunded` keyed by the refund id alone, so it applies once.
`checkout-draft` orders are block-checkout carts, not orders.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import ROUND_CEILING, Decimal
from urllib.parse import parse_qsl, urlsplit

from trofast.ingest.normalisers.base import (
    JSON,
    DeliveryLike,
    amount,
    body_sha256,
    build,
    clean_email,
    clean_phone,
    header,
    ident,
    lower_headers,
    obj,
    objects,
    parse_object,
    require,
    signature_matches,
    text,
    utc_timestamp,
)
from trofast.ingest.normalisers.errors import InvalidPayload, UnsupportedTopic
from trofast.ingest.schemas import (
    CanonicalEvent,
    CartUpdated,
    CustomerUpserted,
    OrderCancelled,
    OrderPlaced,
    OrderRefunded,
    OrderUpdated,
)
from trofast.kit.money import MoneyError, currency_exponent

CHANNEL = "woocommerce"


def verify_woocommerce(body: bytes, headers: Mapping[str, str], secret: str) -> bool:
    """True when `X-WC-Webhook-Signature` is the base64 HMAC-SHA256 of `body` with `secret`."""
    return signature_matches(body, lower_headers(headers).get("x-wc-webhook-signature"), secret)


def is_woocommerce_ping(body: bytes, headers: Mapping[str, str]) -> bool:
    """The unsigned `webhook_id=N` form post WooCommerce sends when a hook is saved.

    The endpoint answers it 200 without storing events; anything signed is a real delivery.
    """
    if lower_headers(headers).get("x-wc-webhook-signature"):
        return False
    try:
        fields = parse_qsl(body.decode("ascii"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return False
    return len(fields) == 1 and fields[0][0] == "webhook_id" and fields[0][1].isdigit()


def woocommerce_topic(headers: Mapping[str, str]) -> str | None:
    return lower_headers(headers).get("x-wc-webhook-topic", "").strip() or None


def woocommerce_source(headers: Mapping[str, str]) -> str | None:
    """The site as `host[/path]` from `X-WC-Webhook-Source` (`https://shop.example/`)."""
    url = lower_headers(headers).get("x-wc-webhook-source", "").strip()
    if not url:
        return None
    parts = urlsplit(url if "//" in url else f"//{url}")
    site = (parts.netloc.lower() + parts.path).rstrip("/")
    return site or None


# status → (financial_status, fulfillment_status, cancelled); unknown plugin statuses fall
# back to date_paid_gmt, so a custom "shipped" status still counts as paid.
STATUS: dict[str, tuple[str, str, bool]] = {
    "pending": ("pending", "unfulfilled", False),
    "on-hold": ("pending", "unfulfilled", False),
    "processing": ("paid", "unfulfilled", False),
    "completed": ("paid", "fulfilled", False),
    "refunded": ("refunded", "unfulfilled", False),
    "failed": ("voided", "unfulfilled", False),
    "cancelled": ("voided", "unfulfilled", True),
    "trash": ("voided", "unfulfilled", True),
}


def _unit_price(subtotal: Decimal, quantity: int, currency: str) -> Decimal:
    """Unit price before discount. Rounded up so that any remainder lands in the discount,
    which then can never be negative (3 x 3.34 - 10.00 = 0.02 discount)."""
    if quantity <= 0:
        return subtotal
    exponent = Decimal(1).scaleb(-_exponent(currency))
    return (subtotal / quantity).quantize(exponent, rounding=ROUND_CEILING)


def _exponent(currency: str) -> int:
    try:
        return currency_exponent(currency)
    except MoneyError:
        raise InvalidPayload(f"unknown currency {currency!r}", code="unknown_currency") from None


def _quantity(line: JSON) -> int:
    value = line.get("quantity")
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidPayload("line_items[].quantity must be an integer", code="invalid_quantity")
    return value


def _lines(order: JSON, currency: str) -> list[JSON]:
    lines = []
    for line in objects(order, "line_items"):
        quantity = _quantity(line)
        subtotal = amount(line.get("subtotal"), "line_items[].subtotal")
        unit = _unit_price(subtotal, quantity, currency)
        total = amount(line.get("total"), "line_items[].total")
        lines.append(
            {
                "id": require(ident(line, "id"), "line_items[].id"),
                "sku": text(line, "sku"),
                "name": text(line, "name"),
                "quantity": quantity,
                "unit_price": unit,
                "discount": unit * quantity - total if quantity > 0 else subtotal - total,
                "tax": amount(line.get("total_tax"), "line_items[].total_tax"),
            }
        )
    return lines


def _customer(resource: JSON) -> JSON | None:
    billing = obj(resource, "billing")
    customer_id = ident(resource, "customer_id")
    identity = {
        # customer_id 0 is a guest checkout: no account to link to.
        "external_id": None if customer_id in (None, "0") else customer_id,
        "email": clean_email(text(billing, "email")),
        "phone": clean_phone(text(billing, "phone"), text(billing, "country")),
        "first_name": text(billing, "first_name"),
        "last_name": text(billing, "last_name"),
    }
    if not any(identity[key] for key in ("external_id", "email", "phone")):
        return None
    return {key: value for key, value in identity.items() if value is not None}


def _order(order: JSON, status: str) -> JSON:
    currency = require(text(order, "currency"), "currency")
    modified = utc_timestamp(order.get("date_modified_gmt"), "date_modified_gmt")
    paid_at = utc_timestamp(order.get("date_paid_gmt"), "date_paid_gmt")
    financial, fulfillment, cancelled = STATUS.get(
        status, ("paid" if paid_at else "pending", "unfulfilled", False)
    )
    if financial == "paid" and objects(order, "refunds"):
        financial = "partially_refunded"
    return {
        "id": require(ident(order, "id"), "id"),
        "number": text(order, "number"),
        "customer": _customer(order),
        "currency": currency,
        "lines": _lines(order, currency),
        "discount": amount(order.get("discount_total"), "discount_total"),
        "shipping": amount(order.get("shipping_total"), "shipping_total"),
        "tax": amount(order.get("total_tax"), "total_tax"),
        "total": amount(order.get("total"), "total"),
        "financial_status": financial,
        "fulfillment_status": fulfillment,
        "placed_at": utc_timestamp(order.get("date_created_gmt"), "date_created_gmt"),
        "updated_at": modified,
        "paid_at": paid_at,
        "cancelled_at": modified if cancelled else None,
        "cancel_reason": status if cancelled else None,
        "discount_codes": [
            c for line in objects(order, "coupon_lines") if (c := text(line, "code"))
        ],
    }


def _cart(order: JSON) -> JSON:
    currency = require(text(order, "currency"), "currency")
    return {
        "id": require(ident(order, "id"), "id"),
        "customer": _customer(order),
        "currency": currency,
        "total": amount(order.get("total"), "total"),
        "lines": [
            {key: line[key] for key in ("sku", "name", "quantity", "unit_price")}
            for line in _lines(order, currency)
        ],
        "started_at": utc_timestamp(order.get("date_created_gmt"), "date_created_gmt"),
    }


class _Context:
    """What every topic handler needs besides the body."""

    def __init__(self, delivery: DeliveryLike, site: str, topic: str) -> None:
        self.source = f"woocommerce:{site}"
        self.prefix = f"woocommerce:{site}:{topic}"
        self.received_at = delivery.received_at
        delivery_id = header(delivery, "x-wc-webhook-delivery-id") or body_sha256(delivery)
        self.delivery_key = f"{self.prefix}:{delivery_id}"

    def snapshot_key(self, resource: JSON) -> str:
        modified = text(resource, "date_modified_gmt")
        resource_id = ident(resource, "id")
        if modified is None or resource_id is None:
            return self.delivery_key
        return f"{self.prefix}:{resource_id}:{modified}"

    def envelope(self, kind: str, key: str, occurred_at: datetime | None) -> JSON:
        when = occurred_at or self.received_at
        return {"type": kind, "idempotency_key": key, "source": self.source, "occurred_at": when}


def _refunds(order: JSON, ctx: _Context, occurred_at: datetime | None) -> list[CanonicalEvent]:
    order_id = require(ident(order, "id"), "id")
    events: list[CanonicalEvent] = []
    for refund in objects(order, "refunds"):
        refund_id = require(ident(refund, "id"), "refunds[].id")
        key = f"{ctx.source}:refund:{refund_id}"
        fact = {
            "id": refund_id,
            "currency": require(text(order, "currency"), "currency"),
            # WooCommerce writes refunds as negative totals.
            "amount": abs(amount(refund.get("total"), "refunds[].total")),
            "reason": text(refund, "reason") or text(refund, "refund"),
        }
        data = ctx.envelope("order.refunded", key, occurred_at) | {"order_id": order_id}
        events.append(build(OrderRefunded, data | {"refund": fact}))
    return events


def _order_event(
    kind: str, snapshot_of: Callable[[JSON], CanonicalEvent]
) -> Callable[[JSON, _Context], list[CanonicalEvent]]:
    def handle(order: JSON, ctx: _Context) -> list[CanonicalEvent]:
        status = text(order, "status") or "pending"
        modified = utc_timestamp(order.get("date_modified_gmt"), "date_modified_gmt")
        key = ctx.snapshot_key(order)
        if status == "checkout-draft":
            data = ctx.envelope("cart.updated", key, modified)
            return [build(CartUpdated, data | {"checkout": _cart(order)})]
        data = ctx.envelope(kind, key, modified) | {"order": _order(order, status)}
        return [snapshot_of(data), *_refunds(order, ctx, modified)]

    return handle


def _deleted(order: JSON, ctx: _Context) -> list[CanonicalEvent]:
    order_id = require(ident(order, "id"), "id")
    data = ctx.envelope("order.cancelled", f"{ctx.prefix}:{order_id}", None)
    return [build(OrderCancelled, data | {"order_id": order_id, "reason": "deleted"})]


def _customer_event(customer: JSON, ctx: _Context) -> list[CanonicalEvent]:
    billing = obj(customer, "billing")
    identity = {
        "external_id": require(ident(customer, "id"), "id"),
        "email": clean_email(text(customer, "email") or text(billing, "email")),
        "phone": clean_phone(text(billing, "phone"), text(billing, "country")),
        "first_name": text(customer, "first_name") or text(billing, "first_name"),
        "last_name": text(customer, "last_name") or text(billing, "last_name"),
    }
    modified = utc_timestamp(customer.get("date_modified_gmt"), "date_modified_gmt")
    created = utc_timestamp(customer.get("date_created_gmt"), "date_created_gmt")
    data = ctx.envelope("customer.upserted", ctx.snapshot_key(customer), modified or created)
    customer_in = {key: value for key, value in identity.items() if value is not None}
    return [build(CustomerUpserted, data | {"customer": customer_in})]


TOPICS: dict[str, Callable[[JSON, _Context], list[CanonicalEvent]]] = {
    "order.created": _order_event("order.placed", lambda data: build(OrderPlaced, data)),
    "order.updated": _order_event("order.updated", lambda data: build(OrderUpdated, data)),
    "order.deleted": _deleted,
    "customer.created": _customer_event,
    "customer.updated": _customer_event,
}


def normalise_woocommerce(delivery: DeliveryLike) -> list[CanonicalEvent]:
    """One WooCommerce webhook delivery → the order or customer event (+ its refunds)."""
    topic = delivery.topic or woocommerce_topic(delivery.headers) or ""
    handler = TOPICS.get(topic)
    if handler is None:
        raise UnsupportedTopic(
            f"WooCommerce topic {topic!r} is not supported", detail={"topic": topic}
        )
    site = delivery.source_name or woocommerce_source(delivery.headers)
    if not site:
        raise InvalidPayload("the X-WC-Webhook-Source header is missing", code="missing_source")
    return handler(parse_object(delivery.body), _Context(delivery, site, topic))
