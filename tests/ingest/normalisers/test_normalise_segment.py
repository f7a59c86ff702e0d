"""Golden tests of the Segment (e-commerce spec v2) normaliser."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from trofast.ingest.normalisers import (
    InvalidPayload,
    RawDelivery,
    make_segment_normaliser,
    normalise_segment,
)
from trofast.ingest.schemas import (
    CartUpdated,
    CustomerUpserted,
    OrderPlaced,
    OrderRefunded,
    ProductViewed,
)
from trofast.kit.money import to_minor

from .support import RECEIVED_AT, fixture_bytes

Make = Callable[..., RawDelivery]


def test_batch_maps_identify_order_and_refund_and_skips_the_rest(delivery: Make) -> None:
    # Given a batch with identify, an order, a refund, a cart without currency and noise
    raw = delivery("segment", fixture_bytes("segment_batch_nok.json"), source_name="web")

    # When
    customer, order_event, refund_event = normalise_segment(raw)

    # Then
    assert isinstance(customer, CustomerUpserted)
    assert customer.idempotency_key == "segment:ajs-next-1f2e3d4c"
    assert customer.source == "segment:web"
    assert customer.customer.external_id == "member-1088"
    assert customer.customer.email == "lars.holm@example.dk"
    assert customer.customer.phone == "+4520123456"
    assert (customer.customer.first_name, customer.customer.last_name) == ("Lars", "Holm")

    assert isinstance(order_event, OrderPlaced)
    assert order_event.idempotency_key == "segment:ajs-next-9a8b7c6d"
    assert order_event.occurred_at == datetime(2026, 3, 10, 19, 0, 0, 120000, tzinfo=UTC)
    order = order_event.order
    assert order.id == "DK-20260310-0042"
    assert order.customer is not None
    assert (order.customer.external_id, order.customer.email) == (
        "member-1088",
        "lars.holm@example.dk",
    )
    assert order.currency == "DKK"
    assert [
        (line.id, line.sku, line.category, line.quantity, to_minor(line.unit_price, "DKK"))
        for line in order.lines
    ] == [("p-311", "KAFFE-500", "Kaffe", 4, 8950), ("p-540", "KANDE-1L", "Udstyr", 1, 72100)]
    assert to_minor(order.discount, "DKK") == 4900
    assert to_minor(order.shipping, "DKK") == 4900
    assert to_minor(order.tax, "DKK") == 25750
    assert order.total is not None
    assert to_minor(order.total, "DKK") == 133650
    assert 4 * 8950 + 72100 - 4900 + 4900 + 25750 == 133650
    assert order.financial_status == "paid"
    assert order.discount_codes == ["FORAAR"]

    assert isinstance(refund_event, OrderRefunded)
    assert refund_event.order_id == "DK-20260310-0042"
    refund = refund_event.refund
    assert (refund.id, refund.currency) == ("ajs-next-5e6f7a8b", "DKK")
    assert to_minor(refund.amount, "DKK") == 17900
    assert [(r.line_id, r.quantity, to_minor(r.amount, "DKK")) for r in refund.lines] == [
        ("p-311", 2, 17900)
    ]


def test_cart_without_currency_uses_the_source_default(delivery: Make) -> None:
    raw = delivery("segment", fixture_bytes("segment_batch_nok.json"))

    events = make_segment_normaliser("DKK")(raw)

    [cart] = [event for event in events if isinstance(event, CartUpdated)]
    assert cart.checkout.id == "c-77"
    assert cart.checkout.currency == "DKK"
    assert cart.checkout.customer is None
    assert to_minor(cart.checkout.total, "DKK") == 8950
    assert [(line.sku, line.quantity) for line in cart.checkout.lines] == [("KAFFE-500", 1)]


def test_product_viewed_keeps_the_anonymous_id(delivery: Make) -> None:
    message = {
        "type": "track",
        "event": "Product Viewed",
        "messageId": "m-1",
        "anonymousId": "anon-9",
        "properties": {"product_id": "p-9", "name": "Te", "category": "Drikke"},
        "timestamp": "2026-03-01T10:00:00+01:00",
    }

    [event] = normalise_segment(delivery("segment", message))

    assert isinstance(event, ProductViewed)
    assert (event.anonymous_id, event.customer) == ("anon-9", None)
    assert (event.product.sku, event.product.category) == ("p-9", "Drikke")
    assert event.occurred_at == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_repeated_product_in_one_order_gets_distinct_line_ids(delivery: Make) -> None:
    product = {"product_id": "p-1", "price": "10", "quantity": 1}
    message = {
        "type": "track",
        "event": "Order Completed",
        "messageId": "m-2",
        "properties": {"order_id": "o-1", "currency": "EUR", "products": [product, product]},
    }

    [event] = normalise_segment(delivery("segment", message))

    assert isinstance(event, OrderPlaced)
    assert [line.id for line in event.order.lines] == ["p-1", "p-1#2"]
    assert event.occurred_at == RECEIVED_AT  # no timestamp in the message


def _order(**properties: Any) -> dict[str, Any]:
    base = {"order_id": "o-1", "currency": "EUR", "total": "10.00"}
    return {
        "type": "track",
        "event": "Order Completed",
        "messageId": "m-3",
        "timestamp": "2026-03-01T10:00:00Z",
        "properties": base | properties,
    }


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not json", "invalid_json"),
        (b"[]", "invalid_payload"),
        (_order(currency="EURO"), "unknown_currency"),
        (_order(total=-5), "negative_amount"),
        (_order(total="1.001"), "invalid_amount_precision"),
        (_order(products=[{"product_id": "p", "price": 1, "quantity": -1}]), "negative_quantity"),
        (_order() | {"timestamp": "2026-03-01T10:00:00"}, "naive_timestamp"),
        (_order() | {"messageId": None}, "invalid_payload"),
    ],
)
def test_bad_messages_fail_with_a_stable_code(
    delivery: Make, body: bytes | dict[str, Any], code: str
) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()

    with pytest.raises(InvalidPayload) as caught:
        normalise_segment(delivery("segment", raw))

    assert caught.value.code == code
