"""Many redemptions racing for one balance and for the last units, over real HTTP.

On PostgreSQL the requests really overlap: the member's ledger accounts are the lock that
serialises debits, and the conditional UPDATE on the stock row decides who gets the last
unit. On SQLite they queue on BEGIN IMMEDIATE. Both databases run these tests.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.reward.conftest import T0, apply_catalogue
from tests.support.server import running_server
from trofast.auth import service as auth
from trofast.auth.scopes import Scope
from trofast.config import Settings
from trofast.db import build_sessionmaker, unit_of_work
from trofast.ledger import queries
from trofast.ledger import service as ledger
from trofast.ledger.verify import verify
from trofast.models import Coupon, Customer, RewardRedemption, RewardStock

N = 40


def setup(engine: Engine, balances: list[int]) -> tuple[str, list[int]]:
    with unit_of_work(build_sessionmaker(engine)) as session:
        apply_catalogue(session)
        key = auth.create_key(session, "admin", [Scope.admin]).secret
        members = []
        for n, points in enumerate(balances):
            customer = Customer(
                email=f"m{n}@example.no", is_member=True, created_at=T0, updated_at=T0
            )
            session.add(customer)
            session.flush()
            ledger.earn(session, customer.id, f"seed-{n}", points, now=T0)
            members.append(customer.id)
        return key, members


def race(base: str, key: str, calls: list[tuple[int, str, str]]) -> list[httpx.Response]:
    barrier = threading.Barrier(len(calls))
    headers = {"Authorization": f"Bearer {key}"}

    def call(args: tuple[int, str, str]) -> httpx.Response:
        member, reward, idem = args
        with httpx.Client(base_url=base, timeout=120) as client:
            barrier.wait()
            return client.post(
                f"/v1/members/{member}/redemptions",
                json={"reward_id": reward},
                headers={**headers, "Idempotency-Key": idem},
            )

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(call, calls))


def outcomes(responses: list[httpx.Response]) -> dict[tuple[int, str | None], int]:
    counted: dict[tuple[int, str | None], int] = {}
    for r in responses:
        outcome = (r.status_code, r.json()["code"] if r.status_code >= 400 else None)
        counted[outcome] = counted.get(outcome, 0) + 1
    return counted


def test_40_redemptions_from_a_balance_that_affords_9(
    committed_engine: Engine, settings: Settings
) -> None:
    # 3,700 points and socks at 400: 9 can be afforded, 100 points are left.
    key, [member] = setup(committed_engine, [3700])
    calls = [(member, "socks", f"k{n}") for n in range(N)]

    with running_server(settings, committed_engine) as base:
        responses = race(base, key, calls)

    assert outcomes(responses) == {(201, None): 9, (409, "insufficient_points"): N - 9}
    with Session(committed_engine) as session:
        summary = queries.balance_summary(session, member)
        assert summary.available == 3700 - 9 * 400 == 100
        assert session.scalar(select(func.count()).select_from(RewardRedemption)) == 9
        assert session.scalar(select(func.count()).select_from(Coupon)) == 9
        assert verify(session) == []


def test_40_members_race_for_2_units(committed_engine: Engine, settings: Settings) -> None:
    key, members = setup(committed_engine, [500] * N)
    calls = [(member, "limited", "k") for member in members]

    with running_server(settings, committed_engine) as base:
        responses = race(base, key, calls)

    assert outcomes(responses) == {(201, None): 2, (409, "out_of_stock"): N - 2}
    with Session(committed_engine) as session:
        stock = session.get(RewardStock, "limited")
        assert stock is not None
        assert (stock.taken, stock.redeemed) == (2, 2)
        balances = sorted(queries.balance_summary(session, m).available for m in members)
        assert balances == [400, 400] + [500] * (N - 2)
        assert verify(session) == []


def test_40_retries_of_one_key_make_one_redemption(
    committed_engine: Engine, settings: Settings
) -> None:
    key, [member] = setup(committed_engine, [3700])
    calls: list[Any] = [(member, "voucher-100", "same") for _ in range(N)]

    with running_server(settings, committed_engine) as base:
        responses = race(base, key, calls)

    assert outcomes(responses) == {(201, None): 1, (200, None): N - 1}
    assert len({r.json()["id"] for r in responses}) == 1
    with Session(committed_engine) as session:
        assert queries.balance_summary(session, member).available == 2700
        assert verify(session) == []
