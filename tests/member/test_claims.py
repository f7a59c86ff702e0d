"""A member claims a guest receipt by its number and amount, once and only once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.coupon.conftest import client_with
from tests.member.helpers import apply_programme, balance, earned_by_rule, receipt, send_receipts
from trofast.config import Settings
from trofast.models import Order, ReceiptClaim

RECENT = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)


def enrol(client: TestClient, headers: dict[str, str], email: str) -> tuple[int, dict[str, str]]:
    """A member and that member's own token, as the shop front would hold it."""
    member = client.post(
        "/v1/members", json={"customer": {"email": email}, "source": "web"}, headers=headers
    ).json()["member_id"]
    token = client.post(f"/v1/members/{member}/tokens", headers=headers).json()["token"]
    return member, {"Authorization": f"Bearer {token}"}


def claim(client: TestClient, member: int, headers: dict[str, str], **body: Any) -> Any:
    return client.post(f"/v1/members/{member}/claims", json=body, headers=headers)


def owner(session: Session, number: str) -> int | None:
    session.expire_all()
    return session.scalars(select(Order.customer_id).where(Order.number == number)).one()


def test_a_guest_receipt_is_claimed_once_and_earns_its_points(
    app_client: TestClient,
    storefront_headers: dict[str, str],
    pos_headers: dict[str, str],
    db_session: Session,
) -> None:
    apply_programme(db_session)
    kari, karis = enrol(app_client, storefront_headers, "kari@example.no")
    send_receipts(app_client, pos_headers, receipt("R1", "4711", "249.90", at=RECENT.isoformat()))

    first = claim(app_client, kari, karis, number="4711", amount="249.90")
    again = claim(app_client, kari, karis, number="4711", amount="249.90")

    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["member_id"], body["points"]) == (kari, 249)
    assert body["order_id"] == db_session.scalars(select(Order.id)).one()
    assert (again.status_code, again.json()["code"]) == (409, "already_claimed")
    assert owner(db_session, "4711") == kari
    assert earned_by_rule(db_session, kari) == {"welcome": 100, "base": 249}
    assert balance(db_session, kari) == (249, 100)
    claims = db_session.scalars(select(ReceiptClaim)).all()
    assert [(c.customer_id, c.points, c.api_key_id) for c in claims] == [(kari, 249, None)]


def test_the_amount_may_be_sent_as_printed_in_any_exact_form(
    app_client: TestClient,
    storefront_headers: dict[str, str],
    pos_headers: dict[str, str],
    db_session: Session,
) -> None:
    kari, karis = enrol(app_client, storefront_headers, "kari@example.no")
    send_receipts(app_client, pos_headers, receipt("R1", "4711", "250.00", at=RECENT.isoformat()))

    response = claim(app_client, kari, karis, number="4711", amount=250)

    assert response.status_code == 201
    # No programme in force: the receipt is the member's, and earns nothing.
    assert response.json()["points"] == 0
    assert owner(db_session, "4711") == kari


def test_wrong_amount_and_unknown_number_are_the_same_404(
    app_client: TestClient,
    storefront_headers: dict[str, str],
    pos_headers: dict[str, str],
    db_session: Session,
) -> None:
    apply_programme(db_session)
    kari, karis = enrol(app_client, storefront_headers, "kari@example.no")
    send_receipts(app_client, pos_headers, receipt("R1", "4711", "249.90", at=RECENT.isoformat()))

    answers = [
        claim(app_client, kari, karis, number="4711", amount="249.00"),
        claim(app_client, kari, karis, number="4711", amount="249.899"),  # never rounded
        claim(app_client, kari, karis, number="9999", amount="249.90"),
        claim(app_client, kari, karis, number="4711", amount="249.90", store="bergen"),
        claim(app_client, kari, karis, number="4711", amount="249.90", purchased_on="2026-01-01"),
    ]

    assert [(r.status_code, r.json()["code"]) for r in answers] == [(404, "receipt_not_found")] * 5
    assert len({r.json()["error"] for r in answers}) == 1
    assert owner(db_session, "4711") is None
    assert earned_by_rule(db_session, kari) == {"welcome": 100}
    assert db_session.scalar(select(func.count()).select_from(ReceiptClaim)) == 0


def test_a_receipt_of_a_member_is_already_claimed(
    app_client: TestClient,
    storefront_headers: dict[str, str],
    pos_headers: dict[str, str],
    db_session: Session,
) -> None:
    apply_programme(db_session, enrolment="automatic")
    send_receipts(
        app_client,
        pos_headers,
        receipt("R1", "4711", "100.00", member={"email": "ola@example.no"}, at=RECENT.isoformat()),
    )
    kari, karis = enrol(app_client, storefront_headers, "kari@example.no")

    response = claim(app_client, kari, karis, number="4711", amount="100.00")

    assert (response.status_code, response.json()["code"]) == (409, "already_claimed")
    assert owner(db_session, "4711") != kari


def test_a_number_used_in_two_stores_needs_the_store_or_the_date(
    app_client: TestClient,
    storefront_headers: dict[str, str],
    pos_headers: dict[str, str],
    db_session: Session,
) -> None:
    kari, karis = enrol(app_client, storefront_headers, "kari@example.no")
    send_receipts(app_client, pos_headers, receipt("O1", "17", "99.00", at="2026-03-03T12:00:00Z"))
    send_receipts(
        app_client,
        pos_headers,
        receipt("B1", "17", "99.00", at="2026-03-04T12:00:00Z"),
        store="bergen",
    )

    ambiguous = claim(app_client, kari, karis, number="17", amount="99")
    by_store = claim(app_client, kari, karis, number="17", amount="99", store="bergen")
    by_date = claim(app_client, kari, karis, number="17", amount="99", purchased_on="2026-03-03")

    assert (ambiguous.status_code, ambiguous.json()["code"]) == (409, "ambiguous_receipt")
    assert (by_store.status_code, by_date.status_code) == (201, 201)
    assert by_store.json()["order_id"] != by_date.json()["order_id"]


def test_a_non_member_of_an_opt_in_programme_cannot_claim(
    app_client: TestClient,
    admin_headers: dict[str, str],
    pos_headers: dict[str, str],
    db_session: Session,
) -> None:
    apply_programme(db_session)
    send_receipts(
        app_client,
        pos_headers,
        receipt("R1", "1", "10.00", member={"phone": "90000001"}, at=RECENT.isoformat()),
        receipt("R2", "4711", "249.90", at=RECENT.isoformat()),
    )
    guest = owner(db_session, "1")
    assert guest is not None

    response = claim(app_client, guest, admin_headers, number="4711", amount="249.90")

    assert (response.status_code, response.json()["code"]) == (409, "not_a_member")
    assert owner(db_session, "4711") is None


def test_failed_claims_are_throttled_per_member(
    settings: Settings,
    db_session: Session,
    storefront_headers: dict[str, str],
    pos_headers: dict[str, str],
) -> None:
    with client_with(settings, db_session, claim_guess_limit_per_member=3) as client:
        kari, karis = enrol(client, storefront_headers, "kari@example.no")
        ola, olas = enrol(client, storefront_headers, "ola@example.no")
        send_receipts(client, pos_headers, receipt("R1", "4711", "249.90", at=RECENT.isoformat()))
        guesses = [
            claim(client, kari, karis, number="4711", amount=f"{n}.00").status_code
            for n in range(3)
        ]
        blocked = claim(client, kari, karis, number="4711", amount="249.90")
        other = claim(client, ola, olas, number="4711", amount="249.90")

    assert guesses == [404, 404, 404]
    assert (blocked.status_code, blocked.json()["code"]) == (429, "too_many_failed_claims")
    assert int(blocked.headers["Retry-After"]) > 0
    # The brake is Kari's; Ola, with the right amount, claims it.
    assert other.status_code == 201
    assert owner(db_session, "4711") == ola


def test_an_admin_key_may_claim_for_a_member_and_is_recorded(
    app_client: TestClient,
    storefront_headers: dict[str, str],
    admin_headers: dict[str, str],
    pos_headers: dict[str, str],
    db_session: Session,
) -> None:
    kari, _ = enrol(app_client, storefront_headers, "kari@example.no")
    send_receipts(app_client, pos_headers, receipt("R1", "4711", "249.90", at=RECENT.isoformat()))

    response = claim(app_client, kari, admin_headers, number="4711", amount="249.90")
    unknown = claim(app_client, 999_999, admin_headers, number="4711", amount="249.90")

    assert response.status_code == 201
    recorded = db_session.scalars(select(ReceiptClaim)).one()
    assert recorded.api_key_id is not None
    assert (unknown.status_code, unknown.json()["code"]) == (404, "member_not_found")
