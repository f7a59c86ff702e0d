"""Validate, redeem and release at checkout: exact discounts, stable reasons, idempotency."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.coupon.conftest import CART, cart, count, create, new_customer, redeem_body
from trofast.models import Coupon, CouponCustomerUse, CouponRedemption


def validate(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post("/v1/coupons/validate", json={"cart": CART, **body}, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def uses(session: Session, coupon_id: int) -> int:
    coupon = session.get(Coupon, coupon_id)
    assert coupon is not None
    session.refresh(coupon)
    return coupon.uses


def test_validate_gives_the_discount_and_writes_nothing(
    app_client: TestClient,
    admin_headers: dict[str, str],
    checkout_headers: dict[str, str],
    db_session: Session,
) -> None:
    coupon = create(app_client, admin_headers, discount={"kind": "percent", "percent": 15})

    result = validate(app_client, checkout_headers, code=coupon["code"].lower())

    assert result == {
        "valid": True,
        "reason": None,
        "discount": {"kind": "percent", "amount_minor": 17955, "free_shipping": False, "sku": None},
    }
    assert uses(db_session, coupon["id"]) == 0
    assert count(db_session, CouponRedemption) == 0


@pytest.mark.parametrize(
    ("terms", "body", "reason"),
    [
        ({"valid_until": "2020-01-01T00:00:00Z"}, {}, "expired"),
        ({"valid_from": "2999-01-01T00:00:00Z"}, {}, "not_yet_valid"),
        ({"min_order_minor": 200000}, {}, "minimum_not_met"),
        ({"channels": ["store"]}, {}, "channel_not_allowed"),
        ({"categories": ["shoes"]}, {}, "category_not_allowed"),
        ({"discount": {"kind": "free_product", "sku": "SCARF"}}, {}, "product_not_in_cart"),
        ({}, {"cart": {**CART, "currency": "SEK"}}, "currency_not_allowed"),
        ({"max_uses": None, "per_customer_limit": 1}, {}, "customer_required"),
    ],
)
def test_validate_reasons(
    app_client: TestClient,
    admin_headers: dict[str, str],
    checkout_headers: dict[str, str],
    terms: dict[str, Any],
    body: dict[str, Any],
    reason: str,
) -> None:
    coupon = create(app_client, admin_headers, **terms)

    result = validate(app_client, checkout_headers, code=coupon["code"], **body)

    assert result == {"valid": False, "reason": reason, "discount": None}


def test_unknown_disabled_and_foreign_codes_answer_alike(
    app_client: TestClient,
    admin_headers: dict[str, str],
    checkout_headers: dict[str, str],
    db_session: Session,
) -> None:
    kari = new_customer(db_session)
    ola = new_customer(db_session, "ola@example.no")
    karis = create(app_client, admin_headers, owner_customer_id=kari)
    disabled = create(app_client, admin_headers)
    app_client.post(f"/v1/coupons/{disabled['id']}/disable", headers=admin_headers)

    answers = [
        app_client.post(
            "/v1/coupons/validate",
            json={"code": code, "cart": CART, "customer_id": customer},
            headers=checkout_headers,
        )
        for code, customer in [
            ("ABCD-EFGH-JKLM", None),
            (disabled["code"], None),
            (karis["code"], ola),
            (karis["code"], None),
        ]
    ]

    assert {(a.status_code, a.text) for a in answers} == {
        (200, '{"valid":false,"reason":"unknown_or_invalid","discount":null}')
    }
    assert validate(app_client, checkout_headers, code=karis["code"], customer_id=kari)["valid"]


def test_redeem_binds_the_code_and_is_idempotent_by_order(
    app_client: TestClient,
    admin_headers: dict[str, str],
    checkout_headers: dict[str, str],
    db_session: Session,
) -> None:
    kari = new_customer(db_session)
    coupon = create(app_client, admin_headers)

    first = app_client.post(
        "/v1/coupons/redeem",
        json=redeem_body(coupon["code"], customer_id=kari),
        headers=checkout_headers,
    )
    again = app_client.post(
        "/v1/coupons/redeem",
        json=redeem_body(coupon["code"], customer_id=kari),
        headers=checkout_headers,
    )
    other = app_client.post(
        "/v1/coupons/redeem",
        json=redeem_body(coupon["code"], order="1002"),
        headers=checkout_headers,
    )

    assert first.status_code == 201, first.text
    body = first.json()
    assert body["order"] == {"source": "api", "id": "1001"}
    assert body["discount"] == {
        "kind": "fixed_amount",
        "amount_minor": 10000,
        "free_shipping": False,
        "sku": None,
    }
    assert (body["status"], body["customer_id"], body["replayed"]) == ("active", kari, False)
    assert again.status_code == 200
    assert again.json() == {**body, "replayed": True}
    assert other.status_code == 409
    assert other.json()["code"] == "already_used"
    assert uses(db_session, coupon["id"]) == 1
    assert count(db_session, CouponRedemption) == 1


def test_multi_use_limit_and_per_customer_limit(
    app_client: TestClient,
    admin_headers: dict[str, str],
    checkout_headers: dict[str, str],
    db_session: Session,
) -> None:
    kari = new_customer(db_session)
    ola = new_customer(db_session, "ola@example.no")
    coupon = create(app_client, admin_headers, max_uses=3, per_customer_limit=2)

    def redeem(order: str, customer: int) -> tuple[int, str | None]:
        response = app_client.post(
            "/v1/coupons/redeem",
            json=redeem_body(coupon["code"], order=order, customer_id=customer),
            headers=checkout_headers,
        )
        error = response.json()["code"] if response.status_code >= 400 else None
        return response.status_code, error

    assert redeem("1", kari) == (201, None)
    assert redeem("2", kari) == (201, None)
    assert redeem("3", kari) == (409, "customer_limit_reached")
    assert redeem("4", ola) == (201, None)
    assert redeem("5", ola) == (409, "limit_reached")
    assert uses(db_session, coupon["id"]) == 3
    assert count(db_session, CouponRedemption) == 3
    counters = {row.customer_id: row.uses for row in db_session.query(CouponCustomerUse).all()}
    assert counters == {kari: 2, ola: 1}


def test_refused_redeem_writes_nothing(
    app_client: TestClient,
    admin_headers: dict[str, str],
    checkout_headers: dict[str, str],
    db_session: Session,
) -> None:
    coupon = create(app_client, admin_headers, min_order_minor=500000)

    response = app_client.post(
        "/v1/coupons/redeem", json=redeem_body(coupon["code"]), headers=checkout_headers
    )
    unknown_customer = app_client.post(
        "/v1/coupons/redeem",
        json={**redeem_body(coupon["code"]), "cart": cart(("X", None, 1, 600000))}
        | {"customer_id": 999999},
        headers=checkout_headers,
    )

    assert (response.status_code, response.json()["code"]) == (409, "minimum_not_met")
    assert (unknown_customer.status_code, unknown_customer.json()["code"]) == (
        404,
        "customer_not_found",
    )
    assert uses(db_session, coupon["id"]) == 0
    assert count(db_session, CouponRedemption) == 0


def test_release_gives_the_use_back_once(
    app_client: TestClient,
    admin_headers: dict[str, str],
    pos_headers: dict[str, str],
    db_session: Session,
) -> None:
    kari = new_customer(db_session)
    coupon = create(app_client, admin_headers, max_uses=None, per_customer_limit=1)
    app_client.post(
        "/v1/coupons/redeem",
        json=redeem_body(coupon["code"], customer_id=kari),
        headers=pos_headers,
    )
    order = {"source": "api", "id": "1001"}

    first = app_client.post("/v1/coupons/release", json={"order": order}, headers=pos_headers)
    second = app_client.post("/v1/coupons/release", json={"order": order}, headers=pos_headers)
    again = app_client.post(
        "/v1/coupons/redeem",
        json=redeem_body(coupon["code"], customer_id=kari),
        headers=pos_headers,
    )
    next_order = app_client.post(
        "/v1/coupons/redeem",
        json=redeem_body(coupon["code"], order="1002", customer_id=kari),
        headers=pos_headers,
    )

    assert first.status_code == 200
    [released] = first.json()["released"]
    assert released["status"] == "released"
    assert released["released_at"] is not None
    assert second.json() == first.json()
    assert (again.status_code, again.json()["code"]) == (409, "redemption_released")
    assert next_order.status_code == 201  # the customer's one use came back
    assert uses(db_session, coupon["id"]) == 1


def test_release_of_an_order_that_redeemed_nothing_is_404(
    app_client: TestClient, checkout_headers: dict[str, str]
) -> None:
    response = app_client.post(
        "/v1/coupons/release",
        json={"order": {"source": "api", "id": "404"}},
        headers=checkout_headers,
    )

    assert (response.status_code, response.json()["code"]) == (404, "redemption_not_found")
