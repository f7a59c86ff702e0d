"""The till finds a member by phone, e-mail, card or the QR code of the member page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.coupon.conftest import client_with
from tests.member.helpers import apply_programme, receipt, send_receipts
from trofast.config import Settings
from trofast.coupon import service as coupons
from trofast.coupon.schemas import CouponIn
from trofast.member import tokens


def enrol(client: TestClient, headers: dict[str, str], **customer: Any) -> int:
    body = {"customer": customer, "source": "web"}
    response = client.post("/v1/members", json=body, headers=headers)
    assert response.status_code == 201, response.text
    member_id: int = response.json()["member_id"]
    return member_id


def coupon(session: Session, owner: int, **terms: Any) -> str:
    spec = CouponIn.model_validate(
        {"discount": {"kind": "fixed_amount", "amount_minor": 5000}, "owner_customer_id": owner}
        | terms
    )
    return coupons.create(session, spec, currency="NOK").display


def lookup(client: TestClient, headers: dict[str, str], **selector: str) -> Any:
    return client.get("/v1/pos/members/lookup", params=selector, headers=headers)


def test_each_selector_finds_the_member_with_balance_tier_rewards_and_coupons(
    app_client: TestClient,
    storefront_headers: dict[str, str],
    pos_headers: dict[str, str],
    db_session: Session,
) -> None:
    apply_programme(db_session)
    kari = enrol(
        app_client,
        storefront_headers,
        email="kari@example.no",
        phone="+4791234567",
        card_number="CARD-7",
        first_name="Kari",
        last_name="nordmann",
    )
    # Bought an hour ago: its points are pending for the 14-day return window.
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    send_receipts(
        app_client,
        pos_headers,
        receipt("R1", "1001", "249.90", member={"card_number": "CARD-7"}, at=an_hour_ago),
    )
    usable = coupon(db_session, kari)
    coupon(db_session, kari, channels=["web"])  # not for a till
    coupon(db_session, kari, valid_until="2020-01-01T00:00:00Z")  # expired
    db_session.flush()
    qr = app_client.get(
        f"/v1/members/{kari}/qr", headers=_token(app_client, storefront_headers, kari)
    )

    selectors = {
        "phone": "912 34 567",  # local form: the shop's default region
        "email": "  Kari@EXAMPLE.no ",
        "card": " CARD-7 ",
        "qr": qr.json()["payload"],
    }
    for name, value in selectors.items():
        response = lookup(app_client, pos_headers, **{name: value})
        assert response.status_code == 200, (name, response.text)
        assert response.json() == {
            "member_id": kari,
            "first_name": "Kari",
            "last_initial": "N",
            "enrolled_at": response.json()["enrolled_at"],
            "balance": {"pending": 249, "available": 100},
            "tier": {"id": "base", "name": "Base"},
            # Not the 1,000-point voucher (100 available), nor web-only free shipping.
            "rewards": [{"id": "tote", "name": "Tote bag", "kind": "custom", "cost": 50}],
            "coupons": [
                {
                    "id": response.json()["coupons"][0]["id"],
                    "code": usable,
                    "discount": {"kind": "fixed_amount", "amount_minor": 5000},
                    "currency": "NOK",
                    "valid_until": None,
                    "min_order_minor": None,
                    "categories": [],
                }
            ],
        }, name


def _token(client: TestClient, headers: dict[str, str], member: int) -> dict[str, str]:
    token = client.post(f"/v1/members/{member}/tokens", headers=headers).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_unknown_malformed_and_non_members_are_one_404(
    app_client: TestClient,
    storefront_headers: dict[str, str],
    pos_headers: dict[str, str],
    settings: Settings,
    db_session: Session,
) -> None:
    apply_programme(db_session)  # opt-in: a guest with a phone is not a member
    send_receipts(
        app_client, pos_headers, receipt("R1", "1001", "10.00", member={"phone": "90000001"})
    )
    kari = enrol(app_client, storefront_headers, email="kari@example.no")
    assert settings.secret_key is not None
    forged = tokens.issue_qr(b"another key" * 4, kari, 4_000_000_000)
    member_token = tokens.issue(
        settings.secret_key.get_secret_value().encode(), kari, 4_000_000_000
    )

    for selector in (
        {"phone": "90000001"},  # a customer, never enrolled
        {"phone": "90000002"},  # nobody
        {"phone": "not a number"},
        {"email": "ola@example.no"},
        {"email": "no-at-sign"},
        {"card": "CARD-404"},
        {"qr": forged},
        {"qr": member_token},  # a member token is not a QR code
        {"qr": "tfq1.garbage"},
    ):
        response = lookup(app_client, pos_headers, **selector)
        assert (response.status_code, response.json()["code"]) == (404, "member_not_found"), (
            selector
        )


def test_an_expired_qr_code_says_so(
    app_client: TestClient,
    storefront_headers: dict[str, str],
    pos_headers: dict[str, str],
    settings: Settings,
) -> None:
    kari = enrol(app_client, storefront_headers, email="kari@example.no")
    assert settings.secret_key is not None
    old = tokens.issue_qr(settings.secret_key.get_secret_value().encode(), kari, 1_700_000_000)

    response = lookup(app_client, pos_headers, qr=old)

    assert (response.status_code, response.json()["code"]) == (404, "qr_expired")


def test_exactly_one_selector(app_client: TestClient, pos_headers: dict[str, str]) -> None:
    for selector in ({}, {"phone": "91234567", "email": "kari@example.no"}):
        response = lookup(app_client, pos_headers, **selector)
        assert (response.status_code, response.json()["code"]) == (422, "selector_required")


def test_only_pos_and_admin_keys_look_up(
    app_client: TestClient,
    storefront_headers: dict[str, str],
    ingest_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    enrol(app_client, storefront_headers, email="kari@example.no")
    for headers in (storefront_headers, ingest_headers):
        response = lookup(app_client, headers, email="kari@example.no")
        assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope")
    assert lookup(app_client, admin_headers, email="kari@example.no").status_code == 200


def test_the_qr_payload_is_signed_long_lived_and_the_members_own(
    app_client: TestClient,
    storefront_headers: dict[str, str],
    settings: Settings,
) -> None:
    kari = enrol(app_client, storefront_headers, email="kari@example.no")

    response = app_client.get(
        f"/v1/members/{kari}/qr", headers=_token(app_client, storefront_headers, kari)
    )

    assert response.status_code == 200
    body = response.json()
    assert body["member_id"] == kari
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(days=364) < expires - datetime.now(UTC) <= timedelta(days=365)
    assert settings.secret_key is not None
    secret = settings.secret_key.get_secret_value().encode()
    assert tokens.read_qr(secret, body["payload"], int(datetime.now(UTC).timestamp())) == kari
    # Not a member token: it cannot read the member's data.
    denied = app_client.get(
        f"/v1/members/{kari}/ledger", headers={"Authorization": f"Bearer {body['payload']}"}
    )
    assert denied.status_code == 401


def test_misses_are_throttled_per_pos_key(
    settings: Settings,
    db_session: Session,
    pos_headers: dict[str, str],
    storefront_headers: dict[str, str],
) -> None:
    with client_with(settings, db_session, lookup_miss_limit_per_key=3) as client:
        enrol(client, storefront_headers, email="kari@example.no")
        misses = [lookup(client, pos_headers, phone=f"9000000{n}").status_code for n in range(3)]
        blocked = lookup(client, pos_headers, email="kari@example.no")

    assert misses == [404, 404, 404]
    assert (blocked.status_code, blocked.json()["code"]) == (429, "too_many_lookup_misses")
    assert int(blocked.headers["Retry-After"]) > 0
