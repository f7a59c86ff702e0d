"""Time-driven ledger work: pending points become available, expired lots are emptied.

Each lot is settled or expired by its own transaction with a key derived from the lot
(`settle:lot:<id>`, `expire:lot:<id>`), so running a job twice, or two jobs at once, moves
every point exactly once. Members are processed in customer-id order: a job that holds
several members' locks takes them in one global order, so it cannot deadlock with another job.
`SETTLE` and `EXPIRE` are the same work for `trofast.db.run_job`, which commits every few
hundred members so that a run never holds a member's lock for long.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from trofast.db import Job
from trofast.kit.time import utc_now
from trofast.ledger import repository
from trofast.ledger.core import (
    Accounts,
    Kind,
    Postings,
    Reasons,
    credit_available,
    member_accounts,
    start,
)


def settle_due(session: Session, now: datetime | None = None) -> int:
    """Make every pending lot whose `available_at` has passed available; returns the count.

    All in the caller's transaction; `trofast ledger settle` runs `SETTLE` in batches."""
    return SETTLE.run_all(session, now or utc_now())


def expire_due(session: Session, now: datetime | None = None) -> int:
    """Move the remainder of every lot past `expires_at` to `expired`; returns the count."""
    return EXPIRE.run_all(session, now or utc_now())


def settle_members(session: Session, customer_ids: Sequence[int], now: datetime) -> int:
    """Settle these members' due pending lots; returns the lots settled."""
    return _per_member(session, customer_ids, now, _settle_member)


def expire_members(session: Session, customer_ids: Sequence[int], now: datetime) -> int:
    """Expire these members' due lots; returns the lots expired."""
    return _per_member(session, customer_ids, now, _expire_member)


SETTLE = Job("settle", repository.members_with_due_pending_lots, settle_members)
EXPIRE = Job("expire", repository.members_with_due_expiring_lots, expire_members)


def expire_member(session: Session, accounts: Accounts, customer_id: int, now: datetime) -> int:
    """Expire one member's due lots; the caller already holds the member's lock."""
    return _expire_member(session, accounts, customer_id, now)


def _per_member(
    session: Session,
    customer_ids: Sequence[int],
    now: datetime,
    work: Callable[[Session, Accounts, int, datetime], int],
) -> int:
    done = 0
    for customer_id in sorted(customer_ids):
        accounts = member_accounts(session, customer_id, now)
        done += work(session, accounts, customer_id, now)
    return done


def _settle_member(session: Session, accounts: Accounts, customer_id: int, now: datetime) -> int:
    # Re-read under the member's lock: another job may have settled these lots meanwhile.
    lots = repository.due_pending_lots(session, now, customer_id)
    for lot in lots:
        if lot.remaining == 0:
            # Fully reversed while pending: nothing to move, only the state changes.
            repository.mark_lot_available(session, lot.id, 0)
            continue
        started = start(
            session,
            customer_id=customer_id,
            key=f"settle:lot:{lot.id}",
            kind=Kind.settle,
            request={"lot_id": lot.id},
            reasons=Reasons(),
            now=now,
            accounts=accounts,
        )
        if started.replayed:
            continue
        postings = Postings()
        postings.add(accounts.pending, -lot.remaining, lot.id)
        kept = credit_available(session, postings, accounts, lot.id, lot.remaining)
        postings.write(session, started.transaction_id)
        repository.mark_lot_available(session, lot.id, kept)
    return len(lots)


def _expire_member(session: Session, accounts: Accounts, customer_id: int, now: datetime) -> int:
    lots = repository.due_expiring_lots(session, now, customer_id)
    for lot in lots:
        started = start(
            session,
            customer_id=customer_id,
            key=f"expire:lot:{lot.id}",
            kind=Kind.expire,
            request={"lot_id": lot.id},
            reasons=Reasons(),
            now=now,
            accounts=accounts,
        )
        if started.replayed:
            continue
        if not repository.take_from_lot(session, lot.id, lot.remaining):
            raise AssertionError(f"lot {lot.id} changed under the member's lock")
        postings = Postings()
        postings.add(accounts.of_state(lot.state), -lot.remaining, lot.id)
        postings.add(accounts.system["expired"], lot.remaining)
        postings.write(session, started.transaction_id)
    return len(lots)
