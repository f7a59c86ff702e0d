"""Cancelling redemptions, custom fulfilment, and reward coupons released with their order."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.ingest.factories import order_body
from tests.reward.conftest import (
    T0,
    apply_catalogue,
    available,
    count,
    give,
    new_member,
    redeem,
    set_level,
)
from trofast.coupon import service as coupons
from trofast.coupon.discounts import Cart, CartLine
from trofast.coupon.errors import UnknownOrInvalidCoupon
from trofast.kit.time import utc_now
from trofast.ledger.verify import verify
from trofast.models import Coupon, CouponRedemption, LedgerLot, LedgerTransaction, RewardStock
from trofast.reward import service as rewards

Headers = dict[str, str]


@pytest.fixture
def kari(db_session: Session) -> int:
    member = new_member(db_session)
    return member


def cancel(client: TestClient, headers: Headers, member: int, rid: int) -> Any:
    return client.post(f"/v1/members/{member}/redemptions/{rid}/cancel", headers=headers)


def checkout(
    client: TestClient, headers: Headers, code: str, member: int, order: str, source: str = "web"
) -> Any:
    return client.post(
        "/v1/coupons/redeem",
        json={
            "code": code,
            "customer_id": member,
            "order": {"source": source, "id": order},
            "cart": {
                "currency": "NOK",
                "lines": [{"sku": "X", "quantity": 1, "unit_price_minor": 50000}],
            },
        },
        headers=headers,
    )


@pytest.mark.usefixtures("catalogue")
def test_cancelling_returns_the_points_to_new_lots_with_the_original_expiry(
    app_client: TestClient, admin_headers: Headers, db_session: Session, kari: int
) -> None:
    soon, later = utc_now() + timedelta(days=40), utc_now() + timedelta(days=400)
    give(db_session, kari, 700, "soon", soon)
    give(db_session, kari, 500, "later", later)
    body = redeem(app_client, admin_headers, kari, "voucher-100").json()
    assert available(db_session, kari) == 200

    response = cancel(app_client, admin_headers, kari, body["id"])

    assert response.status_code == 200, response.text
    out = response.json()
    assert (out["status"], out["cancel_reason"]) == ("cancelled", "admin")
    assert out["coupon"]["disabled_at"] is not None
    assert available(db_session, kari) == 1200
    restore = db_session.get(LedgerTransaction, out["restore_transaction_id"])
    assert restore is not None
    assert (restore.kind, restore.reverses_id) == ("restore", body["ledger_transaction_id"])
    new_lots = db_session.execute(
        select(LedgerLot.points, LedgerLot.remaining, LedgerLot.expires_at)
        .where(LedgerLot.transaction_id == restore.id)
        .order_by(LedgerLot.id)
    ).all()
    assert [(p, r, e) for p, r, e in new_lots] == [(700, 700, soon), (300, 300, later)]
    assert verify(db_session) == []


@pytest.mark.usefixtures("catalogue")
def test_points_past_their_expiry_come_back_expired(
    app_client: TestClient, admin_headers: Headers, db_session: Session, kari: int
) -> None:
    give(db_session, kari, 1000, "seed", utc_now() + timedelta(days=1))
    rid = redeem(app_client, admin_headers, kari, "voucher-100").json()["id"]
    later = utc_now() + timedelta(days=2)
    from trofast.reward import service

    service.cancel(db_session, kari, rid, now=later)

    expired = db_session.scalars(
        select(LedgerTransaction.kind).where(LedgerTransaction.customer_id == kari)
    ).all()
    assert list(expired) == ["earn", "spend", "restore", "expire"]
    assert available(db_session, kari) == 0
    assert verify(db_session) == []


@pytest.mark.usefixtures("catalogue")
def test_cancelling_twice_returns_the_points_once(
    app_client: TestClient, admin_headers: Headers, db_session: Session, kari: int
) -> None:
    give(db_session, kari, 1000, "seed")
    rid = redeem(app_client, admin_headers, kari, "voucher-100").json()["id"]

    first = cancel(app_client, admin_headers, kari, rid)
    second = cancel(app_client, admin_headers, kari, rid)

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["restore_transaction_id"] == first.json()["restore_transaction_id"]
    assert available(db_session, kari) == 1000
    assert count(db_session, LedgerTransaction, LedgerTransaction.kind == "restore") == 1


@pytest.mark.usefixtures("catalogue")
def test_a_used_coupon_cannot_be_cancelled(
    app_client: TestClient,
    admin_headers: Headers,
    storefront_headers: Headers,
    db_session: Session,
    kari: int,
) -> None:
    give(db_session, kari, 1000, "seed")
    body = redeem(app_client, admin_headers, kari, "voucher-100").json()
    assert (
        checkout(app_client, storefront_headers, body["coupon"]["code"], kari, "o1").status_code
        == 201
    )

    response = cancel(app_client, admin_headers, kari, body["id"])

    assert (response.status_code, response.json()["code"]) == (409, "redemption_used")
    assert available(db_session, kari) == 0
    assert count(db_session, LedgerTransaction, LedgerTransaction.kind == "restore") == 0
    coupon = db_session.get(Coupon, body["coupon"]["id"])
    assert coupon is not None
    db_session.refresh(coupon)
    assert coupon.disabled_at is None


def cancelled_in_this_unit_of_work(session: Session, member: int) -> Coupon:
    """A voucher redeemed at T0 and cancelled a day later; the session keeps the coupon it
    loaded (enabled) at the redemption, and the cancel disables it behind the ORM's back."""
    give(session, member, 1000, "seed")
    done = rewards.redeem(session, member, "voucher-100", "k1", now=T0)
    assert done.coupon is not None
    assert done.coupon.disabled_at is None
    rewards.cancel(session, member, done.redemption.id, now=T0 + timedelta(days=1))
    return done.coupon


@pytest.mark.usefixtures("catalogue")
def test_a_cancelled_rewards_code_is_unknown_past_its_validity_in_the_same_unit_of_work(
    db_session: Session, kari: int
) -> None:
    # Found by the programme state machine: the session still held the coupon loaded when
    # the reward was redeemed, cancelling disabled it behind the ORM's back, and the checkout
    # at the end of the 30 days judged the stale copy: `expired`, not `unknown_or_invalid`.
    coupon = cancelled_in_this_unit_of_work(db_session, kari)
    assert coupon.valid_until == T0 + timedelta(days=30)
    cart = Cart("NOK", "web", [CartLine("X", "other", 1, 50000)], 0)
    at = T0 + timedelta(days=30)

    checked = coupons.check(db_session, coupon.code, cart, kari, at)
    with pytest.raises(UnknownOrInvalidCoupon):
        coupons.redeem(
            db_session, coupon.code, cart, customer_id=kari, order_source="web",
            order_ref="o1", at=at,
        )  # fmt: skip

    assert checked.outcome == "unknown_or_invalid"
    assert (coupon.uses, coupon.disabled_at is not None) == (0, True)
    assert count(db_session, CouponRedemption) == 0
    assert available(db_session, kari) == 1000


@pytest.mark.usefixtures("catalogue")
def test_every_read_of_a_cancelled_rewards_coupon_in_the_same_unit_of_work_shows_it_disabled(
    db_session: Session, kari: int
) -> None:
    coupon = cancelled_in_this_unit_of_work(db_session, kari)

    # The session still holds `coupon`, loaded enabled: each read must show the row.
    assert coupons.get(db_session, coupon.id).disabled_at is not None
    (owned,) = coupons.search(db_session, owner_customer_id=kari)
    assert owned.disabled_at is not None


@pytest.mark.usefixtures("catalogue")
def test_a_member_cancels_with_their_token_but_not_anothers_redemption(
    app_client: TestClient, storefront_headers: Headers, db_session: Session, kari: int
) -> None:
    from tests.member.test_access import token_for

    ola = new_member(db_session, "ola@example.no")
    give(db_session, kari, 1000, "seed")
    give(db_session, ola, 1000, "seed-ola")
    karis, olas = (token_for(app_client, storefront_headers, m) for m in (kari, ola))
    rid = redeem(app_client, karis, kari, "voucher-100").json()["id"]

    on_own_path = cancel(app_client, olas, ola, rid)
    on_karis_path = cancel(app_client, olas, kari, rid)
    by_kari = cancel(app_client, karis, kari, rid)

    assert (on_own_path.status_code, on_own_path.json()["code"]) == (
        404,
        "reward_redemption_not_found",
    )
    assert (on_karis_path.status_code, on_karis_path.json()["code"]) == (
        403,
        "member_token_mismatch",
    )
    assert (by_kari.status_code, by_kari.json()["cancel_reason"]) == (200, "member")


@pytest.mark.usefixtures("catalogue")
def test_custom_reward_fulfilment(
    app_client: TestClient, admin_headers: Headers, db_session: Session, kari: int
) -> None:
    give(db_session, kari, 5000, "seed")
    set_level(db_session, kari, "gold")
    a = redeem(app_client, admin_headers, kari, "lounge", "a").json()["id"]
    b = redeem(app_client, admin_headers, kari, "lounge", "b").json()["id"]

    done = app_client.post(
        f"/v1/redemptions/{a}/fulfilment", json={"status": "fulfilled"}, headers=admin_headers
    )
    dropped = app_client.post(
        f"/v1/redemptions/{b}/fulfilment", json={"status": "cancelled"}, headers=admin_headers
    )
    late_cancel = cancel(app_client, admin_headers, kari, a)

    assert done.status_code == 200, done.text
    assert (done.json()["fulfilment"], done.json()["status"]) == ("fulfilled", "active")
    assert done.json()["fulfilled_at"] is not None
    assert (dropped.json()["fulfilment"], dropped.json()["status"]) == ("cancelled", "cancelled")
    assert dropped.json()["cancel_reason"] == "fulfilment_cancelled"
    assert (late_cancel.status_code, late_cancel.json()["code"]) == (409, "redemption_fulfilled")
    assert available(db_session, kari) == 3000
    assert verify(db_session) == []


@pytest.mark.usefixtures("catalogue")
def test_fulfilment_of_a_coupon_reward_is_refused(
    app_client: TestClient,
    admin_headers: Headers,
    storefront_headers: Headers,
    db_session: Session,
    kari: int,
) -> None:
    give(db_session, kari, 1000, "seed")
    rid = redeem(app_client, admin_headers, kari, "ship").json()["id"]

    wrong_kind = app_client.post(
        f"/v1/redemptions/{rid}/fulfilment", json={"status": "fulfilled"}, headers=admin_headers
    )
    not_admin = app_client.post(
        f"/v1/redemptions/{rid}/fulfilment",
        json={"status": "fulfilled"},
        headers=storefront_headers,
    )

    assert (wrong_kind.status_code, wrong_kind.json()["code"]) == (409, "not_a_custom_reward")
    assert (not_admin.status_code, not_admin.json()["code"]) == (403, "insufficient_scope")


def _used_reward_coupon(
    client: TestClient,
    admin: Headers,
    shop: Headers,
    session: Session,
    member: int,
    order: tuple[str, str] = ("web", "o1"),
) -> dict[str, Any]:
    give(session, member, 1000, "seed")
    body: dict[str, Any] = redeem(client, admin, member, "voucher-100").json()
    code = body["coupon"]["code"]
    assert checkout(client, shop, code, member, order[1], order[0]).status_code == 201
    return body


def test_released_reward_coupon_comes_back_usable_by_default(
    app_client: TestClient,
    admin_headers: Headers,
    storefront_headers: Headers,
    db_session: Session,
    kari: int,
) -> None:
    apply_catalogue(db_session, released="coupon")
    body = _used_reward_coupon(app_client, admin_headers, storefront_headers, db_session, kari)

    released = app_client.post(
        "/v1/coupons/release",
        json={"order": {"source": "web", "id": "o1"}},
        headers=storefront_headers,
    )

    assert released.status_code == 200, released.text
    assert available(db_session, kari) == 0
    again = checkout(app_client, storefront_headers, body["coupon"]["code"], kari, "o2")
    assert again.status_code == 201


def test_released_reward_coupon_returns_the_points_when_the_programme_says_so(
    app_client: TestClient,
    admin_headers: Headers,
    storefront_headers: Headers,
    db_session: Session,
    kari: int,
) -> None:
    apply_catalogue(db_session, released="points")
    body = _used_reward_coupon(app_client, admin_headers, storefront_headers, db_session, kari)

    app_client.post(
        "/v1/coupons/release",
        json={"order": {"source": "web", "id": "o1"}},
        headers=storefront_headers,
    )

    assert available(db_session, kari) == 1000
    listed = app_client.get(f"/v1/members/{kari}/redemptions", headers=admin_headers).json()
    row = listed["redemptions"][0]
    assert (row["status"], row["cancel_reason"]) == ("cancelled", "order_cancelled")
    assert row["coupon"]["disabled_at"] is not None
    again = checkout(app_client, storefront_headers, body["coupon"]["code"], kari, "o2")
    assert (again.status_code, again.json()["code"]) == (404, "unknown_or_invalid")
    stock = db_session.get(RewardStock, "voucher-100")
    assert stock is not None
    assert (stock.taken, stock.redeemed) == (0, 1)
    assert verify(db_session) == []


def test_an_order_cancelled_event_returns_reward_points(
    app_client: TestClient,
    admin_headers: Headers,
    storefront_headers: Headers,
    ingest_headers: Headers,
    db_session: Session,
    kari: int,
) -> None:
    apply_catalogue(db_session, released="points")
    body = _used_reward_coupon(
        app_client, admin_headers, storefront_headers, db_session, kari, ("api", "1001")
    )
    placed = order_body(discount_codes=[body["coupon"]["code"]])
    cancelled = {
        "idempotency_key": "cancel:1001",
        "type": "order.cancelled",
        "occurred_at": "2026-03-02T09:00:00Z",
        "order_id": "1001",
        "reason": "customer",
    }

    response = app_client.post(
        "/v1/events", json={"events": [placed, cancelled]}, headers=ingest_headers
    )

    assert response.status_code == 200, response.text
    assert available(db_session, kari) == 1000
    assert verify(db_session) == []
