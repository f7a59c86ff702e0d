"""POST /v1/events: canonical events applied exactly once."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.ingest.factories import order_body, refund_body, shipment_body
from trofast.ingest.schemas import CanonicalEvent
from trofast.ingest.service import apply_events
from trofast.models import Customer, Delivery, Event, Order, OrderLine, Refund


def count(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_order_placed_is_stored_in_minor_units(
    app_client: TestClient, ingest_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    response = app_client.post("/v1/events", json=order_body(), headers=ingest_headers)

    assert response.status_code == 200, response.text
    result = response.json()["results"][0]
    assert result["status"] == "applied"
    order = app_client.get(f"/v1/orders/{result['order_id']}", headers=admin_headers).json()
    assert order["subtotal_minor"] == 2 * 49950 + 19900
    assert order["discount_minor"] == 2000
    assert order["shipping_minor"] == 4900
    assert order["total_minor"] == 99900 + 19900 - 2000 + 4900
    assert [(line["sku"], line["total_minor"]) for line in order["lines"]] == [
        ("SKU-1", 99900),
        ("SKU-2", 17900),
    ]
    assert order["financial_status"] == "paid"
    assert order["paid_at"] == "2026-03-01T10:00:00Z"


def test_repeat_returns_first_result_and_writes_nothing(
    app_client: TestClient, ingest_headers: dict[str, str], db_session: Session
) -> None:
    first = app_client.post("/v1/events", json=order_body(), headers=ingest_headers).json()
    again = app_client.post("/v1/events", json=order_body(), headers=ingest_headers).json()

    assert again["results"][0]["status"] == "duplicate"
    assert again["results"][0]["order_id"] == first["results"][0]["order_id"]
    assert count(db_session, Order) == 1
    assert count(db_session, OrderLine) == 2
    assert count(db_session, Event) == 1
    statuses = db_session.scalars(select(Delivery.status).order_by(Delivery.id)).all()
    assert statuses == ["processed", "duplicate"]


def test_a_repeat_that_spells_out_a_default_is_the_same_request(
    app_client: TestClient, ingest_headers: dict[str, str], db_session: Session
) -> None:
    # What a sender gets when an upgrade adds an optional field: the stored first event
    # lacks it, the replayed one carries its default. It must stay a duplicate, not a 409.
    app_client.post("/v1/events", json=order_body(key="k1"), headers=ingest_headers)
    explicit = order_body(key="k1", loyalty_opt_in=False, discount_codes=[])

    response = app_client.post("/v1/events", json=explicit, headers=ingest_headers)

    assert response.status_code == 200
    assert response.json()["results"][0]["status"] == "duplicate"
    assert count(db_session, Event) == 1


def test_same_key_other_body_is_409_and_writes_nothing(
    app_client: TestClient, ingest_headers: dict[str, str], db_session: Session
) -> None:
    app_client.post("/v1/events", json=order_body(key="k1"), headers=ingest_headers)
    other = order_body(key="k1", shipping="0")

    response = app_client.post("/v1/events", json=other, headers=ingest_headers)

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert db_session.scalar(select(Order.shipping_minor)) == 4900


def test_batch_applies_all_events_in_order(
    app_client: TestClient, ingest_headers: dict[str, str], db_session: Session
) -> None:
    events = [order_body(str(n), email=f"c{n % 3}@example.no") for n in range(10)]

    response = app_client.post("/v1/events", json={"events": events}, headers=ingest_headers)

    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["applied"] * 10
    assert count(db_session, Order) == 10
    assert count(db_session, Customer) == 3


def test_a_key_repeated_within_one_batch_is_applied_once(
    app_client: TestClient, ingest_headers: dict[str, str], db_session: Session
) -> None:
    app_client.post("/v1/events", json=order_body("1", key="k-old"), headers=ingest_headers)
    events = [
        order_body("2", key="k2"),
        order_body("1", key="k-old"),
        order_body("3", key="k3"),
        order_body("2", key="k2"),
    ]

    response = app_client.post("/v1/events", json={"events": events}, headers=ingest_headers)

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["idempotency_key"], r["status"]) for r in results] == [
        ("k2", "applied"),
        ("k-old", "duplicate"),
        ("k3", "applied"),
        ("k2", "duplicate"),
    ]
    assert results[3]["order_id"] == results[0]["order_id"]
    assert results[3]["customer_id"] == results[0]["customer_id"]
    assert count(db_session, Order) == 3
    assert count(db_session, Event) == 3


def test_a_key_repeated_within_one_batch_with_another_body_is_409_and_writes_nothing(
    app_client: TestClient, ingest_headers: dict[str, str], db_session: Session
) -> None:
    events = [order_body("1", key="k1"), order_body("1", key="k1", shipping="0")]

    response = app_client.post("/v1/events", json={"events": events}, headers=ingest_headers)

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert count(db_session, Order) == 0
    assert count(db_session, Event) == 0


def test_a_shop_channel_key_repeated_within_one_batch_keeps_the_first_body(
    db_session: Session,
) -> None:
    # Shop channels answer a changed repeat as a duplicate (`keep_first`); the stored event,
    # which a parked release or a replay applies again, must be the one that was applied.
    bodies = [order_body("1", key="k1"), order_body("1", key="k1", shipping="0")]
    events = [TypeAdapter(CanonicalEvent).validate_python(body) for body in bodies]

    results = apply_events(db_session, events, None, currency="NOK", keep_first=True)

    assert [r["status"] for r in results] == ["applied", "duplicate"]
    stored = db_session.scalars(select(Event)).one()
    assert stored.payload == events[0].model_dump(mode="json")
    assert db_session.scalar(select(Order.shipping_minor)) == 4900


def test_refund_before_order_is_parked_then_applied(
    app_client: TestClient, ingest_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    parked = app_client.post("/v1/events", json=refund_body(), headers=ingest_headers).json()
    assert parked["results"][0]["status"] == "parked"

    placed = app_client.post("/v1/events", json=order_body(), headers=ingest_headers).json()

    order = app_client.get(
        f"/v1/orders/{placed['results'][0]['order_id']}", headers=admin_headers
    ).json()
    assert order["refunded_minor"] == 49950
    assert order["financial_status"] == "partially_refunded"
    assert order["refunds"][0]["lines"][0]["line_external_id"] == "L1"
    assert order["refunds"][0]["lines"][0]["order_line_id"] == order["lines"][0]["id"]


def test_refund_is_a_fact_applied_once(
    app_client: TestClient, ingest_headers: dict[str, str], db_session: Session
) -> None:
    app_client.post("/v1/events", json=order_body(), headers=ingest_headers)
    app_client.post("/v1/events", json=refund_body(), headers=ingest_headers)
    # The same refund under another event key (a second webhook carrying it) adds nothing.
    again = refund_body()
    again["idempotency_key"] = "another-delivery"
    app_client.post("/v1/events", json=again, headers=ingest_headers)

    assert count(db_session, Refund) == 1
    assert db_session.scalar(select(Order.refunded_minor)) == 49950


def test_delivery_before_fulfilment_sets_delivered_time(
    app_client: TestClient, ingest_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    app_client.post("/v1/events", json=shipment_body(), headers=ingest_headers)
    placed = app_client.post("/v1/events", json=order_body(), headers=ingest_headers).json()

    order = app_client.get(
        f"/v1/orders/{placed['results'][0]['order_id']}", headers=admin_headers
    ).json()
    assert order["delivered_at"] == "2026-03-04T14:30:00Z"
    assert order["shipments"][0]["status"] == "delivered"


def test_older_update_never_overwrites_newer(
    app_client: TestClient, ingest_headers: dict[str, str], db_session: Session
) -> None:
    newer = order_body(
        type_="order.updated", updated_at="2026-03-02T10:00:00Z", financial_status="refunded"
    )
    older = order_body(
        type_="order.updated",
        updated_at="2026-03-01T12:00:00Z",
        financial_status="paid",
        shipping="0",
    )
    app_client.post("/v1/events", json=newer, headers=ingest_headers)

    response = app_client.post("/v1/events", json=older, headers=ingest_headers)

    assert response.status_code == 200
    order = db_session.scalars(select(Order)).one()
    assert order.financial_status == "refunded"
    assert order.shipping_minor == 4900


def test_same_email_on_web_and_store_is_one_customer(
    app_client: TestClient,
    ingest_headers: dict[str, str],
    pos_headers: dict[str, str],
    db_session: Session,
) -> None:
    web = order_body(
        customer={"external_id": "77", "email": "Kari@Example.no", "phone": "+47 912 34 567"},
        email=None,
    )
    app_client.post("/v1/events", json=web, headers=ingest_headers)
    receipt = {
        "store": "oslo-1",
        "receipts": [
            {
                "id": "R-1",
                "occurred_at": "2026-03-03T12:00:00+01:00",
                "member": {"phone": "91234567"},
                "currency": "NOK",
                "lines": [{"id": "1", "sku": "SKU-9", "quantity": 1, "unit_price": "100"}],
            }
        ],
    }

    response = app_client.post("/v1/pos/receipts", json=receipt, headers=pos_headers)

    assert response.status_code == 200, response.text
    assert count(db_session, Customer) == 1
    customer_ids = set(db_session.scalars(select(Order.customer_id)))
    assert len(customer_ids) == 1
    store_order = db_session.scalars(select(Order).where(Order.channel == "store")).one()
    assert store_order.total_minor == 10000
    assert store_order.financial_status == "paid"


def test_pos_batch_sent_twice_is_applied_once(
    app_client: TestClient, pos_headers: dict[str, str], db_session: Session
) -> None:
    batch = {
        "store": "bergen",
        "receipts": [
            {
                "id": f"T{n}",
                "occurred_at": "2026-03-03T12:00:00Z",
                "currency": "NOK",
                "lines": [{"id": "1", "quantity": 1, "unit_price": "10.00"}],
            }
            for n in range(5)
        ],
    }
    app_client.post("/v1/pos/receipts", json=batch, headers=pos_headers)

    again = app_client.post("/v1/pos/receipts", json=batch, headers=pos_headers)

    assert [r["status"] for r in again.json()["results"]] == ["duplicate"] * 5
    assert count(db_session, Order) == 5


def test_guest_order_without_identity_is_kept_and_linkable(
    app_client: TestClient,
    ingest_headers: dict[str, str],
    admin_headers: dict[str, str],
    db_session: Session,
) -> None:
    placed = app_client.post("/v1/events", json=order_body(email=None), headers=ingest_headers)
    order_id = placed.json()["results"][0]["order_id"]
    customer = app_client.post(
        "/v1/events",
        json={
            "idempotency_key": "c1",
            "type": "customer.upserted",
            "occurred_at": "2026-03-02T00:00:00Z",
            "customer": {"email": "a@b.no"},
        },
        headers=ingest_headers,
    ).json()["results"][0]["customer_id"]

    linked = app_client.put(
        f"/v1/orders/{order_id}/customer", json={"customer_id": customer}, headers=admin_headers
    )

    assert linked.status_code == 200
    assert linked.json()["customer_id"] == customer
    detail = app_client.get(f"/v1/customers/{customer}", headers=admin_headers).json()
    assert detail["order_count"] == 1
    assert detail["total_spent_minor"] == 122700


def test_a_receipt_with_two_lines_of_one_id_is_refused_and_nothing_written(
    app_client: TestClient, pos_headers: dict[str, str], db_session: Session
) -> None:
    # Found by Schemathesis: the second line hit the unique index and answered 503.
    line = {"id": "1", "quantity": 1, "unit_price": "10"}
    receipt = {
        "store": "oslo-1",
        "receipts": [
            {
                "id": "R-1",
                "occurred_at": "2026-03-03T12:00:00+01:00",
                "currency": "NOK",
                "lines": [line, {**line, "quantity": 2}],
            }
        ],
    }

    response = app_client.post("/v1/pos/receipts", json=receipt, headers=pos_headers)

    assert response.status_code == 422
    assert response.json()["code"] == "duplicate_line_id"
    assert count(db_session, Order) == 0
