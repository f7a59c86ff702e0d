"""Guessing codes is throttled per shopper and per key, counted in the logs, and a blocked
caller learns nothing, not even about a real code."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import make_key
from tests.coupon.conftest import CART, count, create, redeem_body
from trofast.auth.scopes import Scope
from trofast.models import CouponRedemption


def guess(client: TestClient, headers: dict[str, str], code: str, ip: str | None = None) -> int:
    body = {"code": code, "cart": CART, "shopper_ip": ip}
    return client.post("/v1/coupons/validate", json=body, headers=headers).status_code


def test_fourth_unknown_code_from_one_shopper_is_429_with_retry_after(
    strict_client: TestClient,
    admin_headers: dict[str, str],
    checkout_headers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    real = create(strict_client, admin_headers)
    caplog.set_level(logging.WARNING, logger="trofast.coupon.guessing")

    statuses = [guess(strict_client, checkout_headers, f"WRONG{n}", "10.0.0.1") for n in range(3)]
    blocked = strict_client.post(
        "/v1/coupons/validate",
        json={"code": real["code"], "cart": CART, "shopper_ip": "10.0.0.1"},
        headers=checkout_headers,
    )

    assert statuses == [200, 200, 200]
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "too_many_invalid_codes"
    assert 599 <= int(blocked.headers["Retry-After"]) <= 600
    invalid = [r for r in caplog.records if getattr(r, "event", None) == "coupon_code_invalid"]
    assert [(r.client, r.failures_client) for r in invalid] == [  # type: ignore[attr-defined]
        ("10.0.0.1", 1),
        ("10.0.0.1", 2),
        ("10.0.0.1", 3),
    ]
    assert {r.api_key_id for r in invalid} == {invalid[0].api_key_id}  # type: ignore[attr-defined]
    throttled = [r for r in caplog.records if getattr(r, "event", None) == "coupon_guess_throttled"]
    assert len(throttled) == 1
    # Another shopper behind the same shop server is not blocked by this one.
    assert guess(strict_client, checkout_headers, real["code"], "10.0.0.2") == 200


def test_one_key_is_blocked_across_shoppers(
    strict_client: TestClient, checkout_headers: dict[str, str], db_session: Session
) -> None:
    statuses = [guess(strict_client, checkout_headers, "WRONG", f"10.0.1.{n}") for n in range(6)]
    other_key = {"Authorization": f"Bearer {make_key(db_session, Scope.pos)}"}

    assert statuses == [200] * 5 + [429]
    assert guess(strict_client, other_key, "WRONG", "10.0.2.1") == 200


def test_valid_codes_and_condition_failures_do_not_count(
    strict_client: TestClient, admin_headers: dict[str, str], checkout_headers: dict[str, str]
) -> None:
    coupon = create(strict_client, admin_headers, min_order_minor=10**9, max_uses=None)

    statuses = [
        guess(strict_client, checkout_headers, coupon["code"], "10.0.0.9") for _ in range(10)
    ]

    assert statuses == [200] * 10


def test_unknown_codes_at_redeem_count_and_a_blocked_redeem_writes_nothing(
    strict_client: TestClient,
    admin_headers: dict[str, str],
    checkout_headers: dict[str, str],
    db_session: Session,
) -> None:
    real = create(strict_client, admin_headers)

    def redeem(code: str) -> int:
        body = redeem_body(code, shopper_ip="10.0.0.5")
        return strict_client.post(
            "/v1/coupons/redeem", json=body, headers=checkout_headers
        ).status_code

    assert [redeem(f"NOPE{n}") for n in range(3)] == [404, 404, 404]
    assert redeem(real["code"]) == 429
    assert count(db_session, CouponRedemption) == 0


def test_without_a_shopper_address_the_connection_address_is_throttled(
    strict_client: TestClient, checkout_headers: dict[str, str]
) -> None:
    statuses = [guess(strict_client, checkout_headers, "WRONG") for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
