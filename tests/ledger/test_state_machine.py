"""A Hypothesis state machine over the ledger, checked against a plain model after every step.

The model keeps, per member, its lots (points, remaining, state, dates), its open debt and
what each earning had reversed; the rules say what the ledger should do, in the simplest
terms: expire what is due before a debit, consume soonest-expiring lots first, repay debt
from new available points first. After every step `verify` must find nothing and every
balance and lot must equal the model's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.ledger.conftest import T0, new_member
from tests.ledger.model import Lot, Member
from trofast.ledger import jobs, queries, service
from trofast.ledger.allocation import reversal_target
from trofast.ledger.core import DebtPolicy
from trofast.ledger.errors import IdempotencyConflict, InsufficientPoints
from trofast.ledger.verify import verify
from trofast.models import LedgerLot

ORDER_TOTAL = 1000
MEMBERS = 2


@dataclass(frozen=True)
class Done:
    """A request that succeeded, and how to send it again exactly."""

    key: str
    member_id: int
    transaction_id: int
    replay: Callable[[], service.Entry]


class LedgerMachine(RuleBasedStateMachine):
    engine: Engine

    def __init__(self) -> None:
        super().__init__()
        self.connection = self.engine.connect()
        self.outer = self.connection.begin()
        self.session = Session(bind=self.connection, join_transaction_mode="create_savepoint")
        self.now = T0
        self.seq = 0
        self.members: list[Member] = []
        self.done: list[Done] = []

    @initialize()
    def members_join(self) -> None:
        for n in range(MEMBERS):
            self.members.append(Member(new_member(self.session, f"m{n}@example.no")))

    def teardown(self) -> None:
        self.session.close()
        self.outer.rollback()
        self.connection.close()

    def _record(
        self, key: str, member: Member, entry: service.Entry, replay: Callable[[], service.Entry]
    ) -> None:
        self.done.append(Done(key, member.id, entry.transaction_id, replay))

    def _key(self) -> str:
        self.seq += 1
        return f"k{self.seq}"

    @rule(
        m=st.integers(0, MEMBERS - 1),
        points=st.integers(1, 500),
        pending_days=st.none() | st.integers(0, 20),
        expiry_days=st.none() | st.integers(1, 60),
    )
    def earn(self, m: int, points: int, pending_days: int | None, expiry_days: int | None) -> None:
        member, key = self.members[m], self._key()
        available_at = None if pending_days is None else self.now + timedelta(days=pending_days)
        expires_at = None if expiry_days is None else self.now + timedelta(days=expiry_days)
        with self.session.begin_nested():
            entry = service.earn(
                self.session, member.id, key, points,
                available_at=available_at, expires_at=expires_at, now=self.now,
            )  # fmt: skip
        pending = available_at is not None and available_at > self.now
        lot = Lot(
            self.seq, points, points, "pending" if pending else "available", self.now,
            available_at, expires_at, entry.transaction_id,
        )  # fmt: skip
        member.lots.append(lot)
        member.earned += points
        if not pending:
            member.credit(lot)
        self._record(key, member, entry, lambda: service.earn(
            self.session, member.id, key, points,
            available_at=available_at, expires_at=expires_at, now=self.now,
        ))  # fmt: skip

    @rule(m=st.integers(0, MEMBERS - 1), points=st.integers(1, 400))
    def spend(self, m: int, points: int) -> None:
        member, key = self.members[m], self._key()
        affordable = sum(lot.remaining for lot in member.spendable(self.now))
        try:
            with self.session.begin_nested():
                entry = service.spend(self.session, member.id, key, points, now=self.now)
        except InsufficientPoints:
            assert points > affordable
            return
        assert points <= affordable
        member.expire(self.now)
        assert member.take(member.spendable(self.now), points) == 0
        self._record(
            key,
            member,
            entry,
            lambda: service.spend(self.session, member.id, key, points, now=self.now),
        )

    @precondition(lambda self: any(m.lots for m in self.members))
    @rule(
        data=st.data(),
        policy=st.sampled_from(DebtPolicy),
    )
    def refund(self, data: st.DataObject, policy: DebtPolicy) -> None:
        m = data.draw(st.sampled_from([i for i, x in enumerate(self.members) if x.lots]))
        member, key = self.members[m], self._key()
        lot = data.draw(st.sampled_from(member.lots))
        refunded = data.draw(st.integers(lot.refunded, ORDER_TOTAL))
        with self.session.begin_nested():
            entry = service.reverse(
                self.session, member.id, key, lot.transaction_id, refunded_to_date=refunded,
                order_total=ORDER_TOTAL, policy=policy, now=self.now,
            )  # fmt: skip
        member.expire(self.now)
        delta = reversal_target(lot.points, refunded, ORDER_TOTAL) - lot.reversed
        lot.refunded = refunded
        if delta > 0:
            lot.reversed += delta
            member.reversed += delta
            from_lot = min(delta, lot.remaining)
            lot.remaining -= from_lot
            missing = member.take(member.spendable(self.now), delta - from_lot)
            if policy is DebtPolicy.allow_debt:
                member.debt += missing
        self._record(key, member, entry, lambda: service.reverse(
            self.session, member.id, key, lot.transaction_id, refunded_to_date=refunded,
            order_total=ORDER_TOTAL, policy=policy, now=self.now,
        ))  # fmt: skip

    @rule()
    def settle(self) -> None:
        with self.session.begin_nested():
            jobs.settle_due(self.session, now=self.now)
        for member in self.members:
            for lot in member.lots:
                if lot.state == "pending" and lot.available_at and lot.available_at <= self.now:
                    lot.state = "available"
                    member.credit(lot)

    @rule()
    def expire(self) -> None:
        with self.session.begin_nested():
            jobs.expire_due(self.session, now=self.now)
        for member in self.members:
            member.expire(self.now)

    @rule(hours=st.integers(1, 24 * 20))
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    @precondition(lambda self: self.done)
    @rule(data=st.data())
    def duplicate_request(self, data: st.DataObject) -> None:
        done = data.draw(st.sampled_from(self.done))
        with self.session.begin_nested():
            entry = done.replay()
        assert (entry.transaction_id, entry.replayed) == (done.transaction_id, True)

    @precondition(lambda self: self.done)
    @rule(data=st.data())
    def same_key_other_request(self, data: st.DataObject) -> None:
        done = data.draw(st.sampled_from(self.done))
        try:
            with self.session.begin_nested():
                service.spend(self.session, done.member_id, done.key, 10**6, now=self.now)
        except IdempotencyConflict:
            return
        raise AssertionError("a different request under a used key was accepted")

    @invariant()
    def ledger_matches_the_model(self) -> None:
        if not self.members:
            return
        assert verify(self.session) == []
        for member in self.members:
            summary = queries.balance_summary(self.session, member.id, now=self.now)
            pending = sum(lot.remaining for lot in member.lots if lot.state == "pending")
            available = sum(lot.remaining for lot in member.lots if lot.state == "available")
            assert summary.pending == pending
            assert summary.available == available - member.debt
            assert summary.lifetime_earned == member.earned - member.reversed
            rows = self.session.execute(
                select(LedgerLot.remaining, LedgerLot.state)
                .where(LedgerLot.customer_id == member.id)
                .order_by(LedgerLot.id)
            ).all()
            assert [tuple(r) for r in rows] == [(lot.remaining, lot.state) for lot in member.lots]


def test_ledger_state_machine(engine: Engine) -> None:
    LedgerMachine.engine = engine
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
