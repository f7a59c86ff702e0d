"""Shopify webhooks → canonical events: signature, delivery headers and one handler per topic.

Each delivery becomes one event keyed `shopify:{shop}:{topic}:{event id}`. The event id
(`X-Shopify-Event-Id`) is the same for every retry and for the same event sent to two
webhook subscriptions, so it deduplicates best; the webhook id and then the body's SHA-256
are the fallbacks. Orders are snapshots ordered by `updated_at`; refunds, fulfilments and
their events are facts. Refunds embedded in `orders/updated` are ignored: Shopify sends
`refunds/create` for every refund with its own retries, and the applier parks a refund that
arrives before its order, so reading them twice would only add a second path to the same fact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from trofast.ingest.normalisers.base import (
    JSON,
    DeliveryLike,
    body_sha256,
    build,
    first_time,
    ident,
    lower_headers,
    obj,
    objects,
    parse_object,
    require,
    signature_matches,
    text,
    timestamp,
)
from trofast.ingest.normalisers.errors import InvalidPayload, UnsupportedTopic
from trofast.ingest.normalisers.shopify_orders import (
    customer_of,
    order_snapshot,
    refund_fact,
    refund_time,
)
from trofast.ingest.schemas import (
    CanonicalEvent,
    CartUpdated,
    CheckoutStarted,
    CustomerUpserted,
    OrderPlaced,
    OrderRefunded,
    OrderUpdated,
    ShipmentUpdated,
)

CHANNEL = "shopify"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # Newer Shopify deliveries drop the `X-` prefix; accept both spellings.
    lowered = lower_headers(headers)
    for key in (f"x-shopify-{name}", f"shopify-{name}"):
        value = lowered.get(key, "").strip()
        if value:
            return value
    return None


def verify_shopify(body: bytes, headers: Mapping[str, str], secret: str) -> bool:
    """True when `X-Shopify-Hmac-Sha256` (or `Shopify-Hmac-Sha256`) signs `body` with `secret`."""
    return signature_matches(body, _header(headers, "hmac-sha256"), secret)


def shopify_shop_domain(headers: Mapping[str, str]) -> str | None:
    domain = _header(headers, "shop-domain")
    return domain.lower() if domain else None


def shopify_topic(headers: Mapping[str, str]) -> str | None:
    return _header(headers, "topic")


def shopify_event_id(delivery: DeliveryLike) -> str:
    """The id that is stable across retries: event id, else webhook id, else body hash."""
    return (
        _header(delivery.headers, "event-id")
        or _header(delivery.headers, "webhook-id")
        or body_sha256(delivery)
    )


Handler = Callable[[JSON, str, str, datetime], CanonicalEvent]


def _when(resource: JSON, received_at: datetime, *keys: str) -> datetime:
    moments = (timestamp(resource.get(key), key) for key in keys)
    return first_time(*moments) or received_at


def _order_placed(order: JSON, key: str, source: str, received_at: datetime) -> CanonicalEvent:
    occurred_at = _when(order, received_at, "updated_at", "created_at")
    data = {"type": "order.placed", "idempotency_key": key, "source": source}
    return build(OrderPlaced, {**data, "occurred_at": occurred_at, "order": order_snapshot(order)})


def _order_updated(order: JSON, key: str, source: str, received_at: datetime) -> CanonicalEvent:
    occurred_at = _when(order, received_at, "updated_at", "created_at")
    data = {"type": "order.updated", "idempotency_key": key, "source": source}
    return build(OrderUpdated, {**data, "occurred_at": occurred_at, "order": order_snapshot(order)})


def _refund(refund: JSON, key: str, source: str, received_at: datetime) -> CanonicalEvent:
    order_id, fact = refund_fact(refund)
    return build(
        OrderRefunded,
        {
            "type": "order.refunded",
            "idempotency_key": key,
            "source": source,
            "occurred_at": refund_time(refund) or received_at,
            "order_id": order_id,
            "refund": fact,
        },
    )


# shipment_status (and fulfillment event status) → canonical shipment status.
SHIPMENT_STATUS = {
    "label_printed": "pending",
    "label_purchased": "pending",
    "confirmed": "in_transit",
    "in_transit": "in_transit",
    "attempted_delivery": "out_for_delivery",
    "out_for_delivery": "out_for_delivery",
    "ready_for_pickup": "out_for_delivery",
    "delivered": "delivered",
    "picked_up": "delivered",
    "failure": "failure",
    "carrier_picked_up": "in_transit",
}
# fulfillment.status, used while no carrier status has arrived.
FULFILLMENT_STATE = {
    "pending": "pending",
    "open": "pending",
    "success": "in_transit",
    "cancelled": "cancelled",
    "error": "failure",
    "failure": "failure",
}


def _fulfillment(item: JSON, key: str, source: str, received_at: datetime) -> CanonicalEvent:
    carrier_status = text(item, "shipment_status")
    if carrier_status is not None:
        status = SHIPMENT_STATUS.get(carrier_status, "in_transit")
    else:
        status = FULFILLMENT_STATE.get(text(item, "status") or "", "in_transit")
    occurred_at = _when(item, received_at, "updated_at", "created_at")
    shipment = {
        "id": require(ident(item, "id"), "id"),
        "status": status,
        "carrier": text(item, "tracking_company"),
        "tracking_number": text(item, "tracking_number"),
        "shipped_at": timestamp(item.get("created_at"), "created_at"),
        "delivered_at": occurred_at if status == "delivered" else None,
    }
    return build(
        ShipmentUpdated,
        {
            "type": "shipment.updated",
            "idempotency_key": key,
            "source": source,
            "occurred_at": occurred_at,
            "order_id": require(ident(item, "order_id"), "order_id"),
            "shipment": shipment,
        },
    )


def _fulfillment_event(item: JSON, key: str, source: str, received_at: datetime) -> CanonicalEvent:
    status = SHIPMENT_STATUS.get(text(item, "status") or "", "in_transit")
    occurred_at = _when(item, received_at, "happened_at", "updated_at", "created_at")
    shipment = {
        "id": require(ident(item, "fulfillment_id"), "fulfillment_id"),
        "status": status,
        "delivered_at": occurred_at if status == "delivered" else None,
    }
    return build(
        ShipmentUpdated,
        {
            "type": "shipment.updated",
            "idempotency_key": key,
            "source": source,
            "occurred_at": occurred_at,
            "order_id": require(ident(item, "order_id"), "order_id"),
            "shipment": shipment,
        },
    )


# Shopify consent states: `pending` is a double opt-in not yet confirmed, so no consent yet.
CONSENT_STATE = {
    "subscribed": True,
    "not_subscribed": False,
    "unsubscribed": False,
    "redacted": False,
    "invalid": False,
}


def _consents(customer: JSON, fallback: datetime) -> list[JSON]:
    consents: list[JSON] = []
    for channel, key in (("email", "email_marketing_consent"), ("sms", "sms_marketing_consent")):
        consent = obj(customer, key)
        granted = CONSENT_STATE.get(text(consent, "state") or "")
        if granted is not None:
            when = timestamp(consent.get("consent_updated_at"), f"{key}.consent_updated_at")
            consents.append(
                {"channel": channel, "granted": granted, "occurred_at": when or fallback}
            )
    legacy = customer.get("accepts_marketing")
    if not obj(customer, "email_marketing_consent") and isinstance(legacy, bool):
        when = timestamp(
            customer.get("accepts_marketing_updated_at"), "accepts_marketing_updated_at"
        )
        consents.append({"channel": "email", "granted": legacy, "occurred_at": when or fallback})
    return consents


def _customer(customer: JSON, key: str, source: str, received_at: datetime) -> CanonicalEvent:
    occurred_at = _when(customer, received_at, "updated_at", "created_at")
    region = text(obj(customer, "default_address"), "country_code")
    identity = customer_of({"customer": customer, "billing_address": {"country_code": region}})
    if identity is None or "external_id" not in identity:
        raise InvalidPayload("id is missing")
    return build(
        CustomerUpserted,
        {
            "type": "customer.upserted",
            "idempotency_key": key,
            "source": source,
            "occurred_at": occurred_at,
            "customer": identity,
            "consents": _consents(customer, occurred_at),
        },
    )


def _checkout_body(checkout: JSON) -> JSON:
    return {
        "id": require(ident(checkout, "token") or ident(checkout, "id"), "token"),
        "customer": customer_of(checkout),
        "currency": require(text(checkout, "currency"), "currency"),
        "total": checkout.get("total_price"),
        "lines": [
            {
                "sku": text(line, "sku"),
                "name": text(line, "title") or text(line, "name"),
                "quantity": line.get("quantity"),
                "unit_price": line.get("price"),
            }
            for line in objects(checkout, "line_items")
        ],
        "url": text(checkout, "abandoned_checkout_url"),
        "started_at": timestamp(checkout.get("created_at"), "created_at"),
        "completed_at": timestamp(checkout.get("completed_at"), "completed_at"),
    }


def _checkout_started(
    checkout: JSON, key: str, source: str, received_at: datetime
) -> CanonicalEvent:
    occurred_at = _when(checkout, received_at, "updated_at", "created_at")
    data = {"type": "checkout.started", "idempotency_key": key, "source": source}
    return build(
        CheckoutStarted, {**data, "occurred_at": occurred_at, "checkout": _checkout_body(checkout)}
    )


def _cart_updated(checkout: JSON, key: str, source: str, received_at: datetime) -> CanonicalEvent:
    occurred_at = _when(checkout, received_at, "updated_at", "created_at")
    data = {"type": "cart.updated", "idempotency_key": key, "source": source}
    return build(
        CartUpdated, {**data, "occurred_at": occurred_at, "checkout": _checkout_body(checkout)}
    )


TOPICS: dict[str, Handler] = {
    "orders/create": _order_placed,
    "orders/updated": _order_updated,
    "orders/paid": _order_updated,
    "orders/cancelled": _order_updated,
    "orders/fulfilled": _order_updated,
    "orders/partially_fulfilled": _order_updated,
    "refunds/create": _refund,
    "fulfillments/create": _fulfillment,
    "fulfillments/update": _fulfillment,
    "fulfillment_events/create": _fulfillment_event,
    "customers/create": _customer,
    "customers/update": _customer,
    "checkouts/create": _checkout_started,
    "checkouts/update": _cart_updated,
}


def normalise_shopify(delivery: DeliveryLike) -> list[CanonicalEvent]:
    """One Shopify webhook delivery → its canonical events (one per delivery)."""
    topic = delivery.topic or shopify_topic(delivery.headers) or ""
    handler = TOPICS.get(topic)
    if handler is None:
        raise UnsupportedTopic(f"Shopify topic {topic!r} is not supported", detail={"topic": topic})
    shop = (delivery.source_name or shopify_shop_domain(delivery.headers) or "").lower()
    if not shop:
        raise InvalidPayload("the shop domain header is missing", code="missing_shop_domain")
    body = parse_object(delivery.body)
    key = f"shopify:{shop}:{topic}:{shopify_event_id(delivery)}"
    return [handler(body, key, f"shopify:{shop}", delivery.received_at)]
