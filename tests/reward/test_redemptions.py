"""Redeeming rewards over the API: golden results per kind, and refusals that write nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.member.test_access import token_for
from tests.reward.conftest import T0, available, count, give, new_member, redeem, set_level
from trofast.ledger.verify import verify
from trofast.models import (
    Coupon,
    LedgerLot,
    LedgerTransaction,
    RewardMemberUse,
    RewardRedemption,
    RewardStock,
)

pytestmark = pytest.mark.usefixtures("catalogue")


@pytest.fixture
def kari(db_session: Session) -> int:
    member = new_member(db_session)
    give(db_session, member, 3000, "seed")
    return member


@pytest.mark.parametrize(
    ("reward", "cost", "discount"),
    [
        ("voucher-100", 1000, {"kind": "fixed_amount", "amount_minor": 10000}),
        ("ten-off", 500, {"kind": "percent", "percent": 10, "max_amount_minor": 20000}),
        ("ship", 300, {"kind": "free_shipping"}),
        ("socks", 400, {"kind": "free_product", "sku": "SOCKS-1"}),
    ],
)
def test_each_coupon_kind_debits_its_cost_and_issues_its_coupon(
    app_client: TestClient,
    admin_headers: dict[str, str],
    db_session: Session,
    kari: int,
    reward: str,
    cost: int,
    discount: dict[str, object],
) -> None:
    response = redeem(app_client, admin_headers, kari, reward)

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["reward_id"], body["kind"], body["cost"], body["status"]) == (
        reward,
        discount["kind"],
        cost,
        "active",
    )
    assert body["fulfilment"] is None
    coupon = body["coupon"]
    assert coupon["discount"] == discount
    assert (coupon["max_uses"], coupon["uses"], coupon["owner_customer_id"]) == (1, 0, kari)
    assert (coupon["origin"], coupon["origin_ref"]) == (
        "reward_redemption",
        f"reward_redemption:{body['id']}",
    )
    assert coupon["campaign"] == f"reward:{reward}"
    assert available(db_session, kari) == 3000 - cost
    spend = db_session.get(LedgerTransaction, body["ledger_transaction_id"])
    assert spend is not None
    assert (spend.kind, spend.rule, spend.programme_version) == ("spend", f"reward:{reward}", 1)
    assert verify(db_session) == []


def test_voucher_terms_come_from_the_catalogue(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session, kari: int
) -> None:
    percent = redeem(app_client, admin_headers, kari, "ten-off", "a").json()["coupon"]
    ship = redeem(app_client, admin_headers, kari, "ship", "b").json()["coupon"]
    voucher = redeem(app_client, admin_headers, kari, "voucher-100", "c").json()["coupon"]

    assert percent["min_order_minor"] == 50000
    assert ship["channels"] == ["web"]
    issued = datetime.fromisoformat(voucher["valid_from"])
    assert datetime.fromisoformat(voucher["valid_until"]) - issued == timedelta(days=30)


def test_a_member_token_redeems_and_the_coupon_works_at_checkout(
    app_client: TestClient,
    storefront_headers: dict[str, str],
    db_session: Session,
    kari: int,
) -> None:
    token = token_for(app_client, storefront_headers, kari)

    body = redeem(app_client, token, kari, "voucher-100").json()
    checkout = app_client.post(
        "/v1/coupons/redeem",
        json={
            "code": body["coupon"]["code"],
            "customer_id": kari,
            "order": {"source": "web", "id": "o-1"},
            "cart": {
                "currency": "NOK",
                "lines": [{"sku": "X", "quantity": 1, "unit_price_minor": 50000}],
            },
        },
        headers=storefront_headers,
    )

    assert checkout.status_code == 201, checkout.text
    assert checkout.json()["discount"]["amount_minor"] == 10000


def test_custom_reward_requests_fulfilment_and_issues_no_coupon(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session, kari: int
) -> None:
    set_level(db_session, kari, "gold")

    body = redeem(app_client, admin_headers, kari, "lounge").json()

    assert (body["kind"], body["fulfilment"], body["coupon"]) == ("custom", "requested", None)
    assert available(db_session, kari) == 1000
    assert count(db_session, Coupon) == 0


def test_the_same_key_replays_the_first_redemption(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session, kari: int
) -> None:
    first = redeem(app_client, admin_headers, kari, "voucher-100", "same")
    again = redeem(app_client, admin_headers, kari, "voucher-100", "same")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["replayed"] is True
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["coupon"]["code"] == first.json()["coupon"]["code"]
    assert available(db_session, kari) == 2000
    assert count(db_session, RewardRedemption) == 1
    assert count(db_session, Coupon) == 1


def test_the_same_key_for_another_reward_is_a_conflict(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session, kari: int
) -> None:
    redeem(app_client, admin_headers, kari, "voucher-100", "same")

    response = redeem(app_client, admin_headers, kari, "ship", "same")

    assert (response.status_code, response.json()["code"]) == (409, "idempotency_conflict")
    assert available(db_session, kari) == 2000


def test_insufficient_points_is_409_and_writes_nothing(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session
) -> None:
    ola = new_member(db_session, "ola@example.no")
    give(db_session, ola, 999, "seed")
    transactions = count(db_session, LedgerTransaction)

    response = redeem(app_client, admin_headers, ola, "voucher-100")

    assert (response.status_code, response.json()["code"]) == (409, "insufficient_points")
    assert response.json()["detail"] == {"requested": 1000, "available": 999}
    assert available(db_session, ola) == 999
    assert count(db_session, LedgerTransaction) == transactions
    assert count(db_session, RewardRedemption) == 0
    assert count(db_session, Coupon) == 0
    assert count(db_session, RewardStock) == 0
    assert count(db_session, RewardMemberUse) == 0


def test_spends_the_soonest_expiring_lots_first(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session
) -> None:
    ola = new_member(db_session, "ola@example.no")
    late = give(db_session, ola, 800, "late", T0 + timedelta(days=700))
    never = give(db_session, ola, 800, "never")
    soon = give(db_session, ola, 600, "soon", T0 + timedelta(days=400))

    redeem(app_client, admin_headers, ola, "voucher-100")

    rows = db_session.execute(select(LedgerLot.transaction_id, LedgerLot.remaining)).all()
    remaining = {transaction: left for transaction, left in rows}
    assert remaining == {soon: 0, late: 400, never: 800}


def test_tier_only_reward_needs_the_level_or_above(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session, kari: int
) -> None:
    set_level(db_session, kari, "silver")

    response = redeem(app_client, admin_headers, kari, "lounge")

    assert (response.status_code, response.json()["code"]) == (409, "tier_required")
    assert available(db_session, kari) == 3000
    assert count(db_session, RewardRedemption) == 0


def test_stock_runs_out(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session
) -> None:
    members = [new_member(db_session, f"m{n}@example.no") for n in range(3)]
    for n, member in enumerate(members):
        give(db_session, member, 500, f"seed-{n}")

    codes = [redeem(app_client, admin_headers, m, "limited").status_code for m in members[:2]]
    third = redeem(app_client, admin_headers, members[2], "limited")

    assert codes == [201, 201]
    assert (third.status_code, third.json()["code"]) == (409, "out_of_stock")
    assert available(db_session, members[2]) == 500
    stock = db_session.get(RewardStock, "limited")
    assert stock is not None
    assert (stock.taken, stock.redeemed) == (2, 2)


def test_a_cancellation_puts_the_unit_back_but_the_total_limit_still_counts(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session
) -> None:
    members = [new_member(db_session, f"m{n}@example.no") for n in range(4)]
    for n, member in enumerate(members):
        give(db_session, member, 500, f"seed-{n}")
    for member in members[:2]:
        rid = redeem(app_client, admin_headers, member, "limited").json()["id"]
        cancelled = app_client.post(
            f"/v1/members/{member}/redemptions/{rid}/cancel", headers=admin_headers
        )
        assert cancelled.status_code == 200, cancelled.text

    third = redeem(app_client, admin_headers, members[2], "limited")
    fourth = redeem(app_client, admin_headers, members[3], "limited")

    assert third.status_code == 201
    assert (fourth.status_code, fourth.json()["code"]) == (409, "limit_reached")
    assert available(db_session, members[3]) == 500
    stock = db_session.get(RewardStock, "limited")
    assert stock is not None
    assert (stock.taken, stock.redeemed) == (1, 3)


def test_per_member_limit(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session, kari: int
) -> None:
    assert redeem(app_client, admin_headers, kari, "limited", "a").status_code == 201

    second = redeem(app_client, admin_headers, kari, "limited", "b")

    assert (second.status_code, second.json()["code"]) == (409, "member_limit_reached")
    assert available(db_session, kari) == 2900


def test_unknown_reward_is_404(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session, kari: int
) -> None:
    response = redeem(app_client, admin_headers, kari, "yacht")

    assert (response.status_code, response.json()["code"]) == (404, "reward_not_found")


def test_another_members_token_is_403_and_writes_nothing(
    app_client: TestClient,
    storefront_headers: dict[str, str],
    db_session: Session,
    kari: int,
) -> None:
    ola = new_member(db_session, "ola@example.no")
    olas = token_for(app_client, storefront_headers, ola)

    response = redeem(app_client, olas, kari, "voucher-100")

    assert (response.status_code, response.json()["code"]) == (403, "member_token_mismatch")
    assert available(db_session, kari) == 3000
    assert count(db_session, RewardRedemption) == 0


def test_a_storefront_key_cannot_redeem_for_a_member(
    app_client: TestClient, storefront_headers: dict[str, str], kari: int
) -> None:
    response = redeem(app_client, storefront_headers, kari, "voucher-100")

    assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope")


def test_missing_idempotency_key_is_422(
    app_client: TestClient, admin_headers: dict[str, str], kari: int
) -> None:
    response = app_client.post(
        f"/v1/members/{kari}/redemptions", json={"reward_id": "ship"}, headers=admin_headers
    )

    assert response.status_code == 422


def test_listing_redemptions_newest_first(
    app_client: TestClient, admin_headers: dict[str, str], kari: int
) -> None:
    a = redeem(app_client, admin_headers, kari, "ship", "a").json()["id"]
    b = redeem(app_client, admin_headers, kari, "socks", "b").json()["id"]

    body = app_client.get(f"/v1/members/{kari}/redemptions", headers=admin_headers).json()

    assert [r["id"] for r in body["redemptions"]] == [b, a]
    assert [r["coupon"]["discount"]["kind"] for r in body["redemptions"]] == [
        "free_product",
        "free_shipping",
    ]
    assert body["next_before"] is None
