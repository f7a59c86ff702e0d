"""Enrolment through the API, at the till and at checkout: one member per person, consent per
channel with time and source, and the welcome bonus exactly once."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.member.helpers import apply_programme, balance, earned_by_rule, receipt, send_receipts
from trofast.models import Consent, Customer, CustomerIdentity


def enrol_body(**customer: object) -> dict[str, object]:
    return {
        "customer": customer or {"email": "Kari@Example.no", "first_name": "Kari"},
        "consents": [
            {"channel": "email", "granted": True},
            {"channel": "sms", "granted": False, "occurred_at": "2026-03-01T09:00:00+01:00"},
        ],
        "source": "web",
    }


def consents(session: Session, customer_id: int) -> list[tuple[str, bool, str]]:
    rows = session.scalars(
        select(Consent).where(Consent.customer_id == customer_id).order_by(Consent.id)
    )
    return [(c.channel, c.granted, c.source) for c in rows]


def test_enrolling_twice_is_one_member_201_then_200(
    app_client: TestClient, storefront_headers: dict[str, str], db_session: Session
) -> None:
    apply_programme(db_session)
    before = datetime.now(UTC)

    first = app_client.post("/v1/members", json=enrol_body(), headers=storefront_headers)
    again = app_client.post(
        "/v1/members",
        json=enrol_body(email="  KARI@example.no ", first_name="Kari"),
        headers=storefront_headers,
    )

    assert (first.status_code, again.status_code) == (201, 200)
    one, two = first.json(), again.json()
    assert one["member_id"] == two["member_id"]
    assert (one["enrolled"], one["welcome_points"]) == (True, 100)
    assert (two["enrolled"], two["welcome_points"]) == (False, 0)
    assert datetime.fromisoformat(one["enrolled_at"]) >= before.replace(microsecond=0)
    assert two["enrolled_at"] == one["enrolled_at"]
    member = db_session.get(Customer, one["member_id"])
    assert member is not None
    db_session.refresh(member)
    assert (member.is_member, member.email, member.first_name) == (True, "kari@example.no", "Kari")
    assert db_session.scalar(select(func.count()).select_from(Customer)) == 1
    # The same answers again write no second consent row.
    assert consents(db_session, member.id) == [("email", True, "web"), ("sms", False, "web")]
    assert earned_by_rule(db_session, member.id) == {"welcome": 100}
    assert balance(db_session, member.id) == (0, 100)


def test_consent_rows_keep_their_time_and_the_source(
    app_client: TestClient, storefront_headers: dict[str, str], db_session: Session
) -> None:
    response = app_client.post("/v1/members", json=enrol_body(), headers=storefront_headers)

    assert response.status_code == 201
    body = response.json()
    assert sorted((c["channel"], c["granted"], c["source"]) for c in body["consents"]) == [
        ("email", True, "web"),
        ("sms", False, "web"),
    ]
    sms = next(c for c in body["consents"] if c["channel"] == "sms")
    assert datetime.fromisoformat(sms["occurred_at"]) == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    # Without a programme there is no welcome bonus, yet the customer is a member.
    assert body["welcome_points"] == 0


def test_a_changed_consent_is_appended_not_overwritten(
    app_client: TestClient, storefront_headers: dict[str, str], db_session: Session
) -> None:
    app_client.post("/v1/members", json=enrol_body(), headers=storefront_headers)
    changed = enrol_body()
    changed["consents"] = [{"channel": "email", "granted": False}]

    response = app_client.post("/v1/members", json=changed, headers=storefront_headers)

    assert response.status_code == 200
    member = response.json()["member_id"]
    assert consents(db_session, member) == [
        ("email", True, "web"),
        ("sms", False, "web"),
        ("email", False, "web"),
    ]
    in_force = {c["channel"]: c["granted"] for c in response.json()["consents"]}
    assert in_force == {"email": False, "sms": False}


def test_a_known_customer_is_enrolled_not_duplicated(
    app_client: TestClient,
    pos_headers: dict[str, str],
    storefront_headers: dict[str, str],
    db_session: Session,
) -> None:
    apply_programme(db_session)
    # A guest who bought once with a phone number: a customer, not a member.
    send_receipts(
        app_client, pos_headers, receipt("R1", "1001", "100.00", member={"phone": "91234567"})
    )
    customer = db_session.scalars(select(Customer)).one()
    assert customer.is_member is False

    response = app_client.post(
        "/v1/members",
        json=enrol_body(phone="+47 912 34 567", email="kari@example.no"),
        headers=storefront_headers,
    )

    assert response.status_code == 201
    assert response.json()["member_id"] == customer.id
    kinds = db_session.scalars(
        select(CustomerIdentity.kind)
        .where(CustomerIdentity.customer_id == customer.id)
        .order_by(CustomerIdentity.kind)
    ).all()
    assert list(kinds) == ["email", "phone"]
    # The receipt bought before joining earns nothing; the welcome bonus does.
    assert earned_by_rule(db_session, customer.id) == {"welcome": 100}


def test_enrolment_at_the_till_has_the_same_semantics(
    app_client: TestClient, pos_headers: dict[str, str], db_session: Session
) -> None:
    apply_programme(db_session)
    body = {"customer": {"card_number": "CARD-0042"}, "consents": [], "source": "pos:oslo-1"}

    first = app_client.post("/v1/pos/members", json=body, headers=pos_headers)
    again = app_client.post("/v1/pos/members", json=body, headers=pos_headers)

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["member_id"] == again.json()["member_id"]
    assert (first.json()["welcome_points"], again.json()["welcome_points"]) == (100, 0)


def test_checkout_opt_in_enrols_and_gives_the_welcome_bonus_once(
    app_client: TestClient,
    pos_headers: dict[str, str],
    storefront_headers: dict[str, str],
    db_session: Session,
) -> None:
    apply_programme(db_session)
    member = {"email": "ola@example.no"}

    send_receipts(
        app_client,
        pos_headers,
        receipt("R1", "1001", "250.00", member=member, opt_in=True),
        receipt("R2", "1002", "50.00", member=member, opt_in=True, at="2026-03-04T12:00:00Z"),
    )
    later = app_client.post(
        "/v1/members", json=enrol_body(email="ola@example.no"), headers=storefront_headers
    )

    customer = db_session.scalars(select(Customer)).one()
    db_session.refresh(customer)
    assert (customer.is_member, customer.enrolled_at) == (
        True,
        datetime(2026, 3, 3, 12, 0, tzinfo=UTC),
    )
    assert (later.status_code, later.json()["welcome_points"]) == (200, 0)
    assert earned_by_rule(db_session, customer.id) == {"welcome": 100, "base": 300}


def test_enrolment_needs_an_identity_and_valid_keys(
    app_client: TestClient, storefront_headers: dict[str, str], db_session: Session
) -> None:
    # (body, reason): a stable reason is the error's code, any other is
    # `validation_error` with the reason in `detail`.
    cases = [
        ({"customer": {"first_name": "Kari"}, "source": "web"}, "missing_identity"),
        ({"customer": {"phone": "12"}, "source": "web"}, "invalid_phone"),
        ({"customer": {"email": "no-at-sign"}, "source": "web"}, "invalid_email"),
        (
            {"customer": {"email": "k@x.no", "first_name": "K\u0000"}, "source": "web"},
            "nul_character",
        ),
        (
            {
                "customer": {"email": "k@x.no"},
                "consents": [
                    {"channel": "sms", "granted": True},
                    {"channel": "sms", "granted": False},
                ],
                "source": "web",
            },
            "duplicate_channel",
        ),
    ]
    for body, code in cases:
        response = app_client.post("/v1/members", json=body, headers=storefront_headers)
        error = response.json()
        stable = code in ("missing_identity", "invalid_phone", "invalid_email")
        assert (response.status_code, error["code"], error["detail"][0]["type"]) == (
            422,
            code if stable else "validation_error",
            code,
        ), body
    assert db_session.scalar(select(func.count()).select_from(Customer)) == 0


def test_only_storefront_and_admin_keys_enrol(
    app_client: TestClient,
    pos_headers: dict[str, str],
    ingest_headers: dict[str, str],
    admin_headers: dict[str, str],
    storefront_headers: dict[str, str],
) -> None:
    for headers in (pos_headers, ingest_headers):
        response = app_client.post("/v1/members", json=enrol_body(), headers=headers)
        assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope")
    for headers in (storefront_headers, ingest_headers):
        response = app_client.post("/v1/pos/members", json=enrol_body(), headers=headers)
        assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope")
    assert (
        app_client.post("/v1/members", json=enrol_body(), headers=admin_headers).status_code == 201
    )
