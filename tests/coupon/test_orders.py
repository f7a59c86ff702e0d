"""Orders arriving through ingestion redeem their Trofast codes; cancelled ones release them."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.coupon.conftest import count, create, redeem_body
from tests.ingest.factories import order_body
from trofast.models import Coupon, CouponRedemption, Order


def send(client: TestClient, headers: dict[str, str], *events: dict[str, Any]) -> list[Any]:
    response = client.post("/v1/events", json={"events": list(events)}, headers=headers)
    assert response.status_code == 200, response.text
    results: list[Any] = response.json()["results"]
    return results


def coupon_row(session: Session, coupon_id: int) -> Coupon:
    coupon = session.get(Coupon, coupon_id)
    assert coupon is not None
    session.refresh(coupon)
    return coupon


def cancelled(order_id: str = "1001") -> dict[str, Any]:
    return {
        "idempotency_key": f"cancel:{order_id}",
        "type": "order.cancelled",
        "occurred_at": "2026-03-02T09:00:00Z",
        "order_id": order_id,
        "reason": "customer",
    }


def test_order_with_a_trofast_code_redeems_it_and_ignores_the_shops_own(
    app_client: TestClient,
    admin_headers: dict[str, str],
    ingest_headers: dict[str, str],
    db_session: Session,
) -> None:
    coupon = create(app_client, admin_headers, discount={"kind": "percent", "percent": 10})

    [result] = send(
        app_client,
        ingest_headers,
        order_body(discount_codes=["SHOP-OWN-10", coupon["code"].lower()]),
    )

    [redemption] = db_session.query(CouponRedemption).all()
    assert redemption.order_id == result["order_id"]
    assert (redemption.order_source, redemption.order_ref) == ("api", "1001")
    assert redemption.customer_id == result["customer_id"] is not None
    # 10 % of the undiscounted goods: 2 × 499.50 + 199.00 = 1,198.00 kr.
    assert redemption.discount_minor == 11980
    assert coupon_row(db_session, coupon["id"]).uses == 1


def test_order_update_and_redelivery_do_not_redeem_twice(
    app_client: TestClient,
    admin_headers: dict[str, str],
    ingest_headers: dict[str, str],
    db_session: Session,
) -> None:
    coupon = create(app_client, admin_headers, max_uses=5)
    placed = order_body(discount_codes=[coupon["code"]])
    updated = order_body(
        discount_codes=[coupon["code"]], type_="order.updated", updated_at="2026-03-01T11:00:00Z"
    )

    send(app_client, ingest_headers, placed)
    send(app_client, ingest_headers, updated)
    send(app_client, ingest_headers, placed)

    assert count(db_session, CouponRedemption) == 1
    assert coupon_row(db_session, coupon["id"]).uses == 1


def test_redeemed_at_checkout_then_order_arrives_is_one_use_linked_to_the_order(
    app_client: TestClient,
    admin_headers: dict[str, str],
    checkout_headers: dict[str, str],
    ingest_headers: dict[str, str],
    db_session: Session,
) -> None:
    coupon = create(app_client, admin_headers)
    at_checkout = app_client.post(
        "/v1/coupons/redeem", json=redeem_body(coupon["code"]), headers=checkout_headers
    )

    [result] = send(app_client, ingest_headers, order_body(discount_codes=[coupon["code"]]))

    assert at_checkout.status_code == 201
    [redemption] = db_session.query(CouponRedemption).all()
    db_session.refresh(redemption)
    assert redemption.id == at_checkout.json()["id"]
    assert redemption.order_id == result["order_id"]
    assert coupon_row(db_session, coupon["id"]).uses == 1


def test_cancelled_order_releases_its_code(
    app_client: TestClient,
    admin_headers: dict[str, str],
    ingest_headers: dict[str, str],
    db_session: Session,
) -> None:
    coupon = create(app_client, admin_headers)
    send(app_client, ingest_headers, order_body(discount_codes=[coupon["code"]]))

    send(app_client, ingest_headers, cancelled())

    [redemption] = db_session.query(CouponRedemption).all()
    db_session.refresh(redemption)
    assert redemption.status == "released"
    assert coupon_row(db_session, coupon["id"]).uses == 0
    # The use came back: another order may take it.
    send(app_client, ingest_headers, order_body("1002", discount_codes=[coupon["code"]]))
    assert coupon_row(db_session, coupon["id"]).uses == 1


def test_order_snapshot_that_is_already_cancelled_redeems_nothing(
    app_client: TestClient,
    admin_headers: dict[str, str],
    ingest_headers: dict[str, str],
    db_session: Session,
) -> None:
    coupon = create(app_client, admin_headers)

    send(
        app_client,
        ingest_headers,
        order_body(discount_codes=[coupon["code"]], cancelled_at="2026-03-01T10:00:00Z"),
    )

    assert count(db_session, CouponRedemption) == 0
    assert coupon_row(db_session, coupon["id"]).uses == 0


def test_a_refused_code_is_logged_and_the_order_still_applied(
    app_client: TestClient,
    admin_headers: dict[str, str],
    ingest_headers: dict[str, str],
    db_session: Session,
    caplog: pytest.LogCaptureFixture,
) -> None:
    coupon = create(app_client, admin_headers)
    send(app_client, ingest_headers, order_body("1001", discount_codes=[coupon["code"]]))
    caplog.set_level(logging.WARNING, logger="trofast.coupon.orders")

    [result] = send(app_client, ingest_headers, order_body("1002", discount_codes=[coupon["code"]]))

    assert result["status"] == "applied"
    assert count(db_session, Order) == 2
    assert count(db_session, CouponRedemption) == 1
    assert coupon_row(db_session, coupon["id"]).uses == 1
    refusals = [r for r in caplog.records if getattr(r, "event", None) == "coupon_order_refused"]
    assert [(r.order_id, r.reason) for r in refusals] == [(result["order_id"], "already_used")]  # type: ignore[attr-defined]
