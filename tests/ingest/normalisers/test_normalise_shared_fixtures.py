"""Every normaliser over the vendor sample bodies in ../shared/fixtures (skipped if absent).

The bodies are the platforms' own published examples, so they check the mapping of real
shapes; the main ones are asserted exactly, the rest must at least normalise cleanly.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from trofast.ingest.normalisers import (
    NORMALISERS,
    RawDelivery,
    make_segment_normaliser,
)
from trofast.ingest.schemas import (
    CheckoutStarted,
    CustomerUpserted,
    OrderRefunded,
    OrderUpdated,
    ShipmentUpdated,
)
from trofast.kit.money import to_minor

from .support import RECEIVED_AT, SHARED_FIXTURES

pytestmark = pytest.mark.skipif(
    not SHARED_FIXTURES.is_dir(), reason="../shared/fixtures is not present in this checkout"
)

SHOP = "jsmith.myshopify.com"
SHOPIFY_TOPICS = {
    "shopifyjs_2026-07_abandoned_checkout.json": "checkouts/update",
    "shopifyjs_2026-07_customer.json": "customers/update",
    "shopifyjs_2026-07_fulfillment.json": "fulfillments/create",
    "shopifyjs_2026-07_fulfillment_event.json": "fulfillment_events/create",
    "shopifyjs_2026-07_order_cancelled_refunded.json": "orders/cancelled",
    "shopifyjs_2026-07_order_fulfilled.json": "orders/fulfilled",
    "shopifyjs_2026-07_order_paid_minimal.json": "orders/paid",
    "shopifyjs_2026-07_order_partially_refunded.json": "orders/updated",
    "shopifyjs_2026-07_refund.json": "refunds/create",
    "shopifyjs_2026-07_refund_with_lineitems.json": "refunds/create",
    "triggerdev_CheckoutsCreate.json": "checkouts/create",
    "triggerdev_CustomersCreate.json": "customers/create",
    "triggerdev_Fulfillment.json": "fulfillments/update",
    "triggerdev_FulfillmentEventsCreate.json": "fulfillment_events/create",
    "triggerdev_Refund.json": "refunds/create",
}
WOO_TOPICS = {
    "wcdocs_v3_customer_created.json": "customer.created",
    "wcdocs_v3_order_completed_with_refunds.json": "order.updated",
    "wcdocs_v3_order_created.json": "order.created",
    "wcdocs_v3_order_updated.json": "order.updated",
}


def shopify(name: str) -> list[object]:
    raw = RawDelivery(
        channel="shopify",
        body=(SHARED_FIXTURES / "shopify" / name).read_bytes(),
        received_at=RECEIVED_AT,
        headers={"X-Shopify-Event-Id": "7"},
        source_name=SHOP,
        topic=SHOPIFY_TOPICS[name],
    )
    return list(NORMALISERS["shopify"](raw))


def woo(name: str) -> list[object]:
    raw = RawDelivery(
        channel="woocommerce",
        body=(SHARED_FIXTURES / "woocommerce" / name).read_bytes(),
        received_at=RECEIVED_AT,
        headers={"x-wc-webhook-delivery-id": "3"},
        source_name="example.com",
        topic=WOO_TOPICS[name],
    )
    return list(NORMALISERS["woocommerce"](raw))


@pytest.mark.parametrize("name", sorted(SHOPIFY_TOPICS))
def test_every_shopify_sample_gives_one_event(name: str) -> None:
    assert len(shopify(name)) == 1


@pytest.mark.parametrize("name", sorted(WOO_TOPICS))
def test_every_woocommerce_sample_normalises(name: str) -> None:
    assert len(woo(name)) == (3 if "refunds" in name else 1)


def test_shopify_partially_refunded_order_exactly() -> None:
    [event] = shopify("shopifyjs_2026-07_order_partially_refunded.json")

    assert isinstance(event, OrderUpdated)
    order = event.order
    assert order.customer is not None
    assert (order.customer.external_id, order.customer.email) == (
        "207119551",
        "bob.norman@mail.example.com",
    )
    assert order.customer.phone == "+16136120707"
    assert order.currency == "USD"
    assert [
        (line.id, line.quantity, to_minor(line.unit_price, "USD"), to_minor(line.discount, "USD"))
        for line in order.lines
    ] == [
        ("466157049", 1, 19900, 334),
        ("518995019", 1, 19900, 333),
        ("703073504", 1, 19900, 333),
    ]
    assert [to_minor(line.tax, "USD") for line in order.lines] == [398, 398, 398]
    assert order.total is not None
    assert (to_minor(order.total, "USD"), to_minor(order.discount, "USD")) == (59894, 1000)
    assert to_minor(order.tax, "USD") == 1194
    assert order.financial_status == "partially_refunded"
    assert order.discount_codes == ["TENOFF"]


def test_shopify_guest_order_in_eur_has_no_customer() -> None:
    [event] = shopify("shopifyjs_2026-07_order_paid_minimal.json")

    assert isinstance(event, OrderUpdated)
    assert event.order.customer is None
    assert event.order.currency == "EUR"
    assert [(line.quantity, to_minor(line.unit_price, "EUR")) for line in event.order.lines] == [
        (3, 7499)
    ]
    assert event.order.total is not None
    assert to_minor(event.order.total, "EUR") == 23847


def test_shopify_refunds_exactly() -> None:
    [with_lines] = shopify("shopifyjs_2026-07_refund_with_lineitems.json")
    [big_ids] = shopify("triggerdev_Refund.json")

    assert isinstance(with_lines, OrderRefunded)
    assert to_minor(with_lines.refund.amount, "USD") == 20900
    assert [(r.line_id, to_minor(r.amount, "USD")) for r in with_lines.refund.lines] == [
        ("703073504", 19566),
        ("466157049", 19567),
    ]
    assert isinstance(big_ids, OrderRefunded)
    assert big_ids.order_id == "820982911946154500"
    assert big_ids.refund.amount == 0  # no transactions: goods back, no money
    assert big_ids.occurred_at == RECEIVED_AT  # the sample has no created_at


def test_shopify_customer_fulfilment_and_checkout() -> None:
    [customer] = shopify("shopifyjs_2026-07_customer.json")
    [shipment] = shopify("shopifyjs_2026-07_fulfillment_event.json")
    [checkout] = shopify("triggerdev_CheckoutsCreate.json")

    assert isinstance(customer, CustomerUpserted)
    assert [(c.channel, c.granted) for c in customer.consents] == [
        ("email", False),
        ("sms", False),
    ]
    assert isinstance(shipment, ShipmentUpdated)
    assert (shipment.order_id, shipment.shipment.id) == ("450789469", "255858046")
    assert shipment.shipment.status == "in_transit"
    assert isinstance(checkout, CheckoutStarted)
    assert to_minor(checkout.checkout.total, "USD") == 39800


def test_woocommerce_completed_order_with_refunds_exactly() -> None:
    order, first, second = woo("wcdocs_v3_order_completed_with_refunds.json")

    assert isinstance(order, OrderUpdated)
    assert order.order.customer is not None
    assert order.order.customer.external_id == "26"
    assert order.order.customer.email == "joao.silva@example.com"
    assert [(line.id, to_minor(line.unit_price, "USD")) for line in order.order.lines] == [
        ("311", 900),
        ("313", 2000),
    ]
    assert order.order.total is not None
    assert to_minor(order.order.total, "USD") == 3900
    assert to_minor(order.order.shipping, "USD") == 1000
    assert order.order.updated_at == datetime(2017, 3, 21, 19, 54, 51, tzinfo=UTC)
    assert isinstance(first, OrderRefunded)
    assert isinstance(second, OrderRefunded)
    assert [(r.refund.id, to_minor(r.refund.amount, "USD")) for r in (first, second)] == [
        ("726", 1000),
        ("724", 900),
    ]


def test_segment_samples_and_batch() -> None:
    normalise = make_segment_normaliser("USD")
    folder = SHARED_FIXTURES / "segment"
    batch = RawDelivery(
        channel="segment",
        body=(folder / "segment_http_batch_example.json").read_bytes(),
        received_at=RECEIVED_AT,
    )

    events = normalise(batch)

    assert [event.type for event in events] == [
        "product.viewed",
        "product.viewed",
        "cart.updated",
        "checkout.started",
        "order.placed",
        "order.updated",
        "order.refunded",
        "order.cancelled",
    ]
    for path in sorted(folder.glob("segment_v2_*.json")):
        raw = RawDelivery(channel="segment", body=path.read_bytes(), received_at=RECEIVED_AT)
        assert len(normalise(raw)) <= 1
