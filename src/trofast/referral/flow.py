"""A referral after the friend's arrival: the first order, its return window, the reward.

`order_changed` runs from the programme engine after every event about an order; the job
`trofast program referrals` (`complete_due`) rewards referrals whose first order's return
window closed without a further event. Both converge, in any order and any number of times:

- the friend's first paid, not cancelled order becomes the referral's first order, claimed
  under the referral's row lock (two first orders at once: one wins, the other is not first);
  the `first_order` abuse rules run then, on its address and payment fingerprints;
- a cancelled or refunded first order blocks the referral: it rewards nobody;
- when the first order's return window has closed the referrer earns `referrer_points`,
  available at once, keyed `referral:<id>:referrer`, within the weekly cap.

Locks are taken referral row first, then the referrer's ledger accounts, in every path.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from trofast.db import Job
from trofast.ledger import service as ledger
from trofast.ledger.core import Reasons
from trofast.models import Order, Referral
from trofast.program import tiering
from trofast.program.document import Programme
from trofast.program.expiry import expires_after
from trofast.program.service import Active, active
from trofast.referral import repository, rules


def expires_at(programme: Programme, now: datetime) -> datetime | None:
    """Referral points expire like any lot earned `now` (none under `policy: none`)."""
    policy = programme.expiry
    if policy.policy == "none" or policy.months is None:
        return None
    return expires_after(now, policy.months, round_to_month_end=policy.round_to_month_end)


def _due_at(programme: Programme, order: Order) -> datetime:
    assert order.paid_at is not None
    window = timedelta(days=programme.pending.return_window_days)
    return (order.delivered_at or order.paid_at) + window


def _week(at: datetime) -> date:
    day = at.date()
    return day - timedelta(days=day.weekday())


def order_changed(session: Session, program: Active, order: Order, now: datetime) -> None:
    """Bring the friend's referral in line with this order (a no-op for most orders)."""
    if program.programme.referrals is None or order.customer_id is None:
        return
    found = repository.of_friend(session, order.customer_id)
    if found is None or found.status != "pending":
        return
    if found.first_order_id not in (None, order.id):
        return
    referral = repository.lock(session, found.id)
    assert referral is not None
    _advance(session, program, referral, order, now)


def _advance(
    session: Session, program: Active, referral: Referral, order: Order, now: datetime
) -> None:
    """Under the referral's lock: claim the first order, check it, reward when it is due."""
    if referral.status != "pending":
        return
    if referral.first_order_id is None:
        if order.paid_at is None or order.status == "cancelled":
            return
        if not repository.claim_first_order(
            session, referral.id, order.id, _due_at(program.programme, order), now
        ):
            return
        session.refresh(referral)
        reason = None if referral.approved else _first_order_reason(session, referral, order)
        if reason is not None:
            _block(session, referral, reason, now)
            return
    if referral.first_order_id != order.id:
        return
    if order.status == "cancelled":
        _block(session, referral, "first_order_cancelled", now)
        return
    if repository.was_refunded(session, order.id):
        _block(session, referral, "first_order_returned", now)
        return
    due_at = _due_at(program.programme, order)
    if due_at != referral.due_at:  # a delivery starts the return window
        referral.due_at, referral.updated_at = due_at, now
        session.flush()
    if due_at <= now:
        _complete(session, program, referral, now)


def _first_order_reason(session: Session, referral: Referral, order: Order) -> str | None:
    found = repository.signals_of(session, order.id)

    def shared(kind: str) -> bool:
        value = found.get(kind)
        return value is not None and repository.customer_has_signal(
            session, referral.referrer_id, kind, value
        )

    return rules.first_order_reason(
        rules.FirstOrderFacts(same_address=shared("address"), same_payment=shared("payment"))
    )


def _block(session: Session, referral: Referral, reason: str, now: datetime) -> None:
    referral.status, referral.reason, referral.updated_at = "blocked", reason, now
    session.flush()


def _complete(session: Session, program: Active, referral: Referral, now: datetime) -> None:
    settings = program.programme.referrals
    assert settings is not None
    assert referral.due_at is not None
    cap = settings.max_rewarded_per_week
    # The week the first order came due, not the week a job happened to run: a backlog
    # completed on one day must not be counted against that day's week.
    if (
        cap is not None
        and not referral.approved
        and not repository.take_week_slot(
            session, referral.referrer_id, _week(referral.due_at), cap
        )
    ):
        _block(session, referral, "velocity_cap", now)
        return
    entry = ledger.earn(
        session,
        referral.referrer_id,
        f"referral:{referral.id}:referrer",
        settings.referrer_points,
        expires_at=expires_at(program.programme, now),
        reasons=Reasons(None, referral.first_order_id, program.version, "referral"),
        now=now,
        effective_at=referral.due_at,
    )
    referral.status, referral.completed_at = "completed", now
    referral.reward_transaction_id, referral.updated_at = entry.transaction_id, now
    session.flush()
    tiering.evaluate(session, program, referral.referrer_id, now)


def recheck(session: Session, program: Active, referral: Referral, now: datetime) -> None:
    """After an approval: take the friend's earliest paid order as the first order if none
    was claimed yet (a blocked referral ignored the friend's orders), then advance."""
    order_id = referral.first_order_id or repository.earliest_paid_order(
        session, referral.friend_id
    )
    if order_id is None:
        return
    _advance(session, program, referral, repository.order(session, order_id), now)


def complete_due(session: Session, now: datetime) -> int:
    """Reward every pending referral whose first order's return window has closed.

    All in the caller's transaction; `trofast program referrals` runs `COMPLETE` in batches."""
    return COMPLETE.run_all(session, now)


def complete(session: Session, referral_ids: Sequence[int], now: datetime) -> int:
    """Bring these referrals in line (rewarding those due); returns how many completed."""
    program = active(session)
    if program is None or program.programme.referrals is None:
        return 0
    done = 0
    for referral_id in sorted(referral_ids):
        referral = repository.lock(session, referral_id)
        assert referral is not None  # referrals are never deleted
        if referral.first_order_id is None:
            continue
        order = repository.order(session, referral.first_order_id)
        _advance(session, program, referral, order, now)
        done += referral.status == "completed"
    return done


def _due(session: Session, now: datetime) -> list[int]:
    program = active(session)
    if program is None or program.programme.referrals is None:
        return []
    return repository.due(session, now)


COMPLETE = Job("referrals", _due, complete)
