"""Ledger use cases: earn, spend, adjust, reverse. Services flush, the boundary commits.

Every write takes an idempotency key. A replay of the same request returns the first result
(`Entry.replayed` is True); the same key with another request raises `IdempotencyConflict`.
A failed write (e.g. `InsufficientPoints`) rolls back with the unit of work, key included,
so the caller may retry it with the same key later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from trofast.kit.time import ensure_utc, utc_now
from trofast.ledger import repository
from trofast.ledger.allocation import LotView, allocate, reversal_target
from trofast.ledger.core import (
    Accounts,
    Debt,
    DebtPolicy,
    Kind,
    Postings,
    Reasons,
    Request,
    Started,
    credit_available,
    member_accounts,
    start,
    start_all,
)
from trofast.ledger.errors import (
    InsufficientPoints,
    InvalidLedgerRequest,
    NotReversible,
    TransactionNotFound,
)
from trofast.ledger.jobs import expire_member

MAX_POINTS = 10**12


@dataclass(frozen=True, slots=True)
class Entry:
    """The result of a write: its transaction, and whether this call was a replay."""

    transaction_id: int
    replayed: bool


@dataclass(frozen=True, slots=True)
class Earning:
    """One lot to issue; `earn_all` issues several to one member at once."""

    key: str
    points: int
    reasons: Reasons = field(default_factory=Reasons)


def earn(
    session: Session,
    customer_id: int,
    key: str,
    points: int,
    *,
    available_at: datetime | None = None,
    expires_at: datetime | None = None,
    reasons: Reasons = Reasons(),
    now: datetime | None = None,
    effective_at: datetime | None = None,
    accounts: Accounts | None = None,
) -> Entry:
    """Issue a lot of `points`: pending until `available_at` if that is in the future.

    `accounts`: the member's accounts when the caller already holds their lock (from
    `member_accounts` in this transaction), which saves looking them up again per award.
    """
    (entry,) = earn_all(
        session, customer_id, [Earning(key, points, reasons)],
        available_at=available_at, expires_at=expires_at, now=now,
        effective_at=effective_at, accounts=accounts,
    )  # fmt: skip
    return entry


def earn_all(
    session: Session,
    customer_id: int,
    earnings: Sequence[Earning],
    *,
    available_at: datetime | None = None,
    expires_at: datetime | None = None,
    now: datetime | None = None,
    effective_at: datetime | None = None,
    accounts: Accounts | None = None,
) -> list[Entry]:
    """`earn` for several lots of one member with the same terms (an order's awards, one
    per rule): each its own transaction, written with one statement per table."""
    now = now or utc_now()
    for earning in earnings:
        _check_points(earning.points)
    if not earnings:
        return []
    pending = available_at is not None and ensure_utc(available_at) > now
    terms = {
        "available_at": available_at.isoformat() if available_at else None,
        "expires_at": expires_at.isoformat() if expires_at else None,
    }
    requests = [
        Request(e.key, {"points": e.points, **terms, **_reason_fields(e.reasons)}, e.reasons)
        for e in earnings
    ]
    accounts = accounts or member_accounts(session, customer_id, now)
    started = start_all(
        session, customer_id=customer_id, kind=Kind.earn, requests=requests, now=now,
        accounts=accounts, effective_at=effective_at,
    )  # fmt: skip
    issued = [
        (s.transaction_id, e.points)
        for s, e in zip(started, earnings, strict=True)
        if not s.replayed
    ]
    _new_lots(
        session, accounts, customer_id, issued,
        pending=pending, available_at=available_at, expires_at=expires_at, now=now,
        source="issued",
    )  # fmt: skip
    return [Entry(s.transaction_id, s.replayed) for s in started]


def spend(
    session: Session,
    customer_id: int,
    key: str,
    points: int,
    *,
    reasons: Reasons = Reasons(),
    now: datetime | None = None,
) -> Entry:
    """Debit `points` from the available balance, soonest-expiring lots first."""
    now = now or utc_now()
    _check_points(points)
    started = start(
        session,
        customer_id=customer_id,
        key=key,
        kind=Kind.spend,
        request={"points": points, **_reason_fields(reasons)},
        reasons=reasons,
        now=now,
        accounts=_locked_and_expired(session, customer_id, key, now),
    )
    if not started.replayed:
        _debit(session, started, customer_id, points, "redeemed", now)
    return Entry(started.transaction_id, started.replayed)


def adjust(
    session: Session,
    customer_id: int,
    key: str,
    points: int,
    *,
    note: str,
    api_key_id: int | None,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> Entry:
    """An admin correction: positive adds an available lot, negative debits like a spend."""
    now = now or utc_now()
    if points == 0 or abs(points) > MAX_POINTS:
        raise InvalidLedgerRequest("points must be non-zero", detail={"points": points})
    if not note.strip():
        raise InvalidLedgerRequest("an adjustment needs a reason")
    reasons = Reasons(note=note, api_key_id=api_key_id)
    started = start(
        session,
        customer_id=customer_id,
        key=key,
        kind=Kind.adjust,
        request={
            "points": points,
            "note": note,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
        reasons=reasons,
        now=now,
        accounts=_locked_and_expired(session, customer_id, key, now),
    )
    if started.replayed:
        return Entry(started.transaction_id, True)
    if points > 0:
        _new_lots(
            session, started.accounts, customer_id, [(started.transaction_id, points)],
            pending=False, available_at=None, expires_at=expires_at, now=now,
            source="adjustments",
        )  # fmt: skip
    else:
        _debit(session, started, customer_id, -points, "adjustments", now)
    return Entry(started.transaction_id, False)


def reverse(
    session: Session,
    customer_id: int,
    key: str,
    earning_transaction_id: int,
    *,
    refunded_to_date: int,
    order_total: int,
    policy: DebtPolicy,
    reasons: Reasons = Reasons(),
    now: datetime | None = None,
    effective_at: datetime | None = None,
) -> Entry:
    """Reverse an earning in proportion to what has been refunded of its order so far.

    `refunded_to_date / order_total` is the cumulative refunded share; this call reverses
    the difference between that share of the lot (rounded down, see `reversal_target`) and
    what earlier reversals took. Points no longer in the lot are taken from the member's
    other available lots; what is still missing becomes debt or is written off (`policy`).
    """
    now = now or utc_now()
    original = repository.get_transaction(session, earning_transaction_id)
    if original is None or original.customer_id != customer_id:
        raise TransactionNotFound(f"no earning transaction {earning_transaction_id}")
    if original.kind != Kind.earn:
        raise NotReversible(f"a {original.kind} transaction cannot be reversed")
    try:
        reversal_target(1, refunded_to_date, order_total)
    except ValueError as exc:
        raise InvalidLedgerRequest(str(exc)) from None
    reasons = Reasons(
        event_id=reasons.event_id,
        order_id=reasons.order_id or original.order_id,
        # The rule in force when the points were earned, not today's.
        programme_version=reasons.programme_version or original.programme_version,
        rule=reasons.rule or original.rule,
        note=reasons.note,
        api_key_id=reasons.api_key_id,
    )
    started = start(
        session,
        customer_id=customer_id,
        key=key,
        kind=Kind.reverse,
        request={
            "earning_transaction_id": earning_transaction_id,
            "refunded_to_date": refunded_to_date,
            "order_total": order_total,
            "policy": policy.value,
            **_reason_fields(reasons),
        },
        reasons=reasons,
        now=now,
        reverses_id=earning_transaction_id,
        debt_policy=policy,
        accounts=_locked_and_expired(session, customer_id, key, now),
        effective_at=effective_at,
    )
    if started.replayed:
        return Entry(started.transaction_id, True)
    accounts = started.accounts
    lot = repository.lot_of_transaction(session, earning_transaction_id)
    assert lot is not None
    done = repository.reversed_points(session, earning_transaction_id, accounts.system["reversed"])
    delta = reversal_target(lot.points, refunded_to_date, order_total) - done
    if delta <= 0:
        return Entry(started.transaction_id, False)  # recorded; this share was reversed before
    postings = Postings()
    from_lot = min(delta, lot.remaining)
    if from_lot:
        _take(session, lot.id, from_lot)
        postings.add(accounts.of_state(lot.state), -from_lot, lot.id)
    missing = delta - from_lot
    if missing:
        takes, missing = allocate(_spendable(session, customer_id, now), missing)
        for take in takes:
            _take(session, take.lot_id, take.points)
            postings.add(accounts.available, -take.points, take.lot_id)
    if missing and policy is DebtPolicy.allow_debt:
        postings.add(accounts.available, -missing, None)
    elif missing:
        postings.add(accounts.system["written_off"], -missing)
    postings.add(accounts.system["reversed"], delta)
    postings.write(session, started.transaction_id)
    return Entry(started.transaction_id, False)


def restore(
    session: Session,
    customer_id: int,
    key: str,
    spend_transaction_id: int,
    *,
    reasons: Reasons = Reasons(),
    now: datetime | None = None,
) -> Entry:
    """Give back the points of a spend, as new postings to new lots.

    Each lot the spend took from gets a new lot of the points taken, with that lot's expiry
    (and earning date, so it is spent in the same order): cancelling a redemption must not
    make points live longer than they would have. A new lot already past its expiry is
    expired at once, by its own transaction. Debt is repaid first, as with any credit.
    The spend's transaction is never touched; a spend is restored at most once.
    """
    now = now or utc_now()
    original = repository.get_transaction(session, spend_transaction_id)
    if original is None or original.customer_id != customer_id:
        raise TransactionNotFound(f"no spend transaction {spend_transaction_id}")
    if original.kind != Kind.spend:
        raise NotReversible(f"a {original.kind} transaction cannot be restored")
    started = start(
        session,
        customer_id=customer_id,
        key=key,
        kind=Kind.restore,
        request={"spend_transaction_id": spend_transaction_id, **_reason_fields(reasons)},
        reasons=reasons,
        now=now,
        reverses_id=spend_transaction_id,
        accounts=_locked_and_expired(session, customer_id, key, now),
    )
    if started.replayed:
        return Entry(started.transaction_id, True)
    if repository.restored_by(session, spend_transaction_id, started.transaction_id) is not None:
        raise NotReversible(
            f"spend {spend_transaction_id} was restored already",
            detail={"spend_transaction_id": spend_transaction_id},
        )
    accounts = started.accounts
    for take in repository.spend_takes(session, spend_transaction_id):
        lot_id = repository.insert_lot(
            session,
            {
                "customer_id": customer_id,
                "transaction_id": started.transaction_id,
                "points": take.points,
                "remaining": take.points,
                "state": "available",
                "earned_at": take.earned_at,
                "available_at": now,
                "expires_at": take.expires_at,
            },
        )
        # One balanced group per lot, written at once: the next lot's debt repayment must
        # see what this one repaid.
        postings = Postings()
        postings.add(accounts.system["redeemed"], -take.points)
        kept = credit_available(session, postings, accounts, lot_id, take.points)
        if kept != take.points:
            _take(session, lot_id, take.points - kept)
        postings.write(session, started.transaction_id)
    expire_member(session, accounts, customer_id, now)
    return Entry(started.transaction_id, False)


def _debit(
    session: Session, started: Started, customer_id: int, points: int, sink: str, now: datetime
) -> None:
    accounts = started.accounts
    lots = _spendable(session, customer_id, now)
    takes, missing = allocate(lots, points)
    if missing:
        available = sum(lot.remaining for lot in lots)
        raise InsufficientPoints(
            f"{points} points requested, {available} available",
            detail={"requested": points, "available": available},
        )
    postings = Postings()
    for take in takes:
        _take(session, take.lot_id, take.points)
        postings.add(accounts.available, -take.points, take.lot_id)
    postings.add(accounts.system[sink], points)
    postings.write(session, started.transaction_id)


def _locked_and_expired(session: Session, customer_id: int, key: str, now: datetime) -> Accounts:
    """Lock the member and expire its due lots first, as their own transactions.

    Points past their expiry are never spendable or reversible, even if the expiry job has
    not run yet; expiring them here keeps `available` equal to what can really be spent.
    A replay (the key is taken) changes nothing, not even expiry.
    """
    accounts = member_accounts(session, customer_id, now)
    if repository.transaction_by_key(session, key) is None:
        expire_member(session, accounts, customer_id, now)
    return accounts


def _new_lots(
    session: Session,
    accounts: Accounts,
    customer_id: int,
    issued: Sequence[tuple[int, int]],
    *,
    pending: bool,
    available_at: datetime | None,
    expires_at: datetime | None,
    now: datetime,
    source: str,
) -> None:
    """One lot per (transaction id, points), with each transaction's postings."""
    if not issued:
        return
    lot_ids = repository.insert_lots(
        session,
        [
            {
                "customer_id": customer_id,
                "transaction_id": transaction_id,
                "points": points,
                "remaining": points,
                "state": "pending" if pending else "available",
                "earned_at": now,
                "available_at": available_at if pending else now,
                "expires_at": expires_at,
            }
            for transaction_id, points in issued
        ],
    )
    debt = Debt(session, accounts)
    rows = []
    for transaction_id, points in issued:
        lot_id = lot_ids[transaction_id]
        postings = Postings()
        postings.add(accounts.system[source], -points)
        if pending:
            postings.add(accounts.pending, points, lot_id)
        else:
            kept = credit_available(session, postings, accounts, lot_id, points, debt)
            if kept != points:
                _take(session, lot_id, points - kept)
        rows += postings.rows_of(transaction_id)
    repository.insert_postings(session, rows)


def _spendable(session: Session, customer_id: int, now: datetime) -> list[LotView]:
    return [
        LotView(row.id, row.remaining, row.earned_at, row.expires_at)
        for row in repository.spendable_lots(session, customer_id, now)
    ]


def _take(session: Session, lot_id: int, points: int) -> None:
    # Under the member's lock this cannot fail; if it does, refuse rather than overdraw.
    if not repository.take_from_lot(session, lot_id, points):
        raise InsufficientPoints("a lot changed while it was being spent", detail={"lot": lot_id})


def _check_points(points: int) -> None:
    if not 0 < points <= MAX_POINTS:
        raise InvalidLedgerRequest("points must be positive", detail={"points": points})


def _reason_fields(reasons: Reasons) -> dict[str, object]:
    return {
        "event_id": reasons.event_id,
        "order_id": reasons.order_id,
        "programme_version": reasons.programme_version,
        "rule": reasons.rule,
        "note": reasons.note,
    }


def key_taken(session: Session, key: str) -> bool:
    """Whether a transaction already holds `key`: lets a caller skip a replay whose reasons
    (e.g. a later event id) would differ from the first request and so conflict."""
    return repository.transaction_by_key(session, key) is not None
