"""Many deliveries about one member at once, over real HTTP, under a programme.

Runs on both databases: on PostgreSQL the requests really overlap in separate transactions
and the member's account rows serialise the points; on SQLite they queue on BEGIN
IMMEDIATE and must not fail with "database is locked". Either way every response is a
2xx, every order earns each rule exactly once and the balance is the exact sum.

Found here: orders delivered out of placement order each took the first-order bonus (see
test_first_order.py), and 50 simultaneous adjustments stalled until the connection pool
timed out (the sync endpoint needed a second worker thread, while holding the member's
lock, to validate its response).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.ingest.factories import order_body, refund_body
from tests.ledger.conftest import new_member
from tests.ledger.test_concurrency import all_at_once
from tests.program import model
from tests.program.model import Line
from tests.support.server import running_server
from trofast.auth import service as auth
from trofast.auth.scopes import Scope
from trofast.config import Settings
from trofast.db import build_sessionmaker, unit_of_work
from trofast.kit.time import utc_now
from trofast.ledger import queries
from trofast.ledger.verify import verify
from trofast.models import (
    Customer,
    Delivery,
    Event,
    LedgerTransaction,
    MemberTier,
    Order,
    TierChange,
)
from trofast.program import service

# The earning rules of the state machine's version 1 (so its model computes the points),
# with tiers that multiply nothing: the sum must not depend on which order came first.
PROGRAMME = """
name: Concurrency club
currency: NOK
pending: {return_window_days: 14}
earning:
  - {id: base, kind: spend, rates: {NOK: 1}}
  - {id: wool, kind: multiplier, factor: 1.5, categories: [wool]}
  - {id: first, kind: first_order, points: 100}
tiers:
  metric: points
  period: lifetime
  levels:
    - {id: base, name: Base, threshold: 0}
    - {id: silver, name: Silver, threshold: 20000}
    - {id: gold, name: Gold, threshold: 60000}
"""
ORDERS = 160
DUPLICATES = 40  # 160 + 40 = 200 order events
LINE_REFUNDS = {10: {0: 1}, 20: {0: 1}, 30: {1: 1}, 70: {0: 2, 1: 1}}  # order → line → quantity
AMOUNT_REFUNDS = {40: 10_000, 50: 25_075}  # order → merchandise refunded, minor units
EMAIL = "kari@example.no"


def _lines(n: int) -> list[Line]:
    return [Line(2, 10_050 + 100 * n, wool=True, gift_card=False), Line(1, 4_990, False, False)]


def _money(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def _events() -> list[dict[str, Any]]:
    # Paid three weeks ago: the return window has closed, points are available at once.
    start = utc_now().replace(microsecond=0) - timedelta(days=21)
    orders = []
    for n in range(ORDERS):
        at = (start + timedelta(minutes=n)).isoformat()
        lines = [
            {
                "id": f"L{i}",
                "category": "wool" if line.wool else "other",
                "quantity": line.quantity,
                "unit_price": _money(line.unit_minor),
            }
            for i, line in enumerate(_lines(n))
        ]
        orders.append(
            order_body(
                f"{n}", key=f"placed:{n}", email=EMAIL, placed_at=at, updated_at=at, lines=lines
            )
        )
    refunds = []
    for n, by_line in LINE_REFUNDS.items():
        lines = [
            {"line_id": f"L{i}", "quantity": q, "amount": _money(q * _lines(n)[i].unit_minor)}
            for i, q in by_line.items()
        ]
        refunds.append(
            refund_body(
                f"{n}",
                amount=_money(sum(_lines(n)[i].unit_minor * q for i, q in by_line.items())),
                lines=lines,
            )
        )
    for n, amount in AMOUNT_REFUNDS.items():
        refunds.append(refund_body(f"{n}", amount=_money(amount), lines=[]))
    events = orders + [orders[n] for n in range(0, ORDERS, ORDERS // DUPLICATES)] + refunds
    random.Random(7).shuffle(events)
    return events


def _expected(first: int) -> tuple[int, set[tuple[str, str]]]:
    """The member's points and its (order, rule) earnings, given which order was first."""
    total, earned = 0, set()
    for n in range(ORDERS):
        order = model.Order(f"{n}", 0, _lines(n), utc_now())
        order.refunded = dict(LINE_REFUNDS.get(n, {}))
        order.unlined = AMOUNT_REFUNDS.get(n, 0)
        rules, level = model.VERSIONS[1], model.LEVELS[0]
        for rule, lines in model.awards(rules, order.lines, first=n == first, level=level):
            total += sum(lines.values()) - model.reversal_target(order, lines)
            earned.add((f"{n}", rule))
    return total, earned


def test_200_concurrent_order_events_for_one_member(
    committed_engine: Engine, settings: Settings
) -> None:
    with unit_of_work(build_sessionmaker(committed_engine)) as session:
        service.apply(session, PROGRAMME)
        key = auth.create_key(session, "load", [Scope.ingest]).secret
    events = _events()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    with running_server(settings, committed_engine) as url, httpx.Client(timeout=120) as client:

        def send(body: dict[str, Any]) -> tuple[int, str]:
            r = client.post(f"{url}/v1/events", content=json.dumps(body), headers=headers)
            return r.status_code, r.json()["results"][0]["status"] if r.is_success else r.text

        with ThreadPoolExecutor(max_workers=32) as pool:
            responses = list(pool.map(send, events))

    assert [status for status, _ in responses] == [200] * len(events), responses
    assert Counter(outcome for _, outcome in responses)["duplicate"] == DUPLICATES
    with Session(committed_engine) as session:
        customer = session.scalars(select(Customer.id)).one()  # every event found the one member
        assert session.scalar(select(func.count()).select_from(Order)) == ORDERS
        assert session.scalar(select(func.count()).select_from(Event)) == ORDERS + 6
        failed = select(func.count()).where(Delivery.status.in_(("failed", "rejected")))
        assert session.scalar(failed) == 0
        earns = session.execute(
            select(Order.external_id, LedgerTransaction.rule)
            .join(Order, Order.id == LedgerTransaction.order_id)
            .where(LedgerTransaction.kind == "earn")
        ).all()
        # The first-order bonus went to exactly one order: the member's first paid one,
        # whichever the concurrent deliveries made first.
        firsts = [order for order, rule in earns if rule == "first"]
        assert len(firsts) == 1
        total, earned = _expected(int(firsts[0]))
        assert sorted(earns) == sorted(earned)  # one transaction per (order, rule), no more
        summary = queries.balance_summary(session, customer)
        assert (summary.pending, summary.available, summary.lifetime_earned) == (0, total, total)
        assert verify(session) == []
        tier = session.get(MemberTier, customer)
        assert tier is not None
        assert (tier.level, total >= 60_000) == ("gold", True)
        changes = session.execute(
            select(TierChange.from_level, TierChange.to_level).order_by(TierChange.id)
        ).all()
        # Serialised per member: each change starts from the level the previous one left.
        assert [c.from_level for c in changes[1:]] == [c.to_level for c in changes[:-1]]
        assert changes[-1].to_level == "gold"


def test_the_same_adjustment_from_50_threads_makes_one_transaction(
    committed_engine: Engine, settings: Settings
) -> None:
    with unit_of_work(build_sessionmaker(committed_engine)) as session:
        member = new_member(session)
        key = auth.create_key(session, "admin", [Scope.admin]).secret
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "goodwill-1"}
    body = {"points": 250, "reason": "goodwill: late delivery"}

    with running_server(settings, committed_engine) as url, httpx.Client(timeout=60) as client:
        target = f"{url}/v1/members/{member}/adjustments"

        def post(_: int) -> tuple[int, int]:
            r = client.post(target, json=body, headers=headers)
            return r.status_code, r.json()["id"] if r.is_success else r.status_code

        responses = all_at_once(50, post)
        other = client.post(target, json={**body, "points": 300}, headers=headers)

    assert sorted(status for status, _ in responses) == [200] * 49 + [201]
    assert len({transaction for _, transaction in responses}) == 1
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_conflict")
    with Session(committed_engine) as session:
        kinds = session.scalars(select(LedgerTransaction.kind)).all()
        assert kinds == ["adjust"]
        summary = queries.balance_summary(session, member)
        assert (summary.available, summary.lifetime_earned) == (250, 0)
        assert verify(session) == []
