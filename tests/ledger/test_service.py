"""Golden tests of the ledger operations with exact numbers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.ledger.conftest import T0, new_member
from trofast.ledger import jobs, queries, service
from trofast.ledger.core import DebtPolicy, Reasons
from trofast.ledger.errors import (
    IdempotencyConflict,
    InsufficientPoints,
    InvalidLedgerRequest,
    MemberNotFound,
    NotReversible,
)
from trofast.ledger.verify import verify
from trofast.models import LedgerLot, LedgerTransaction

DAY = timedelta(days=1)


def balance(session: Session, customer_id: int) -> tuple[int, int]:
    summary = queries.balance_summary(session, customer_id, now=T0)
    return summary.pending, summary.available


def remaining(session: Session, customer_id: int) -> list[int]:
    return list(
        session.scalars(
            select(LedgerLot.remaining)
            .where(LedgerLot.customer_id == customer_id)
            .order_by(LedgerLot.id)
        )
    )


def transactions(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(LedgerTransaction)) or 0


def test_spend_consumes_soonest_expiring_lots_first(db_session: Session, member: int) -> None:
    s = db_session
    service.earn(s, member, "e1", 100, expires_at=T0 + 300 * DAY, now=T0)
    service.earn(s, member, "e2", 50, expires_at=T0 + 100 * DAY, now=T0)
    service.earn(s, member, "e3", 70, now=T0)  # never expires: spent last
    service.earn(s, member, "e4", 30, expires_at=T0 + 100 * DAY, now=T0 + DAY)

    service.spend(s, member, "s1", 120, now=T0 + 2 * DAY)

    # e2 (day 100, earned first) 50, e4 (day 100, earned later) 30, then 40 of e1 (day 300).
    assert remaining(s, member) == [60, 0, 70, 0]
    assert balance(s, member) == (0, 130)
    view = queries.history(s, member)[0]
    assert view.transaction.kind == "spend"
    assert view.member_change == -120
    assert sorted((p.account, p.amount) for p in view.postings) == [
        ("available", -50),
        ("available", -40),
        ("available", -30),
        ("redeemed", 120),
    ]
    assert verify(s) == []


def test_spend_beyond_the_balance_fails_and_changes_nothing(
    db_session: Session, member: int
) -> None:
    service.earn(db_session, member, "e1", 100, now=T0)
    before = transactions(db_session)
    with pytest.raises(InsufficientPoints) as caught, db_session.begin_nested():
        service.spend(db_session, member, "s1", 101, now=T0)
    assert caught.value.code == "insufficient_points"
    assert caught.value.detail == {"requested": 101, "available": 100}
    assert transactions(db_session) == before
    assert balance(db_session, member) == (0, 100)
    assert remaining(db_session, member) == [100]


def test_pending_points_settle_when_the_return_window_closes(
    db_session: Session, member: int
) -> None:
    s = db_session
    service.earn(s, member, "e1", 80, available_at=T0 + 14 * DAY, now=T0)
    assert balance(s, member) == (80, 0)
    with pytest.raises(InsufficientPoints), s.begin_nested():
        service.spend(s, member, "s1", 1, now=T0 + DAY)

    assert jobs.settle_due(s, now=T0 + 14 * DAY - timedelta(seconds=1)) == 0
    assert balance(s, member) == (80, 0)
    assert jobs.settle_due(s, now=T0 + 14 * DAY) == 1
    assert balance(s, member) == (0, 80)
    assert jobs.settle_due(s, now=T0 + 15 * DAY) == 0  # a second run moves nothing
    assert [v.transaction.kind for v in queries.history(s, member)] == ["settle", "earn"]
    assert verify(s) == []


def test_expiry_moves_only_the_unspent_remainder(db_session: Session, member: int) -> None:
    s = db_session
    service.earn(s, member, "e1", 100, expires_at=T0 + 30 * DAY, now=T0)
    service.earn(s, member, "e2", 40, now=T0)
    service.spend(s, member, "s1", 70, now=T0 + DAY)
    assert jobs.expire_due(s, now=T0 + 29 * DAY) == 0
    assert jobs.expire_due(s, now=T0 + 30 * DAY) == 1
    assert remaining(s, member) == [0, 40]
    assert balance(s, member) == (0, 40)
    expire = queries.history(s, member)[0]
    assert sorted((p.account, p.amount) for p in expire.postings) == [
        ("available", -30),
        ("expired", 30),
    ]
    assert verify(s) == []


def test_a_spend_after_expiry_does_not_use_expired_points_even_before_the_job(
    db_session: Session, member: int
) -> None:
    s = db_session
    service.earn(s, member, "e1", 100, expires_at=T0 + 30 * DAY, now=T0)
    service.earn(s, member, "e2", 10, now=T0)
    with pytest.raises(InsufficientPoints) as caught, s.begin_nested():
        service.spend(s, member, "s1", 50, now=T0 + 31 * DAY)
    assert caught.value.detail == {"requested": 50, "available": 10}
    service.spend(s, member, "s2", 10, now=T0 + 31 * DAY)
    kinds = [v.transaction.kind for v in queries.history(s, member)]
    assert kinds == ["spend", "expire", "earn", "earn"]
    assert balance(s, member) == (0, 0)
    assert verify(s) == []


def test_partial_refunds_reverse_in_proportion_and_the_last_one_exactly(
    db_session: Session, member: int
) -> None:
    s = db_session
    earned = service.earn(s, member, "e1", 100, reasons=Reasons(rule="per-krone"), now=T0)
    for n, refunded in enumerate((100, 200, 300), start=1):
        service.reverse(
            s, member, f"r{n}", earned.transaction_id, refunded_to_date=refunded,
            order_total=300, policy=DebtPolicy.clamp, now=T0,
        )  # fmt: skip
    changes = [v.member_change for v in queries.history(s, member)[:3]]
    assert changes == [-34, -33, -33]
    assert balance(s, member) == (0, 0)
    reversal = queries.history(s, member)[0].transaction
    assert reversal.reverses_id == earned.transaction_id
    assert reversal.rule == "per-krone"  # the rule that earned the points
    summary = queries.balance_summary(s, member, now=T0)
    assert summary.lifetime_earned == 0
    assert verify(s) == []


def test_reversing_a_pending_lot_takes_it_from_pending(db_session: Session, member: int) -> None:
    s = db_session
    earned = service.earn(s, member, "e1", 90, available_at=T0 + 14 * DAY, now=T0)
    service.reverse(
        s, member, "r1", earned.transaction_id, refunded_to_date=1, order_total=3,
        policy=DebtPolicy.clamp, now=T0 + DAY,
    )  # fmt: skip
    assert balance(s, member) == (60, 0)
    jobs.settle_due(s, now=T0 + 14 * DAY)
    assert balance(s, member) == (0, 60)
    assert verify(s) == []


def spent_then_refunded(s: Session, member: int, policy: DebtPolicy) -> None:
    earned = service.earn(s, member, "e1", 100, now=T0)
    service.earn(s, member, "e2", 5, expires_at=T0 + 10 * DAY, now=T0)
    service.spend(s, member, "s1", 95, now=T0)  # 5 of e2 first, then 90 of e1
    service.reverse(
        s, member, "r1", earned.transaction_id, refunded_to_date=1, order_total=1,
        policy=policy, now=T0,
    )  # fmt: skip


def test_allow_debt_leaves_a_negative_balance_that_earnings_repay(
    db_session: Session, member: int
) -> None:
    s = db_session
    spent_then_refunded(s, member, DebtPolicy.allow_debt)
    # 10 left in e1 go back; the 90 spent become debt.
    assert balance(s, member) == (0, -90)
    assert verify(s) == []
    service.earn(s, member, "e3", 50, now=T0)
    assert balance(s, member) == (0, -40)
    assert remaining(s, member) == [0, 0, 0]
    service.earn(s, member, "e4", 70, available_at=T0 + DAY, now=T0)
    jobs.settle_due(s, now=T0 + DAY)
    assert balance(s, member) == (0, 30)
    assert remaining(s, member) == [0, 0, 0, 30]
    with pytest.raises(InsufficientPoints), s.begin_nested():
        service.spend(s, member, "s2", 31, now=T0 + DAY)
    service.spend(s, member, "s3", 30, now=T0 + DAY)
    assert verify(s) == []


def test_clamp_stops_at_zero_and_records_the_written_off_points(
    db_session: Session, member: int
) -> None:
    s = db_session
    spent_then_refunded(s, member, DebtPolicy.clamp)
    assert balance(s, member) == (0, 0)
    sums = queries.history(s, member)[0].postings
    assert sorted((p.account, p.amount) for p in sums) == [
        ("available", -10),
        ("reversed", 100),
        ("written_off", -90),
    ]
    assert verify(s) == []


def test_replay_returns_the_first_result_and_another_request_is_a_conflict(
    db_session: Session, member: int
) -> None:
    s = db_session
    first = service.earn(s, member, "e1", 100, now=T0)
    again = service.earn(s, member, "e1", 100, now=T0 + DAY)
    assert again.transaction_id == first.transaction_id
    assert (first.replayed, again.replayed) == (False, True)
    with pytest.raises(IdempotencyConflict) as caught:
        service.earn(s, member, "e1", 101, now=T0)
    assert caught.value.status_code == 409
    assert caught.value.detail["transaction_id"] == first.transaction_id
    assert transactions(s) == 1
    assert balance(s, member) == (0, 100)


def test_adjustments_need_a_reason_and_record_the_acting_key(
    db_session: Session, member: int
) -> None:
    s = db_session
    with pytest.raises(InvalidLedgerRequest):
        service.adjust(s, member, "a0", 10, note="  ", api_key_id=None, now=T0)
    service.adjust(s, member, "a1", 25, note="goodwill: late delivery", api_key_id=None, now=T0)
    service.adjust(s, member, "a2", -5, note="double booking", api_key_id=None, now=T0)
    assert balance(s, member) == (0, 20)
    latest = queries.history(s, member)[0]
    assert latest.transaction.note == "double booking"
    assert sorted((p.account, p.amount) for p in latest.postings) == [
        ("adjustments", 5),
        ("available", -5),
    ]
    summary = queries.balance_summary(s, member, now=T0)
    assert summary.lifetime_earned == 0  # adjustments are not earnings
    assert verify(s) == []


def test_balance_summary_counts_points_expiring_in_30_60_90_days(
    db_session: Session, member: int
) -> None:
    s = db_session
    service.earn(s, member, "e1", 10, expires_at=T0 + 20 * DAY, now=T0)
    service.earn(s, member, "e2", 20, expires_at=T0 + 45 * DAY, now=T0)
    service.earn(s, member, "e3", 40, expires_at=T0 + 90 * DAY, now=T0)
    service.earn(s, member, "e4", 80, available_at=T0 + 14 * DAY, expires_at=T0 + 91 * DAY, now=T0)
    service.spend(s, member, "s1", 5, now=T0)
    summary = queries.balance_summary(s, member, now=T0)
    assert (summary.pending, summary.available, summary.lifetime_earned) == (80, 65, 150)
    assert summary.expiring == {30: 5, 60: 25, 90: 65}


def test_errors_for_unknown_members_and_unreversible_transactions(
    db_session: Session, member: int
) -> None:
    with pytest.raises(MemberNotFound):
        service.earn(db_session, 10**9, "x", 1, now=T0)
    service.earn(db_session, member, "e1", 10, now=T0)
    spent = service.spend(db_session, member, "s1", 10, now=T0)
    with pytest.raises(NotReversible):
        service.reverse(
            db_session, member, "r1", spent.transaction_id, refunded_to_date=1,
            order_total=1, policy=DebtPolicy.clamp, now=T0,
        )  # fmt: skip
    other = new_member(db_session, "kari@example.no")
    with pytest.raises(InvalidLedgerRequest):
        service.spend(db_session, other, "s2", 0, now=T0)
