"""Golden tests of the Shopify normaliser on our own realistic bodies."""

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
    normalise_shopify,
    verify_shopify,
)
from trofast.ingest.schemas import (
    CustomerUpserted,
    OrderPlaced,
    OrderRefunded,
    OrderUpdated,
    ShipmentUpdated,
)
from trofast.kit.money import to_minor

from .support import fixture_bytes, fixture_json

SHOP = "fjellstrikk.myshopify.com"
Make = Callable[..., RawDelivery]


def shopify(make: Make, body: bytes | dict[str, Any], topic: str, **headers: str) -> RawDelivery:
    base = {"x-shopify-shop-domain": SHOP, "x-shopify-topic": topic, "x-shopify-event-id": "e-1"}
    return make("shopify", body, headers={**base, **headers})


def test_order_create_maps_identity_currency_totals_and_every_line_exactly(
    delivery: Make,
) -> None:
    # Given a NOK shop's order paid in EUR, with a code discount and a gift card line
    body = fixture_bytes("shopify_order_multicurrency.json")

    # When
    [event] = normalise_shopify(shopify(delivery, body, "orders/create"))

    # Then: one order.placed in the shop's currency, the EUR total kept as information
    assert isinstance(event, OrderPlaced)
    assert event.idempotency_key == f"shopify:{SHOP}:orders/create:e-1"
    assert event.source == f"shopify:{SHOP}"
    assert event.occurred_at == datetime(2026, 3, 1, 9, 16, 2, tzinfo=UTC)
    order = event.order
    assert order.id == "5738291047365129345"  # > 2**53, exact
    assert order.number == "#NO-1042"
    assert order.customer is not None
    assert order.customer.external_id == "7102938475610293847"
    assert order.customer.email == "kari.nordmann@example.no"
    assert order.customer.phone == "+4741234567"
    assert order.customer.locale == "nb-NO"
    assert (order.currency, order.presentment_currency) == ("NOK", "EUR")
    assert order.presentment_total is not None
    assert to_minor(order.presentment_total, "EUR") == 22599
    lines = [
        (
            line.id,
            line.sku,
            line.quantity,
            to_minor(line.unit_price, "NOK"),
            to_minor(line.discount, "NOK"),
            to_minor(line.tax, "NOK"),
            line.gift_card,
        )
        for line in order.lines
    ]
    assert lines == [
        ("13571234567890123", "ULL-GEN-M", 2, 89900, 17980, 40455, False),
        ("13571234567890999", None, 1, 50000, 0, 0, True),
    ]
    assert to_minor(order.discount, "NOK") == 17980
    assert to_minor(order.shipping, "NOK") == 7900
    assert to_minor(order.tax, "NOK") == 42430
    assert order.total is not None
    assert to_minor(order.total, "NOK") == 262150
    merchandise = sum(line.quantity * to_minor(line.unit_price, "NOK") for line in order.lines)
    assert merchandise - 17980 + 7900 + 42430 == 262150
    assert order.discount_codes == ["VINTER10"]
    assert (order.financial_status, order.fulfillment_status) == ("paid", "unfulfilled")
    assert order.placed_at == datetime(2026, 3, 1, 9, 15, 29, tzinfo=UTC)
    assert order.paid_at == order.placed_at
    assert order.updated_at == datetime(2026, 3, 1, 9, 16, 2, tzinfo=UTC)
    assert order.channel == "web"


def test_orders_cancelled_is_an_updated_snapshot_with_the_cancellation(delivery: Make) -> None:
    body = fixture_json("shopify_order_multicurrency.json")
    body |= {
        "cancelled_at": "2026-03-02T08:00:00+01:00",
        "cancel_reason": "customer",
        "financial_status": "refunded",
        "updated_at": "2026-03-02T08:00:01+01:00",
    }

    [event] = normalise_shopify(shopify(delivery, body, "orders/cancelled"))

    assert isinstance(event, OrderUpdated)
    assert event.order.cancelled_at == datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    assert event.order.cancel_reason == "customer"
    assert event.order.financial_status == "refunded"
    assert event.order.updated_at == datetime(2026, 3, 2, 7, 0, 1, tzinfo=UTC)


def test_pos_order_is_a_store_order_at_its_location(delivery: Make) -> None:
    body = fixture_json("shopify_order_multicurrency.json") | {
        "source_name": "pos",
        "location_id": 66778899001,
    }

    [event] = normalise_shopify(shopify(delivery, body, "orders/paid"))

    assert isinstance(event, OrderUpdated)
    assert (event.order.channel, event.order.store) == ("store", "66778899001")


def test_partial_refund_in_presentment_currency_is_rebuilt_in_shop_money(delivery: Make) -> None:
    # Given a refund whose transaction is in EUR (the buyer's currency), one line + shipping
    body = fixture_bytes("shopify_refund_partial_shipping.json")

    [event] = normalise_shopify(shopify(delivery, body, "refunds/create"))

    # Then the amount is the NOK lines + tax + shipping + shipping tax, failures ignored
    assert isinstance(event, OrderRefunded)
    assert event.order_id == "5738291047365129345"
    refund = event.refund
    assert refund.id == "9988776655443322110"
    assert refund.currency == "NOK"
    assert to_minor(refund.amount, "NOK") == 80910 + 20228 + 7900 + 1975
    assert to_minor(refund.shipping, "NOK") == 7900
    assert [(r.line_id, r.quantity, to_minor(r.amount, "NOK")) for r in refund.lines] == [
        ("13571234567890123", 1, 80910)
    ]
    assert refund.restock is True
    assert refund.reason == "For liten"
    assert event.occurred_at == datetime(2026, 3, 12, 7, 0, tzinfo=UTC)


def test_refund_in_shop_currency_uses_transactions_and_legacy_shipping_adjustment(
    delivery: Make,
) -> None:
    body = fixture_json("shopify_refund_partial_shipping.json")
    body["refund_shipping_lines"] = []
    body["order_adjustments"] = [
        {
            "id": 501,
            "kind": "shipping_refund",
            "amount": "-79.00",
            "amount_set": {"shop_money": {"amount": "-79.00", "currency_code": "NOK"}},
            "tax_amount": "-19.75",
            "tax_amount_set": {"shop_money": {"amount": "-19.75", "currency_code": "NOK"}},
        }
    ]
    body["transactions"] = [
        {"id": 1, "kind": "refund", "status": "success", "amount": "1000.00", "currency": "NOK"},
        {"id": 2, "kind": "refund", "status": "success", "amount": "110.13", "currency": "NOK"},
        {"id": 3, "kind": "sale", "status": "success", "amount": "5.00", "currency": "NOK"},
    ]

    [event] = normalise_shopify(shopify(delivery, body, "refunds/create"))

    assert isinstance(event, OrderRefunded)
    assert to_minor(event.refund.amount, "NOK") == 111013
    assert to_minor(event.refund.shipping, "NOK") == 7900


def test_refund_without_transactions_returns_goods_but_no_money(delivery: Make) -> None:
    body = fixture_json("shopify_refund_partial_shipping.json") | {"transactions": []}

    [event] = normalise_shopify(shopify(delivery, body, "refunds/create"))

    assert isinstance(event, OrderRefunded)
    assert event.refund.amount == 0
    assert len(event.refund.lines) == 1


def test_delivered_fulfillment_event_sets_delivered_at_from_happened_at(delivery: Make) -> None:
    body = fixture_bytes("shopify_fulfillment_event_delivered.json")

    [event] = normalise_shopify(shopify(delivery, body, "fulfillment_events/create"))

    assert isinstance(event, ShipmentUpdated)
    assert event.order_id == "5738291047365129345"
    assert event.shipment.id == "4455667788990011223"
    assert event.shipment.status == "delivered"
    assert event.shipment.delivered_at == datetime(2026, 3, 5, 13, 12, tzinfo=UTC)
    assert event.occurred_at == datetime(2026, 3, 5, 13, 12, tzinfo=UTC)


def test_fulfillment_with_carrier_status_delivered(delivery: Make) -> None:
    body = {
        "id": 4455667788990011223,
        "order_id": 5738291047365129345,
        "status": "success",
        "shipment_status": "delivered",
        "created_at": "2026-03-02T09:00:00+01:00",
        "updated_at": "2026-03-05T14:20:00+01:00",
        "tracking_company": "Posten Norge",
        "tracking_number": "70712345678901234",
    }

    [event] = normalise_shopify(shopify(delivery, body, "fulfillments/update"))

    assert isinstance(event, ShipmentUpdated)
    shipment = event.shipment
    assert (shipment.status, shipment.carrier) == ("delivered", "Posten Norge")
    assert shipment.tracking_number == "70712345678901234"
    assert shipment.shipped_at == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    assert shipment.delivered_at == datetime(2026, 3, 5, 13, 20, tzinfo=UTC)


def test_customer_consents_skip_unconfirmed_double_opt_in(delivery: Make) -> None:
    body = fixture_bytes("shopify_customer_consents.json")

    [event] = normalise_shopify(shopify(delivery, body, "customers/update"))

    assert isinstance(event, CustomerUpserted)
    assert event.customer.external_id == "7102938475610293847"
    assert event.customer.email == "kari.nordmann@example.no"
    assert event.customer.phone == "+4741234567"
    assert [(c.channel, c.granted, c.occurred_at) for c in event.consents] == [
        ("email", True, datetime(2025, 11, 2, 8, 0, tzinfo=UTC))
    ]


def test_legacy_accepts_marketing_becomes_email_consent(delivery: Make) -> None:
    body = {
        "id": 42,
        "email": "ola@example.no",
        "accepts_marketing": False,
        "accepts_marketing_updated_at": "2026-01-05T10:00:00+01:00",
        "updated_at": "2026-01-05T10:00:00+01:00",
    }

    [event] = normalise_shopify(shopify(delivery, body, "customers/create"))

    assert isinstance(event, CustomerUpserted)
    assert [(c.channel, c.granted) for c in event.consents] == [("email", False)]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-shopify-event-id": "ev-9", "x-shopify-webhook-id": "wh-1"}, "ev-9"),
        ({"x-shopify-webhook-id": "wh-1"}, "wh-1"),
        ({"shopify-event-id": "ev-7"}, "ev-7"),
    ],
)
def test_idempotency_key_prefers_event_id_then_webhook_id(
    delivery: Make, headers: dict[str, str], expected: str
) -> None:
    body = fixture_bytes("shopify_fulfillment_event_delivered.json")
    raw = delivery(
        "shopify",
        body,
        headers={"shopify-shop-domain": SHOP, "shopify-topic": "fulfillment_events/create"}
        | headers,
    )

    [event] = normalise_shopify(raw)

    assert event.idempotency_key == f"shopify:{SHOP}:fulfillment_events/create:{expected}"


def test_idempotency_key_falls_back_to_the_body_hash(delivery: Make) -> None:
    body = fixture_bytes("shopify_fulfillment_event_delivered.json")
    raw = delivery("shopify", body, source_name=SHOP, topic="fulfillment_events/create")

    [event] = normalise_shopify(raw)

    digest = hashlib.sha256(body).hexdigest()
    assert event.idempotency_key == f"shopify:{SHOP}:fulfillment_events/create:{digest}"


def test_normalising_twice_gives_identical_events(delivery: Make) -> None:
    raw = shopify(delivery, fixture_bytes("shopify_order_multicurrency.json"), "orders/updated")

    assert normalise_shopify(raw) == normalise_shopify(raw)


# --- signatures ---

SECRET = "shpss_0123456789abcdef"


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_signature_good_with_and_without_x_prefix() -> None:
    body = fixture_bytes("shopify_order_multicurrency.json")

    assert verify_shopify(body, {"X-Shopify-Hmac-Sha256": sign(body)}, SECRET) is True
    assert verify_shopify(body, {"shopify-hmac-sha256": sign(body)}, SECRET) is True


def test_signature_bad_missing_or_without_secret_is_refused() -> None:
    body = fixture_bytes("shopify_order_multicurrency.json")

    assert verify_shopify(body, {"x-shopify-hmac-sha256": sign(body, "other")}, SECRET) is False
    assert verify_shopify(body + b" ", {"x-shopify-hmac-sha256": sign(body)}, SECRET) is False
    assert verify_shopify(body, {}, SECRET) is False
    assert verify_shopify(body, {"x-shopify-hmac-sha256": sign(body, "")}, "") is False


# --- bad input ---


def _order_with(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = fixture_json("shopify_order_multicurrency.json")
    return body | changes


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "invalid_json"),
        (b"[1, 2]", "invalid_payload"),
        (_order_with(line_items={"id": 1}), "invalid_payload"),
        (_order_with(updated_at="2026-03-01T10:16:02"), "naive_timestamp"),
        (_order_with(updated_at="yesterday"), "invalid_timestamp"),
        (_order_with(currency="XYZ"), "unknown_currency"),
        (
            _order_with(total_price_set={"shop_money": {"amount": "12.345"}}),
            "invalid_amount_precision",
        ),
        (_order_with(total_price_set={"shop_money": {"amount": "abc"}}), "invalid_amount"),
        (_order_with(id=5.738291047365129e18), "invalid_id"),
        (_order_with(financial_status="mystery"), "invalid_payload"),
    ],
)
def test_bad_order_bodies_fail_with_a_stable_code(
    delivery: Make, body: bytes | dict[str, Any], code: str
) -> None:
    # json.dumps writes the float id as a JSON number, as a JavaScript sender would.
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()

    with pytest.raises(InvalidPayload) as caught:
        normalise_shopify(shopify(delivery, raw, "orders/create"))

    assert caught.value.code == code
    assert caught.value.status_code == 400


def test_negative_quantity_is_refused(delivery: Make) -> None:
    body = fixture_json("shopify_order_multicurrency.json")
    body["line_items"][0]["quantity"] = -2

    with pytest.raises(InvalidPayload) as caught:
        normalise_shopify(shopify(delivery, body, "orders/create"))

    assert caught.value.code == "negative_quantity"


def test_unknown_topic_is_unsupported(delivery: Make) -> None:
    with pytest.raises(UnsupportedTopic) as caught:
        normalise_shopify(shopify(delivery, b"{}", "products/create"))

    assert caught.value.code == "unsupported_topic"


def test_missing_shop_domain_is_refused(delivery: Make) -> None:
    raw = delivery("shopify", b"{}", headers={"x-shopify-topic": "orders/create"})

    with pytest.raises(InvalidPayload) as caught:
        normalise_shopify(raw)

    assert caught.value.code == "missing_shop_domain"
