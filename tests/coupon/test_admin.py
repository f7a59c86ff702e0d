"""Managing coupons: create one or a batch, list, get, disable; who may do it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.coupon.conftest import CART, count, create, new_customer
from trofast.models import Coupon


def test_create_generated_single_use_coupon(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session
) -> None:
    coupon = create(app_client, admin_headers, prefix="vip", note="goodwill")

    assert coupon["code"].startswith("VIP-")
    assert len(coupon["code"]) == 18
    assert coupon["discount"] == {"kind": "fixed_amount", "amount_minor": 10000}
    assert (coupon["max_uses"], coupon["uses"], coupon["currency"]) == (1, 0, "NOK")
    assert (coupon["origin"], coupon["origin_ref"], coupon["note"]) == ("manual", None, "goodwill")
    stored = db_session.get(Coupon, coupon["id"])
    assert stored is not None
    assert stored.code == coupon["code"].replace("-", "")


def test_chosen_code_is_normalised_and_unique(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session
) -> None:
    first = create(app_client, admin_headers, code="summer-25", max_uses=None)

    again = app_client.post(
        "/v1/coupons",
        json={"code": "SUMMER25", "discount": {"kind": "free_shipping"}},
        headers=admin_headers,
    )

    assert first["code"] == "SUMMER-25"
    assert again.status_code == 409
    assert again.json()["code"] == "code_taken"
    assert count(db_session, Coupon) == 1


def test_batch_for_a_campaign(app_client: TestClient, admin_headers: dict[str, str]) -> None:
    response = app_client.post(
        "/v1/coupons/batches",
        json={
            "campaign": "black-friday",
            "count": 25,
            "discount": {"kind": "percent", "percent": 20},
            "min_order_minor": 50000,
        },
        headers=admin_headers,
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["count"] == 25
    assert len({c["code"] for c in body["coupons"]}) == 25
    assert {c["campaign"] for c in body["coupons"]} == {"black-friday"}
    listed = app_client.get(
        "/v1/coupons", params={"campaign": "black-friday", "limit": 10}, headers=admin_headers
    ).json()
    assert [c["id"] for c in listed] == [c["id"] for c in body["coupons"][:10]]
    rest = app_client.get(
        "/v1/coupons",
        params={"campaign": "black-friday", "after": listed[-1]["id"], "limit": 100},
        headers=admin_headers,
    ).json()
    assert len(rest) == 15


def test_empty_validity_window_is_refused_and_nothing_written(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session
) -> None:
    response = app_client.post(
        "/v1/coupons",
        json={
            "discount": {"kind": "free_shipping"},
            "valid_from": "2026-03-01T00:00:00Z",
            "valid_until": "2026-03-01T01:00:00+01:00",
        },
        headers=admin_headers,
    )

    assert response.status_code == 409
    assert response.json()["code"] == "empty_validity_window"
    assert count(db_session, Coupon) == 0


def test_owner_must_exist(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session
) -> None:
    response = app_client.post(
        "/v1/coupons",
        json={"discount": {"kind": "free_shipping"}, "owner_customer_id": 999999},
        headers=admin_headers,
    )

    assert response.status_code == 404
    assert response.json()["code"] == "customer_not_found"
    assert count(db_session, Coupon) == 0


def test_get_and_disable(
    app_client: TestClient,
    admin_headers: dict[str, str],
    checkout_headers: dict[str, str],
) -> None:
    coupon = create(app_client, admin_headers)

    disabled = app_client.post(f"/v1/coupons/{coupon['id']}/disable", headers=admin_headers)
    fetched = app_client.get(f"/v1/coupons/{coupon['id']}", headers=admin_headers)
    validated = app_client.post(
        "/v1/coupons/validate",
        json={"code": coupon["code"], "cart": CART},
        headers=checkout_headers,
    )

    assert disabled.status_code == 200
    assert fetched.json()["disabled_at"] == disabled.json()["disabled_at"] is not None
    assert validated.json() == {"valid": False, "reason": "unknown_or_invalid", "discount": None}
    missing = app_client.get("/v1/coupons/999999", headers=admin_headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "coupon_not_found")


def test_storefront_and_pos_keys_cannot_manage_coupons(
    app_client: TestClient,
    admin_headers: dict[str, str],
    checkout_headers: dict[str, str],
    pos_headers: dict[str, str],
    db_session: Session,
) -> None:
    coupon = create(app_client, admin_headers)
    calls = [
        ("POST", "/v1/coupons", {"discount": {"kind": "free_shipping"}}),
        (
            "POST",
            "/v1/coupons/batches",
            {"campaign": "x", "count": 1, "discount": {"kind": "free_shipping"}},
        ),
        ("GET", "/v1/coupons", None),
        ("GET", f"/v1/coupons/{coupon['id']}", None),
        ("POST", f"/v1/coupons/{coupon['id']}/disable", None),
    ]
    for headers in (checkout_headers, pos_headers):
        for method, path, body in calls:
            response = app_client.request(method, path, json=body, headers=headers)
            assert response.status_code == 403, (method, path)
            assert response.json()["code"] == "insufficient_scope"
    assert count(db_session, Coupon) == 1
    assert db_session.get(Coupon, coupon["id"]).disabled_at is None  # type: ignore[union-attr]


def test_ingest_key_cannot_validate_or_redeem(
    app_client: TestClient, admin_headers: dict[str, str], ingest_headers: dict[str, str]
) -> None:
    coupon = create(app_client, admin_headers)

    response = app_client.post(
        "/v1/coupons/validate", json={"code": coupon["code"], "cart": CART}, headers=ingest_headers
    )

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


def test_member_coupons_lists_only_theirs_with_usability(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session
) -> None:
    kari = new_customer(db_session)
    ola = new_customer(db_session, "ola@example.no")
    mine = create(app_client, admin_headers, owner_customer_id=kari)
    expired = create(
        app_client,
        admin_headers,
        owner_customer_id=kari,
        valid_from="2020-01-01T00:00:00Z",
        valid_until="2020-02-01T00:00:00Z",
    )
    create(app_client, admin_headers, owner_customer_id=ola)

    listed = app_client.get(f"/v1/members/{kari}/coupons", headers=admin_headers).json()

    assert [(c["coupon"]["id"], c["usable"]) for c in listed] == [
        (mine["id"], True),
        (expired["id"], False),
    ]


def test_validity_written_at_the_edge_of_the_calendar_is_kept_as_its_bound(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session
) -> None:
    # Year 1 at +01:00 is an instant in year 0 (found by Schemathesis: it was a 422 for a
    # schema-valid body); it is earlier than any other, as the earliest datetime is.
    response = app_client.post(
        "/v1/coupons",
        json={
            "discount": {"kind": "free_shipping"},
            "valid_from": "0001-01-01T00:00:00+01:00",
            "valid_until": "9999-12-31T23:00:00-05:00",
        },
        headers=admin_headers,
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["valid_from"], body["valid_until"]) == (
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999Z",
    )
    assert count(db_session, Coupon) == 1
