"""The ledger API: history with reasons, admin adjustments with idempotency keys."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.ledger.conftest import T0
from trofast.ledger import service
from trofast.ledger.core import Reasons
from trofast.models import ApiKey, LedgerTransaction


def post_adjustment(
    client: TestClient, headers: dict[str, str], member: int, key: str, body: dict[str, object]
) -> tuple[int, dict[str, object]]:
    r = client.post(
        f"/v1/members/{member}/adjustments", json=body, headers={**headers, "Idempotency-Key": key}
    )
    return r.status_code, r.json()


def test_adjustment_is_recorded_with_reason_and_acting_key_and_replays(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session, member: int
) -> None:
    body = {"points": 250, "reason": "goodwill: late delivery"}
    status, first = post_adjustment(app_client, admin_headers, member, "k1", body)
    assert status == 201
    key_id = db_session.scalar(select(ApiKey.id))
    assert first["kind"] == "adjust"
    assert first["change"] == 250
    assert first["replayed"] is False
    assert first["reasons"]["note"] == "goodwill: late delivery"  # type: ignore[index]
    assert first["reasons"]["api_key_id"] == key_id  # type: ignore[index]

    status, again = post_adjustment(app_client, admin_headers, member, "k1", body)
    assert status == 200
    assert again["id"] == first["id"]
    assert again["replayed"] is True

    status, conflict = post_adjustment(
        app_client, admin_headers, member, "k1", {**body, "points": 251}
    )
    assert status == 409
    assert conflict["code"] == "idempotency_conflict"
    assert db_session.scalar(select(func.count()).select_from(LedgerTransaction)) == 1


def test_a_debit_beyond_the_balance_is_409_and_writes_nothing(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session, member: int
) -> None:
    post_adjustment(app_client, admin_headers, member, "k1", {"points": 10, "reason": "welcome"})
    status, error = post_adjustment(
        app_client, admin_headers, member, "k2", {"points": -11, "reason": "correction"}
    )
    assert status == 409
    assert error == {
        "error": "11 points requested, 10 available",
        "code": "insufficient_points",
        "detail": {"requested": 11, "available": 10},
    }
    assert db_session.scalar(select(func.count()).select_from(LedgerTransaction)) == 1


def test_adjustment_bad_requests(
    app_client: TestClient, admin_headers: dict[str, str], member: int
) -> None:
    status, error = post_adjustment(app_client, admin_headers, member, "k", {"points": 5})
    assert (status, error["code"]) == (422, "validation_error")
    status, error = post_adjustment(
        app_client, admin_headers, member, "k", {"points": 0, "reason": "nothing"}
    )
    assert (status, error["code"]) == (400, "invalid_ledger_request")
    status, error = post_adjustment(
        app_client, admin_headers, 10**9, "k", {"points": 5, "reason": "nobody"}
    )
    assert (status, error["code"]) == (404, "member_not_found")
    r = app_client.post(f"/v1/members/{member}/adjustments", json={"points": 5, "reason": "abc"})
    assert r.status_code == 401
    r = app_client.post(
        f"/v1/members/{member}/adjustments",
        json={"points": 5, "reason": "abc"},
        headers=admin_headers,
    )
    assert r.status_code == 422  # no Idempotency-Key header


def test_history_shows_reasons_newest_first_with_balance_and_pages(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session, member: int
) -> None:
    reasons = Reasons(programme_version=3, rule="points-per-krone")
    service.earn(db_session, member, "e1", 120, reasons=reasons, now=T0)
    service.earn(db_session, member, "e2", 30, available_at=T0.replace(year=2099), now=T0)
    service.spend(db_session, member, "s1", 20, now=T0)
    db_session.flush()

    r = app_client.get(f"/v1/members/{member}/ledger?limit=2", headers=admin_headers)
    assert r.status_code == 200
    page = r.json()
    assert page["balance"]["pending"] == 30
    assert page["balance"]["available"] == 100
    assert page["balance"]["lifetime_earned"] == 150
    assert [t["kind"] for t in page["transactions"]] == ["spend", "earn"]
    assert [t["change"] for t in page["transactions"]] == [-20, 30]
    r = app_client.get(
        f"/v1/members/{member}/ledger?before={page['next_before']}", headers=admin_headers
    )
    rest = r.json()["transactions"]
    assert len(rest) == 1
    assert rest[0]["reasons"]["rule"] == "points-per-krone"
    assert rest[0]["reasons"]["programme_version"] == 3
    assert sorted((p["account"], p["amount"]) for p in rest[0]["postings"]) == [
        ("available", 120),
        ("issued", -120),
    ]
    assert r.json()["next_before"] is None
    assert app_client.get(f"/v1/members/{member}/ledger").status_code == 401
    assert app_client.get("/v1/members/999999/ledger", headers=admin_headers).json()["code"] == (
        "member_not_found"
    )
