"""What the member sees in the catalogue: usable rewards, and the reason for the others."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.reward.conftest import give, new_member, redeem, set_level

pytestmark = pytest.mark.usefixtures("catalogue")


def offers(
    client: TestClient, headers: dict[str, str], member: int, every: bool
) -> list[tuple[object, ...]]:
    response = client.get(f"/v1/members/{member}/rewards", params={"all": every}, headers=headers)
    assert response.status_code == 200, response.text
    return [
        (o["reward"]["id"], o["usable"], o["reason"], o["points_missing"]) for o in response.json()
    ]


def test_every_reward_with_its_reason(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session
) -> None:
    kari = new_member(db_session)
    give(db_session, kari, 450, "seed")
    set_level(db_session, kari, "silver")
    assert redeem(app_client, admin_headers, kari, "limited").status_code == 201

    assert offers(app_client, admin_headers, kari, every=True) == [
        ("voucher-100", False, "insufficient_points", 650),
        ("ten-off", False, "insufficient_points", 150),
        ("ship", True, None, 0),
        ("socks", False, "insufficient_points", 50),
        ("lounge", False, "tier_required", 1650),
        ("limited", False, "member_limit_reached", 0),
    ]
    assert offers(app_client, admin_headers, kari, every=False) == [("ship", True, None, 0)]


def test_sold_out_and_tier_rewards(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session
) -> None:
    buyers = [new_member(db_session, f"b{n}@example.no") for n in range(2)]
    for n, buyer in enumerate(buyers):
        give(db_session, buyer, 100, f"b{n}")
        redeem(app_client, admin_headers, buyer, "limited")
    gold = new_member(db_session, "gold@example.no")
    give(db_session, gold, 5000, "gold")
    set_level(db_session, gold, "gold")

    listed = {o[0]: o for o in offers(app_client, admin_headers, gold, every=True)}

    assert listed["limited"] == ("limited", False, "out_of_stock", 0)
    assert listed["lounge"] == ("lounge", True, None, 0)
