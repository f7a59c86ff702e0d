"""Concurrent writers against one member, with real commits.

On PostgreSQL the transactions really overlap and the member's account rows are the lock
that serialises them; on SQLite they queue on BEGIN IMMEDIATE and must not fail with
"database is locked". Both databases run these tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.ledger.conftest import T0, new_member
from trofast.db import build_sessionmaker, unit_of_work
from trofast.ledger import queries, service
from trofast.ledger.errors import InsufficientPoints
from trofast.ledger.verify import verify
from trofast.models import LedgerTransaction

N = 50
R = TypeVar("R")


def all_at_once(n: int, work: Callable[[int], R]) -> list[R]:
    barrier = threading.Barrier(n)

    def run(i: int) -> R:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def setup_member(engine: Engine, *lots: int) -> int:
    with unit_of_work(build_sessionmaker(engine)) as session:
        member = new_member(session)
        for n, points in enumerate(lots):
            service.earn(session, member, f"setup-{n}", points, now=T0)
    return member


def test_50_concurrent_spends_never_overdraw(committed_engine: Engine) -> None:
    member = setup_member(committed_engine, 400, 300, 300)
    factory = build_sessionmaker(committed_engine)

    def spend(i: int) -> str:
        try:
            with unit_of_work(factory) as session:
                service.spend(session, member, f"spend-{i}", 30)
        except InsufficientPoints:
            return "insufficient"
        return "ok"

    outcomes = all_at_once(N, spend)

    assert outcomes.count("ok") == 33  # 1000 // 30
    assert outcomes.count("insufficient") == N - 33
    with Session(committed_engine) as session:
        summary = queries.balance_summary(session, member)
        assert (summary.pending, summary.available) == (0, 10)
        spends = session.scalar(select(func.count()).where(LedgerTransaction.kind == "spend"))
        assert spends == 33
        assert verify(session) == []


def test_50_concurrent_duplicates_make_one_transaction(committed_engine: Engine) -> None:
    member = setup_member(committed_engine)  # no accounts yet: they are created in the race
    factory = build_sessionmaker(committed_engine)

    def earn(_: int) -> tuple[int, bool]:
        with unit_of_work(factory) as session:
            entry = service.earn(session, member, "order-1:earn", 120, now=T0)
        return entry.transaction_id, entry.replayed

    results = all_at_once(N, earn)

    assert len({transaction_id for transaction_id, _ in results}) == 1
    assert [replayed for _, replayed in results].count(False) == 1
    with Session(committed_engine) as session:
        assert session.scalar(select(func.count()).select_from(LedgerTransaction)) == 1
        assert queries.balance_summary(session, member).available == 120
        assert verify(session) == []


def test_50_concurrent_first_earnings_of_a_member_all_count(committed_engine: Engine) -> None:
    # No accounts yet: one transaction creates them (and, having inserted the rows, takes no
    # lock on them); the others wait on its INSERT, then lock the rows it committed.
    member = setup_member(committed_engine)
    factory = build_sessionmaker(committed_engine)

    def earn(i: int) -> bool:
        with unit_of_work(factory) as session:
            return service.earn(session, member, f"order-{i}:earn", 10 + i, now=T0).replayed

    replays = all_at_once(N, earn)

    assert replays == [False] * N
    with Session(committed_engine) as session:
        assert session.scalar(select(func.count()).select_from(LedgerTransaction)) == N
        assert queries.balance_summary(session, member).available == sum(10 + i for i in range(N))
        assert verify(session) == []
