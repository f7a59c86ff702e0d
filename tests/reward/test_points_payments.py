"""Points as payment: the exact arithmetic, the API, idempotency by order, and release."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.ingest.factories import order_body
from tests.member.test_access import token_for
from tests.reward.conftest import available, count, give, new_member
from trofast.ledger.verify import verify
from trofast.models import LedgerTransaction, PointsPayment
from trofast.program.catalogue import PointsPayment as Terms
from trofast.reward.quote import Quote, discount_of, quote

Headers = dict[str, str]
TERMS = Terms(value_minor=Decimal(10), min_points=100, max_points=5000, max_share_percent=50)


@pytest.mark.parametrize(
    ("total", "balance", "requested", "expected"),
    [
        # 50 % of 1,000.00 kr is 500.00 kr = 5,000 points at 10 øre, also the maximum.
        (100_000, 9_000, None, Quote(5000, 5000, 50_000)),
        (100_000, 1_234, None, Quote(1234, 1234, 12_340)),
        # 50 % of 99.99 kr = 49.99 kr (rounded down) → 499 points (4,990 øre).
        (9_999, 9_000, None, Quote(499, 499, 4_990)),
        (100_000, 9_000, 250, Quote(5000, 250, 2_500)),
        (100_000, 9_000, 99, "below_minimum"),
        (100_000, 50, None, "below_minimum"),
        (100_000, 9_000, 5001, "above_maximum"),
        (9_999, 9_000, 500, "above_order_share"),
        (100_000, 200, 300, "insufficient_points"),
    ],
)
def test_quote_golden(
    total: int, balance: int, requested: int | None, expected: Quote | str
) -> None:
    assert quote(TERMS, total, balance, requested) == expected


def test_fractional_point_values_round_down_exactly() -> None:
    terms = Terms(value_minor=Decimal("0.3333"), min_points=1)

    assert discount_of(3, Fraction("0.3333")) == 0
    # 30,000 points × 0.3333 øre = 9,999 øre exactly, no float drift.
    assert quote(terms, 10**6, None, 30_000) == Quote(3_000_300, 30_000, 9_999)
    assert quote(terms, 10**6, None, 2) == "below_minimum"  # worth 0.6666 øre: nothing


def pay_body(points: int = 1000, order: str = "o1", total: int = 100_000) -> dict[str, Any]:
    return {
        "order": {"source": "api", "id": order},
        "order_total_minor": total,
        "currency": "NOK",
        "channel": "store",
        "points": points,
    }


@pytest.fixture
def kari(db_session: Session, catalogue: int) -> int:
    member = new_member(db_session)
    give(db_session, member, 3000, "seed")
    return member


def test_quote_over_the_api_writes_nothing(
    app_client: TestClient, pos_headers: Headers, db_session: Session, kari: int
) -> None:
    transactions = count(db_session, LedgerTransaction)

    response = app_client.post(
        f"/v1/members/{kari}/points-payments/quote",
        json={"order_total_minor": 100_000, "currency": "nok"},
        headers=pos_headers,
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"max_points": 3000, "points": 3000, "discount_minor": 30_000}
    assert count(db_session, LedgerTransaction) == transactions


def test_the_till_pays_with_points_once_per_order(
    app_client: TestClient, pos_headers: Headers, db_session: Session, kari: int
) -> None:
    url = f"/v1/members/{kari}/points-payments"

    first = app_client.post(url, json=pay_body(), headers=pos_headers)
    again = app_client.post(url, json=pay_body(), headers=pos_headers)
    other = app_client.post(url, json=pay_body(points=500), headers=pos_headers)

    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["points"], body["discount_minor"], body["status"]) == (1000, 10_000, "active")
    assert (again.status_code, again.json()["replayed"], again.json()["id"]) == (
        200,
        True,
        body["id"],
    )
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_conflict")
    assert available(db_session, kari) == 2000
    spend = db_session.get(LedgerTransaction, body["ledger_transaction_id"])
    assert spend is not None
    assert (spend.kind, spend.rule, spend.note) == ("spend", "points_payment", "order api:o1")


def test_paying_more_than_the_balance_is_409_and_writes_nothing(
    app_client: TestClient, storefront_headers: Headers, db_session: Session, kari: int
) -> None:
    response = app_client.post(
        f"/v1/members/{kari}/points-payments",
        json=pay_body(points=3001),
        headers=storefront_headers,
    )

    assert (response.status_code, response.json()["code"]) == (409, "insufficient_points")
    assert available(db_session, kari) == 3000
    assert count(db_session, PointsPayment) == 0


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (pay_body(points=50), "below_minimum"),
        (pay_body(points=5001), "above_maximum"),
        (pay_body(points=600, total=10_000), "above_order_share"),
        ({**pay_body(), "currency": "SEK"}, "currency_not_allowed"),
    ],
)
def test_refusals_write_nothing(
    app_client: TestClient,
    pos_headers: Headers,
    db_session: Session,
    kari: int,
    body: dict[str, Any],
    code: str,
) -> None:
    response = app_client.post(
        f"/v1/members/{kari}/points-payments", json=body, headers=pos_headers
    )

    assert (response.status_code, response.json()["code"]) == (409, code)
    assert count(db_session, PointsPayment) == 0
    assert available(db_session, kari) == 3000


def test_a_programme_without_points_payment_refuses(
    app_client: TestClient, pos_headers: Headers, db_session: Session
) -> None:
    from trofast.program import service

    service.apply(db_session, "name: Plain\ncurrency: NOK\n")
    member = new_member(db_session)
    give(db_session, member, 3000, "seed")

    response = app_client.post(
        f"/v1/members/{member}/points-payments", json=pay_body(), headers=pos_headers
    )

    assert (response.status_code, response.json()["code"]) == (409, "points_payment_disabled")


def test_release_returns_the_points_once(
    app_client: TestClient, storefront_headers: Headers, db_session: Session, kari: int
) -> None:
    app_client.post(
        f"/v1/members/{kari}/points-payments", json=pay_body(), headers=storefront_headers
    )
    url = f"/v1/members/{kari}/points-payments/release"
    order = {"order": {"source": "api", "id": "o1"}}

    first = app_client.post(url, json=order, headers=storefront_headers)
    again = app_client.post(url, json=order, headers=storefront_headers)
    unknown = app_client.post(
        url, json={"order": {"source": "api", "id": "nope"}}, headers=storefront_headers
    )

    assert (first.status_code, first.json()["status"]) == (200, "released")
    assert again.json()["restore_transaction_id"] == first.json()["restore_transaction_id"]
    assert (unknown.status_code, unknown.json()["code"]) == (404, "points_payment_not_found")
    assert available(db_session, kari) == 3000
    assert count(db_session, LedgerTransaction, LedgerTransaction.kind == "restore") == 1
    assert verify(db_session) == []


def test_an_order_cancelled_event_releases_the_points(
    app_client: TestClient,
    storefront_headers: Headers,
    ingest_headers: Headers,
    db_session: Session,
    kari: int,
) -> None:
    app_client.post(
        f"/v1/members/{kari}/points-payments",
        json=pay_body(order="1001"),
        headers=storefront_headers,
    )
    cancelled = {
        "idempotency_key": "cancel:1001",
        "type": "order.cancelled",
        "occurred_at": "2026-03-02T09:00:00Z",
        "order_id": "1001",
        "reason": "customer",
    }

    response = app_client.post(
        "/v1/events", json={"events": [order_body(), cancelled]}, headers=ingest_headers
    )

    assert response.status_code == 200, response.text
    assert available(db_session, kari) == 3000
    payment = db_session.query(PointsPayment).one()
    db_session.refresh(payment)
    assert payment.status == "released"
    assert verify(db_session) == []


def test_a_member_token_pays_only_for_its_member(
    app_client: TestClient, storefront_headers: Headers, db_session: Session, kari: int
) -> None:
    ola = new_member(db_session, "ola@example.no")
    olas = token_for(app_client, storefront_headers, ola)

    response = app_client.post(f"/v1/members/{kari}/points-payments", json=pay_body(), headers=olas)

    assert (response.status_code, response.json()["code"]) == (403, "member_token_mismatch")
    assert available(db_session, kari) == 3000


def test_an_ingest_key_cannot_pay(
    app_client: TestClient, ingest_headers: Headers, kari: int
) -> None:
    response = app_client.post(
        f"/v1/members/{kari}/points-payments", json=pay_body(), headers=ingest_headers
    )

    assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope")
