"""Time-driven jobs run in batches (`trofast.db.run_job`): each batch is its own unit of
work, so a run holds a member's lock for one batch, keeps what it did when it crashes, and
runs a batch again when it loses a deadlock to a request."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tests.ledger.conftest import new_member
from trofast.db import Job, build_sessionmaker, run_job, unit_of_work
from trofast.ledger import jobs, queries
from trofast.ledger import service as ledger
from trofast.ledger.verify import verify
from trofast.models import LedgerLot

EARNED = datetime(2026, 3, 1, tzinfo=UTC)
DUE = EARNED + timedelta(days=15)


def _members_with_pending_points(engine: Engine, count: int) -> list[int]:
    """`count` members with one lot of 10 + n points each, pending until 14 days on."""
    with unit_of_work(build_sessionmaker(engine)) as session:
        members = [new_member(session, f"m{n}@example.no") for n in range(count)]
        for n, member in enumerate(members):
            ledger.earn(
                session, member, f"earn:{member}", 10 + n,
                available_at=EARNED + timedelta(days=14), now=EARNED,
            )  # fmt: skip
    return members


def _available(engine: Engine, members: Sequence[int]) -> list[int]:
    with unit_of_work(build_sessionmaker(engine)) as session:
        return [queries.pending_and_available(session, m)[1] for m in members]


class Crash(Exception):
    pass


def test_a_crashed_run_keeps_its_finished_batches_and_the_next_run_does_the_rest(
    committed_engine: Engine,
) -> None:
    members = _members_with_pending_points(committed_engine, 5)
    factory = build_sessionmaker(committed_engine)

    def crash_at_the_last_member(session: Session, ids: Sequence[int], now: datetime) -> int:
        if members[-1] in ids:
            raise Crash
        return jobs.settle_members(session, ids, now)

    with pytest.raises(Crash):
        run_job(factory, Job("settle", jobs.SETTLE.due, crash_at_the_last_member), DUE, batch=2)

    # Two batches of two committed; the third rolled back.
    assert _available(committed_engine, members) == [10, 11, 12, 13, 0]

    assert run_job(factory, jobs.SETTLE, DUE, batch=2) == 1  # only the lot left

    assert _available(committed_engine, members) == [10, 11, 12, 13, 14]
    with unit_of_work(factory) as session:
        assert session.scalars(select(LedgerLot.state)).all() == ["available"] * 5
        assert verify(session) == []


def test_a_member_of_a_finished_batch_is_not_locked_while_the_run_goes_on(
    committed_engine: Engine, is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("SQLite has no row locks: BEGIN IMMEDIATE serialises every writer")
    members = _members_with_pending_points(committed_engine, 4)
    locked_meanwhile: list[bool] = []

    def settle_then_probe(session: Session, ids: Sequence[int], now: datetime) -> int:
        done = jobs.settle_members(session, ids, now)
        if members[-1] in ids:  # the last batch: is the first batch's member free?
            locked_meanwhile.append(_is_locked(committed_engine, members[0]))
        return done

    run_job(
        build_sessionmaker(committed_engine), Job("settle", jobs.SETTLE.due, settle_then_probe),
        DUE, batch=2,
    )  # fmt: skip

    assert locked_meanwhile == [False]
    assert _available(committed_engine, members) == [10, 11, 12, 13]


def _is_locked(engine: Engine, customer_id: int) -> bool:
    with engine.connect() as conn:
        try:
            conn.execute(_NOWAIT, {"name": f"member:{customer_id}:available"}).all()
        except OperationalError:
            return True
        finally:
            conn.rollback()
    return False


_NOWAIT = text("SELECT id FROM ledger_accounts WHERE name = :name FOR UPDATE NOWAIT")


class _Deadlock(Exception):
    sqlstate = "40P01"


def test_a_batch_that_loses_a_deadlock_is_run_again(committed_engine: Engine) -> None:
    members = _members_with_pending_points(committed_engine, 3)
    attempts: list[list[int]] = []

    def deadlock_once(session: Session, ids: Sequence[int], now: datetime) -> int:
        attempts.append(list(ids))
        done = jobs.settle_members(session, ids, now)
        if len(attempts) == 1:
            raise OperationalError("SELECT ...", {}, _Deadlock())
        return done

    job = Job("settle", jobs.SETTLE.due, deadlock_once)
    assert run_job(build_sessionmaker(committed_engine), job, DUE, batch=2) == 3

    assert attempts == [members[:2], members[:2], members[2:]]
    assert _available(committed_engine, members) == [10, 11, 12]


def test_an_error_that_is_not_a_deadlock_is_raised(committed_engine: Engine) -> None:
    members = _members_with_pending_points(committed_engine, 1)

    def broken(session: Session, ids: Sequence[int], now: datetime) -> int:
        raise OperationalError("SELECT ...", {}, Exception("server closed the connection"))

    with pytest.raises(OperationalError):
        run_job(build_sessionmaker(committed_engine), Job("settle", jobs.SETTLE.due, broken), DUE)

    assert _available(committed_engine, members) == [0]


def test_nothing_due_runs_nothing(committed_engine: Engine) -> None:
    members = _members_with_pending_points(committed_engine, 2)

    assert run_job(build_sessionmaker(committed_engine), jobs.SETTLE, EARNED) == 0
    assert _available(committed_engine, members) == [0, 0]
