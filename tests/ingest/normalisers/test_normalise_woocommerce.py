"""Golden tests of the WooCommerce normaliser on our own realistic bodies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from trofast.ingest.normalisers import (
    InvalidPayload,
    RawDelivery,
    UnsupportedTopic,
    is_woocommerce_ping,
    normalise_woocommerce,
    verify_woocommerce,
    woocommerce_source,
)
from trofast.ingest.schemas import (
    CartUpdated,
    CustomerUpserted,
    OrderCancelled,
    OrderPlaced,
    OrderRefunded,
    OrderUpdated,
)
from trofast.kit.money import to_minor

from .support import RECEIVED_AT, fixture_bytes, fixture_json

SITE = "butikk.example.no"
Make = Callable[..., RawDelivery]


def woo(
    make: Make, body: bytes | dict[str, Any], topic: str, delivery_id: str = "1"
) -> RawDelivery:
    headers = {
        "x-wc-webhook-source": f"https://{SITE}/",
        "x-wc-webhook-topic": topic,
        "x-wc-webhook-delivery-id": delivery_id,
    }
    return make("woocommerce", body, headers=headers)


def test_order_updated_yields_the_snapshot_and_one_refund_per_refund_id(delivery: Make) -> None:
    # Given a completed NOK order with a 20 % coupon and one refund inside it
    body = fixture_bytes("woo_order_updated_refund.json")

    # When
    snapshot, refund = normalise_woocommerce(woo(delivery, body, "order.updated"))

    # Then: the snapshot keyed by its state, exact in øre
    assert isinstance(snapshot, OrderUpdated)
    assert snapshot.idempotency_key == f"woocommerce:{SITE}:order.updated:5121:2026-02-18T08:45:00"
    assert snapshot.source == f"woocommerce:{SITE}"
    assert snapshot.occurred_at == datetime(2026, 2, 18, 8, 45, tzinfo=UTC)
    order = snapshot.order
    assert order.id == "5121"
    assert order.customer is not None
    assert order.customer.external_id == "88"
    assert order.customer.email == "ingrid.berg@example.no"
    assert order.customer.phone == "+4791234567"
    assert order.currency == "NOK"
    assert [
        (
            line.id,
            line.sku,
            line.quantity,
            to_minor(line.unit_price, "NOK"),
            to_minor(line.discount, "NOK"),
            to_minor(line.tax, "NOK"),
        )
        for line in order.lines
    ] == [
        # 1000.00 / 3 rounds up to 333.34; the 0.02 remainder joins the discount
        ("901", "SOKK-MERINO-3", 3, 33334, 20002, 20000),
        ("902", "LUE-1", 1, 24900, 4980, 4980),
    ]
    net = sum(
        line.quantity * to_minor(line.unit_price, "NOK") - to_minor(line.discount, "NOK")
        for line in order.lines
    )
    assert net == 80000 + 19920
    assert to_minor(order.discount, "NOK") == 24980
    assert to_minor(order.shipping, "NOK") == 9900
    assert to_minor(order.tax, "NOK") == 27455
    assert order.total is not None
    assert to_minor(order.total, "NOK") == 137275
    assert (order.financial_status, order.fulfillment_status) == ("partially_refunded", "fulfilled")
    assert order.placed_at == datetime(2026, 2, 10, 13, 3, 11, tzinfo=UTC)
    assert order.paid_at == datetime(2026, 2, 10, 13, 3, 40, tzinfo=UTC)
    assert order.discount_codes == ["sommer20"]
    # and the refund as a positive fact keyed by its own id
    assert isinstance(refund, OrderRefunded)
    assert refund.idempotency_key == f"woocommerce:{SITE}:refund:5130"
    assert refund.order_id == "5121"
    assert (refund.refund.id, refund.refund.currency) == ("5130", "NOK")
    assert to_minor(refund.refund.amount, "NOK") == 24900
    assert refund.refund.reason == "Feil størrelse"


def test_a_later_update_repeats_the_refund_under_the_same_key(delivery: Make) -> None:
    body = fixture_json("woo_order_updated_refund.json") | {
        "date_modified_gmt": "2026-02-20T10:00:00",
        "refunds": [
            {"id": 5131, "reason": "", "total": "-99.00"},
            {"id": 5130, "reason": "Feil størrelse", "total": "-249.00"},
        ],
    }

    events = normalise_woocommerce(woo(delivery, body, "order.updated", delivery_id="2"))

    assert [event.idempotency_key for event in events] == [
        f"woocommerce:{SITE}:order.updated:5121:2026-02-20T10:00:00",
        f"woocommerce:{SITE}:refund:5131",
        f"woocommerce:{SITE}:refund:5130",
    ]


def test_order_created_is_placed_and_the_same_state_resent_has_the_same_key(
    delivery: Make,
) -> None:
    body = fixture_json("woo_order_updated_refund.json") | {"status": "processing", "refunds": []}

    [first] = normalise_woocommerce(woo(delivery, body, "order.created", delivery_id="10"))
    [again] = normalise_woocommerce(woo(delivery, body, "order.created", delivery_id="11"))

    assert isinstance(first, OrderPlaced)
    assert first.order.financial_status == "paid"
    assert first.order.fulfillment_status == "unfulfilled"
    assert first == again


@pytest.mark.parametrize(
    ("status", "financial", "cancelled"),
    [
        ("pending", "pending", False),
        ("on-hold", "pending", False),
        ("failed", "voided", False),
        ("refunded", "refunded", False),
        ("cancelled", "voided", True),
        ("trash", "voided", True),
        ("shipped-by-plugin", "paid", False),
    ],
)
def test_status_mapping(delivery: Make, status: str, financial: str, cancelled: bool) -> None:
    body = fixture_json("woo_order_updated_refund.json") | {"status": status, "refunds": []}

    [event] = normalise_woocommerce(woo(delivery, body, "order.updated"))

    assert isinstance(event, OrderUpdated)
    assert event.order.financial_status == financial
    expected = datetime(2026, 2, 18, 8, 45, tzinfo=UTC) if cancelled else None
    assert event.order.cancelled_at == expected


def test_checkout_draft_is_a_cart_not_an_order(delivery: Make) -> None:
    body = fixture_bytes("woo_checkout_draft.json")

    [event] = normalise_woocommerce(woo(delivery, body, "order.created"))

    assert isinstance(event, CartUpdated)
    cart = event.checkout
    assert cart.id == "5140"
    assert cart.customer is not None
    assert cart.customer.external_id is None  # guest
    assert cart.customer.email == "sven@example.se"
    assert cart.currency == "SEK"
    assert to_minor(cart.total, "SEK") == 59800
    assert [(line.sku, line.quantity, to_minor(line.unit_price, "SEK")) for line in cart.lines] == [
        ("VANT-2", 2, 29900)
    ]
    assert cart.started_at == datetime(2026, 3, 3, 18, 0, tzinfo=UTC)


def test_order_deleted_is_a_cancellation(delivery: Make) -> None:
    [event] = normalise_woocommerce(woo(delivery, {"id": 5121}, "order.deleted"))

    assert isinstance(event, OrderCancelled)
    assert event.order_id == "5121"
    assert event.idempotency_key == f"woocommerce:{SITE}:order.deleted:5121"
    assert event.occurred_at == RECEIVED_AT


def test_customer_created(delivery: Make) -> None:
    body = {
        "id": 88,
        "date_created_gmt": "2026-01-02T10:00:00",
        "date_modified_gmt": "2026-01-02T10:00:05",
        "email": "ingrid.berg@example.no",
        "first_name": "Ingrid",
        "last_name": "Berg",
        "billing": {"country": "NO", "phone": "912 34 567"},
    }

    [event] = normalise_woocommerce(woo(delivery, body, "customer.created"))

    assert isinstance(event, CustomerUpserted)
    assert event.customer.external_id == "88"
    assert event.customer.phone == "+4791234567"
    assert event.occurred_at == datetime(2026, 1, 2, 10, 0, 5, tzinfo=UTC)
    assert event.idempotency_key == f"woocommerce:{SITE}:customer.created:88:2026-01-02T10:00:05"


def test_source_is_the_site_host_and_path() -> None:
    assert (
        woocommerce_source({"X-WC-Webhook-Source": "https://Shop.Example.no/"}) == "shop.example.no"
    )
    assert woocommerce_source({"x-wc-webhook-source": "https://x.no/butikk/"}) == "x.no/butikk"
    assert woocommerce_source({}) is None


# --- signatures and the creation ping ---

SECRET = "wc-secret-0123"


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_signature_good_bad_missing() -> None:
    body = fixture_bytes("woo_order_updated_refund.json")

    assert verify_woocommerce(body, {"X-WC-Webhook-Signature": sign(body)}, SECRET) is True
    assert verify_woocommerce(body, {"x-wc-webhook-signature": sign(body, "x")}, SECRET) is False
    assert verify_woocommerce(body, {}, SECRET) is False


def test_creation_ping_is_recognised_only_when_unsigned() -> None:
    assert is_woocommerce_ping(b"webhook_id=17", {}) is True
    assert is_woocommerce_ping(b"webhook_id=17", {"x-wc-webhook-signature": "abc"}) is False
    assert is_woocommerce_ping(b'{"id": 17}', {}) is False
    assert is_woocommerce_ping(b"webhook_id=17&x=1", {}) is False


# --- bad input ---


def _order_with(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = fixture_json("woo_order_updated_refund.json")
    return body | changes


def _line_with(**changes: Any) -> dict[str, Any]:
    body = _order_with()
    body["line_items"][0] |= changes
    return body


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"<html>", "invalid_json"),
        (_order_with(currency="KRONER"), "unknown_currency"),
        (_order_with(date_created_gmt="2026-02-30T10:00:00"), "invalid_timestamp"),
        (_order_with(total="12,50"), "invalid_amount"),
        (_line_with(quantity="3"), "invalid_quantity"),
        (_line_with(quantity=-3), "negative_quantity"),
        (_order_with(line_items="none"), "invalid_payload"),
    ],
)
def test_bad_bodies_fail_with_a_stable_code(
    delivery: Make, body: bytes | dict[str, Any], code: str
) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()

    with pytest.raises(InvalidPayload) as caught:
        normalise_woocommerce(woo(delivery, raw, "order.updated"))

    assert caught.value.code == code


def test_unsupported_topic_and_missing_source(delivery: Make) -> None:
    with pytest.raises(UnsupportedTopic):
        normalise_woocommerce(woo(delivery, b"{}", "product.created"))
    with pytest.raises(InvalidPayload) as caught:
        normalise_woocommerce(
            delivery("woocommerce", b"{}", headers={"x-wc-webhook-topic": "order.created"})
        )
    assert caught.value.code == "missing_source"
