"""NUL characters in paths or query strings are refused before reaching the database."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_a_nul_in_a_query_filter_is_a_422_not_a_database_error(
    app_client: TestClient, admin_headers: dict[str, str]
) -> None:
    response = app_client.get("/v1/customers?email=%00", headers=admin_headers)

    assert response.status_code == 422
    assert response.json()["code"] == "nul_character"


def test_a_nul_in_the_path_is_refused(
    app_client: TestClient, admin_headers: dict[str, str]
) -> None:
    response = app_client.get("/v1/orders/1%00", headers=admin_headers)

    assert response.status_code == 422
    assert response.json()["code"] == "nul_character"


def test_ordinary_percent_escapes_pass(
    app_client: TestClient, admin_headers: dict[str, str]
) -> None:
    response = app_client.get("/v1/customers?email=kari%2B1%40example.no", headers=admin_headers)

    assert response.status_code == 200
