"""The referral API: a member's code, link and list; an admin's block and approve."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.member.test_access import token_for
from tests.program.conftest import Ingest
from tests.referral.conftest import customer_event, customer_id, paid_order, recent, referral_of
from trofast.app import create_app
from trofast.config import Settings
from trofast.kit.text import ONE_LINE
from trofast.referral.schemas import DecisionIn


@pytest.fixture
def shop_client(settings: Settings, db_session: Session) -> Iterator[TestClient]:
    """The API with TROFAST_PUBLIC_URL set, on the rolled-back test session."""
    configured = settings.model_copy(update={"public_url": "https://butikk.example/"})
    app = create_app(configured, engine=db_session.get_bind())  # type: ignore[arg-type]
    app.state.sessionmaker = sessionmaker(
        bind=db_session.connection(),
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        autoflush=False,
    )
    with TestClient(app) as client:
        yield client


def test_a_member_gets_one_code_and_a_link(
    shop_client: TestClient, admin_headers: dict[str, str], referrer: int
) -> None:
    first = shop_client.get(f"/v1/members/{referrer}/referrals", headers=admin_headers)
    again = shop_client.get(f"/v1/members/{referrer}/referrals", headers=admin_headers)

    assert first.status_code == 200
    body = first.json()
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5}", body["code"])
    assert body["link"] == f"https://butikk.example/r/{body['code'].replace('-', '')}"
    assert (body["member_id"], body["referrals"]) == (referrer, [])
    assert again.json()["code"] == body["code"]


def test_without_a_public_url_there_is_no_link(
    app_client: TestClient, admin_headers: dict[str, str], referrer: int
) -> None:
    response = app_client.get(f"/v1/members/{referrer}/referrals", headers=admin_headers)

    assert response.json()["link"] is None


def test_the_member_sees_referrals_without_the_friends_identity(
    app_client: TestClient,
    storefront_headers: dict[str, str],
    admin_headers: dict[str, str],
    db_session: Session,
    referrer: int,
    code: str,
    ingest: Ingest,
) -> None:
    ingest(customer_event("ola@example.no", code=code))
    friend = customer_id(db_session, "ola@example.no")
    referral = referral_of(db_session, friend)
    own = token_for(app_client, storefront_headers, referrer)

    as_member = app_client.get(f"/v1/members/{referrer}/referrals", headers=own).json()
    as_admin = app_client.get(f"/v1/members/{referrer}/referrals", headers=admin_headers).json()

    assert [(r["id"], r["status"], r["friend_id"]) for r in as_member["referrals"]] == [
        (referral.id, "pending", None)
    ]
    assert [(r["id"], r["friend_id"]) for r in as_admin["referrals"]] == [(referral.id, friend)]


def test_a_member_token_for_another_member_is_refused(
    app_client: TestClient,
    storefront_headers: dict[str, str],
    db_session: Session,
    referrer: int,
    ingest: Ingest,
) -> None:
    other = ingest(customer_event("per@example.no", key="per"))[0]["customer_id"]
    pers = token_for(app_client, storefront_headers, other)

    response = app_client.get(f"/v1/members/{referrer}/referrals", headers=pers)

    assert (response.status_code, response.json()["code"]) == (403, "member_token_mismatch")


def test_unknown_member_is_404(app_client: TestClient, admin_headers: dict[str, str]) -> None:
    response = app_client.get("/v1/members/987654/referrals", headers=admin_headers)

    assert (response.status_code, response.json()["code"]) == (404, "member_not_found")


def test_admin_blocks_then_approves(
    app_client: TestClient,
    admin_headers: dict[str, str],
    db_session: Session,
    referrer: int,
    code: str,
    ingest: Ingest,
) -> None:
    ingest(customer_event("ola@example.no", code=code))
    referral = referral_of(db_session, customer_id(db_session, "ola@example.no"))
    url = f"/v1/referrals/{referral.id}"

    blocked = app_client.post(f"{url}/block", json={"reason": "same IP"}, headers=admin_headers)
    approved = app_client.post(f"{url}/approve", json={"reason": "checked"}, headers=admin_headers)

    assert blocked.status_code == 200
    assert (blocked.json()["status"], blocked.json()["reason"], blocked.json()["note"]) == (
        "blocked",
        "blocked_by_admin",
        "same IP",
    )
    assert approved.status_code == 200
    assert (approved.json()["status"], approved.json()["reason"], approved.json()["approved"]) == (
        "pending",
        None,
        True,
    )


def test_completed_referral_cannot_be_blocked_over_http(
    app_client: TestClient,
    admin_headers: dict[str, str],
    db_session: Session,
    referrer: int,
    code: str,
    ingest: Ingest,
) -> None:
    ingest(customer_event("ola@example.no", code=code))
    ingest(paid_order("F1", "ola@example.no", recent(30)))
    referral = referral_of(db_session, customer_id(db_session, "ola@example.no"))

    response = app_client.post(
        f"/v1/referrals/{referral.id}/block", json={"reason": "late"}, headers=admin_headers
    )

    assert (response.status_code, response.json()["code"]) == (409, "referral_completed")


@pytest.mark.parametrize("action", ["block", "approve"])
def test_decisions_need_an_admin_key(
    app_client: TestClient,
    storefront_headers: dict[str, str],
    admin_headers: dict[str, str],
    action: str,
) -> None:
    body = {"reason": "x"}
    refused = app_client.post(f"/v1/referrals/1/{action}", json=body, headers=storefront_headers)
    missing = app_client.post(f"/v1/referrals/1/{action}", json=body, headers=admin_headers)

    assert (refused.status_code, refused.json()["code"]) == (403, "insufficient_scope")
    assert (missing.status_code, missing.json()["code"]) == (404, "referral_not_found")


def test_decision_reason_uses_the_shared_one_line_pattern(
    app_client: TestClient, admin_headers: dict[str, str]
) -> None:
    # What the pattern accepts is tested once, in tests/kit/test_text.py; here that the
    # decisions publish it, and refuse the reason Schemathesis found (ends in U+0085).
    schema_pattern = DecisionIn.model_json_schema()["properties"]["reason"]["pattern"]
    response = app_client.post(
        "/v1/referrals/1/block", json={"reason": "\u023a`\u0085\u0085"}, headers=admin_headers
    )

    assert schema_pattern == ONE_LINE
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")
