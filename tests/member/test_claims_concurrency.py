"""One receipt claimed many times at once, over real HTTP with real commits.

On PostgreSQL the claims overlap: the conditional UPDATE of the order's `customer_id`
decides, and the losers find the receipt taken after the winner commits. On SQLite they
queue on BEGIN IMMEDIATE. Either way exactly one claim wins and the points are earned once.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.member.helpers import PROGRAMME, receipt
from tests.support.server import running_server
from trofast.auth import service as auth
from trofast.auth.scopes import Scope
from trofast.config import Settings
from trofast.db import build_sessionmaker, unit_of_work
from trofast.models import LedgerTransaction, Order, ReceiptClaim
from trofast.program import service as programmes

N = 20


def keys(engine: Engine) -> tuple[dict[str, str], dict[str, str]]:
    with unit_of_work(build_sessionmaker(engine)) as session:
        programmes.apply(session, PROGRAMME.format(enrolment="opt_in"))
        shop = auth.create_key(session, "shop", [Scope.storefront]).secret
        till = auth.create_key(session, "till", [Scope.pos]).secret
    return {"Authorization": f"Bearer {shop}"}, {"Authorization": f"Bearer {till}"}


def members(client: httpx.Client, shop: dict[str, str], count: int) -> list[tuple[int, str]]:
    """(member id, the member's own token) for `count` new members."""
    found = []
    for n in range(count):
        body = {"customer": {"email": f"m{n}@example.no"}, "source": "web"}
        member = client.post("/v1/members", json=body, headers=shop).json()["member_id"]
        token = client.post(f"/v1/members/{member}/tokens", headers=shop).json()["token"]
        found.append((member, token))
    return found


def race(base: str, claimants: list[tuple[int, str]]) -> list[httpx.Response]:
    barrier = threading.Barrier(len(claimants))

    def claim(claimant: tuple[int, str]) -> httpx.Response:
        member, token = claimant
        with httpx.Client(base_url=base, timeout=120) as client:
            barrier.wait()
            return client.post(
                f"/v1/members/{member}/claims",
                json={"number": "4711", "amount": "249.90"},
                headers={"Authorization": f"Bearer {token}"},
            )

    with ThreadPoolExecutor(max_workers=len(claimants)) as pool:
        return list(pool.map(claim, claimants))


def outcome(responses: list[httpx.Response]) -> Counter[tuple[int, str | None]]:
    return Counter(
        (r.status_code, r.json()["code"] if r.status_code >= 400 else None) for r in responses
    )


def stored(engine: Engine) -> tuple[int | None, list[int], dict[int, int]]:
    """(the receipt's owner, claim rows' members, base points earned per member)."""
    with Session(engine) as session:
        owner = session.scalars(select(Order.customer_id).where(Order.number == "4711")).one()
        claims = list(session.scalars(select(ReceiptClaim.customer_id)))
        earned = Counter[int]()
        for customer_id in session.scalars(
            select(LedgerTransaction.customer_id).where(
                LedgerTransaction.kind == "earn", LedgerTransaction.rule == "base"
            )
        ):
            earned[customer_id] += 1
        return owner, claims, dict(earned)


def setup(base: str, engine: Engine, count: int) -> list[tuple[int, str]]:
    shop, till = keys(engine)
    at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    with httpx.Client(base_url=base, timeout=60) as client:
        sent = client.post(
            "/v1/pos/receipts",
            json={"store": "oslo-1", "receipts": [receipt("R1", "4711", "249.90", at=at)]},
            headers=till,
        )
        assert sent.status_code == 200, sent.text
        return members(client, shop, count)


def test_one_member_claiming_one_receipt_twenty_times_at_once_wins_once(
    committed_engine: Engine, settings: Settings
) -> None:
    with running_server(settings, committed_engine) as base:
        [kari] = setup(base, committed_engine, 1)
        responses = race(base, [kari] * N)

    assert outcome(responses) == {(201, None): 1, (409, "already_claimed"): N - 1}
    [won] = [r.json() for r in responses if r.status_code == 201]
    assert won["points"] == 249
    assert stored(committed_engine) == (kari[0], [kari[0]], {kari[0]: 1})


def test_twenty_members_claiming_one_receipt_at_once_one_wins(
    committed_engine: Engine, settings: Settings
) -> None:
    with running_server(settings, committed_engine) as base:
        claimants = setup(base, committed_engine, N)
        responses = race(base, claimants)

    assert outcome(responses) == {(201, None): 1, (409, "already_claimed"): N - 1}
    [won] = [r.json() for r in responses if r.status_code == 201]
    winner = won["member_id"]
    assert stored(committed_engine) == (winner, [winner], {winner: 1})
