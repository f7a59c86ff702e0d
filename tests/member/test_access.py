"""Member tokens on the API: a token reads only its own member, on every member endpoint."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.coupon.conftest import new_customer
from trofast.config import Environment, Settings
from trofast.member import tokens

# Routes that take a member token; every other member route needs an API key.
TOKEN_ROUTES = {
    ("GET", "/v1/members/{customer_id}"),
    ("GET", "/v1/members/{customer_id}/ledger"),
    ("GET", "/v1/members/{customer_id}/coupons"),
    ("GET", "/v1/members/{customer_id}/referrals"),
    ("GET", "/v1/members/{customer_id}/qr"),
    ("POST", "/v1/members/{customer_id}/claims"),
    ("GET", "/v1/members/{customer_id}/rewards"),
    ("GET", "/v1/members/{customer_id}/redemptions"),
    ("POST", "/v1/members/{customer_id}/redemptions"),
    ("POST", "/v1/members/{customer_id}/redemptions/{redemption_id}/cancel"),
    ("POST", "/v1/members/{customer_id}/points-payments/quote"),
    ("POST", "/v1/members/{customer_id}/points-payments"),
    ("POST", "/v1/members/{customer_id}/points-payments/release"),
}


def member_routes(client: TestClient) -> list[tuple[str, str]]:
    paths = client.get("/openapi.json").json()["paths"]
    return sorted(
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/v1/members/{customer_id}")
        for method in operations
    )


def token_for(
    client: TestClient, headers: dict[str, str], member: int, ttl: int = 900
) -> dict[str, str]:
    response = client.post(
        f"/v1/members/{member}/tokens", json={"ttl_seconds": ttl}, headers=headers
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_the_token_routes_exist(app_client: TestClient) -> None:
    assert set(member_routes(app_client)) >= TOKEN_ROUTES


def test_storefront_key_issues_a_token_that_reads_its_member(
    app_client: TestClient, storefront_headers: dict[str, str], db_session: Session
) -> None:
    kari = new_customer(db_session)

    response = app_client.post(f"/v1/members/{kari}/tokens", headers=storefront_headers)
    token = {"Authorization": f"Bearer {response.json()['token']}"}

    assert response.status_code == 201
    body = response.json()
    assert body["member_id"] == kari
    expires = datetime.fromisoformat(body["expires_at"])
    assert 890 <= (expires - datetime.now(UTC)).total_seconds() <= 900
    for path in ("ledger", "coupons"):
        assert app_client.get(f"/v1/members/{kari}/{path}", headers=token).status_code == 200


def test_token_for_a_on_b_is_refused_on_every_member_endpoint(
    app_client: TestClient, storefront_headers: dict[str, str], db_session: Session
) -> None:
    kari = new_customer(db_session)
    ola = new_customer(db_session, "ola@example.no")
    karis = token_for(app_client, storefront_headers, kari)

    routes = member_routes(app_client)
    for method, path in routes:
        url = path.replace("{customer_id}", str(ola)).replace("{redemption_id}", "1")
        response = app_client.request(
            method, url, json={}, headers={**karis, "Idempotency-Key": "x"}
        )
        if (method, path) in TOKEN_ROUTES:
            assert (response.status_code, response.json()["code"]) == (
                403,
                "member_token_mismatch",
            ), url
        else:
            # A token is not an API key: routes that need a key refuse it outright.
            assert response.status_code in (401, 403), url
    assert len(routes) >= 4


def test_expired_token_is_401(
    app_client: TestClient, settings: Settings, db_session: Session
) -> None:
    kari = new_customer(db_session)
    assert settings.secret_key is not None
    expired = tokens.issue(settings.secret_key.get_secret_value().encode(), kari, 1_700_000_000)

    response = app_client.get(
        f"/v1/members/{kari}/ledger", headers={"Authorization": f"Bearer {expired}"}
    )

    assert (response.status_code, response.json()["code"]) == (401, "member_token_expired")


def test_forged_token_is_401(app_client: TestClient, db_session: Session) -> None:
    kari = new_customer(db_session)
    forged = tokens.issue(b"not the key" * 4, kari, 4_000_000_000)

    response = app_client.get(
        f"/v1/members/{kari}/coupons", headers={"Authorization": f"Bearer {forged}"}
    )

    assert (response.status_code, response.json()["code"]) == (401, "invalid_member_token")


@pytest.mark.parametrize("scope", ["storefront", "pos", "ingest"])
def test_non_admin_keys_cannot_read_members(
    app_client: TestClient,
    db_session: Session,
    scope: str,
    request: pytest.FixtureRequest,
) -> None:
    kari = new_customer(db_session)
    headers = request.getfixturevalue(f"{scope}_headers")

    for path in ("ledger", "coupons"):
        response = app_client.get(f"/v1/members/{kari}/{path}", headers=headers)
        assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope")


def test_storefront_key_on_admin_endpoints_is_403(
    app_client: TestClient, storefront_headers: dict[str, str], db_session: Session
) -> None:
    kari = new_customer(db_session)
    calls = [
        ("GET", "/v1/customers", None),
        ("GET", f"/v1/customers/{kari}", None),
        ("GET", "/v1/orders", None),
        ("POST", f"/v1/members/{kari}/adjustments", {"points": 5, "reason": "free points"}),
        ("GET", "/v1/coupons", None),
        ("POST", "/v1/coupons", {"discount": {"kind": "free_shipping"}}),
    ]
    for method, path, body in calls:
        response = app_client.request(
            method, path, json=body, headers={**storefront_headers, "Idempotency-Key": "k"}
        )
        assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope"), path


def test_token_for_an_unknown_member_is_404(
    app_client: TestClient, storefront_headers: dict[str, str]
) -> None:
    response = app_client.post("/v1/members/999999/tokens", headers=storefront_headers)

    assert (response.status_code, response.json()["code"]) == (404, "member_not_found")


def test_production_refuses_a_missing_or_short_secret_key() -> None:
    url = "postgresql://db/trofast"
    with pytest.raises(ValueError, match="TROFAST_SECRET_KEY"):
        Settings(environment=Environment.production, database_url=url, _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="TROFAST_SECRET_KEY"):
        Settings(
            environment=Environment.production,
            database_url=url,
            secret_key="short",  # type: ignore[arg-type]
            _env_file=None,  # type: ignore[call-arg]
        )
    ok = Settings(
        environment=Environment.production,
        database_url=url,
        secret_key="s" * 32,  # type: ignore[arg-type]
        _env_file=None,  # type: ignore[call-arg]
    )
    assert ok.secret_key is not None
    assert ok.secret_key.get_secret_value() == "s" * 32
