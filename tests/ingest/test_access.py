"""Every endpoint checks its scope; a storefront key can never read customers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.ingest.factories import order_body
from trofast.auth import service as auth


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v1/customers"),
        ("get", "/v1/customers/1"),
        ("get", "/v1/orders"),
        ("get", "/v1/orders/1"),
        ("get", "/v1/deliveries"),
        ("post", "/v1/deliveries/1/replay"),
    ],
)
def test_storefront_and_ingest_keys_cannot_read_admin_data(
    app_client: TestClient,
    storefront_headers: dict[str, str],
    ingest_headers: dict[str, str],
    method: str,
    path: str,
) -> None:
    for headers in (storefront_headers, ingest_headers):
        response = getattr(app_client, method)(path, headers=headers)
        assert response.status_code == 403
        assert response.json()["code"] == "insufficient_scope"


def test_storefront_key_cannot_ingest(
    app_client: TestClient, storefront_headers: dict[str, str]
) -> None:
    response = app_client.post("/v1/events", json=order_body(), headers=storefront_headers)

    assert response.status_code == 403


def test_revoked_key_is_refused(app_client: TestClient, db_session: Session) -> None:
    created = auth.create_key(db_session, "till", [])
    auth.revoke_key(db_session, created.key.prefix)

    response = app_client.get("/v1/orders", headers={"Authorization": f"Bearer {created.secret}"})

    assert (response.status_code, response.json()["code"]) == (401, "invalid_api_key")


def test_x_api_key_header_is_accepted(
    app_client: TestClient, admin_headers: dict[str, str]
) -> None:
    secret = admin_headers["Authorization"].removeprefix("Bearer ")

    response = app_client.get("/v1/orders", headers={"X-API-Key": secret})

    assert response.status_code == 200
    assert response.json() == []
