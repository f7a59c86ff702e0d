"""`trofast ledger verify`: every ledger invariant, checked over the whole database.

Each check is one set-based query that returns the violating rows (none when the ledger is
sound), so the cost is a few scans whatever the number of members. This module is the
repository of those queries; it reads only. Balances are not cached anywhere (they are sums
of postings), so "a cached balance equals its postings" holds by construction; the one
cached figure, `ledger_lots.remaining`, is checked against its postings here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

from sqlalchemy import Select, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from trofast.models import LedgerAccount, LedgerLot, LedgerPosting, LedgerTransaction

EXAMPLES = 5
Query: TypeAlias = Select[*tuple[Any, ...]]

P, A, L, T = LedgerPosting, LedgerAccount, LedgerLot, LedgerTransaction
_MEMBER = A.kind.in_(("pending", "available"))


@dataclass(frozen=True, slots=True)
class Violation:
    check: str
    description: str
    count: int
    examples: list[dict[str, Any]]


def _unbalanced() -> Query:
    total = func.sum(P.amount)
    return (
        select(P.transaction_id, total.label("sum")).group_by(P.transaction_id).having(total != 0)
    )


def _lot_sums() -> Any:
    return (
        select(
            P.lot_id,
            func.sum(P.amount).label("total"),
            func.sum(case((A.kind == "pending", P.amount), else_=0)).label("in_pending"),
            func.sum(case((A.kind == "available", P.amount), else_=0)).label("in_available"),
        )
        .join(A, A.id == P.account_id)
        .where(P.lot_id.is_not(None), _MEMBER)
        .group_by(P.lot_id)
        .subquery()
    )


def _lot_bounds() -> Query:
    return select(L.id, L.points, L.remaining).where(
        or_(L.points <= 0, L.remaining < 0, L.remaining > L.points)
    )


def _lot_remaining() -> Query:
    sums = _lot_sums()
    held = func.coalesce(sums.c.total, 0)
    return (
        select(L.id, L.remaining, held.label("postings"))
        .outerjoin(sums, sums.c.lot_id == L.id)
        .where(held != L.remaining)
    )


def _lot_state() -> Query:
    sums = _lot_sums()
    return (
        select(L.id, L.state, sums.c.in_pending, sums.c.in_available)
        .join(sums, sums.c.lot_id == L.id)
        .where(
            or_(
                and_(L.state == "pending", sums.c.in_available != 0),
                and_(L.state == "available", sums.c.in_pending != 0),
                L.state.not_in(("pending", "available")),
            )
        )
    )


def _pending_without_lot() -> Query:
    return (
        select(P.id, P.transaction_id, P.amount)
        .join(A, A.id == P.account_id)
        .where(A.kind == "pending", P.lot_id.is_(None))
    )


def _foreign_member_posting() -> Query:
    return (
        select(P.id, P.transaction_id, A.customer_id.label("account_customer"), T.customer_id)
        .join(A, A.id == P.account_id)
        .join(T, T.id == P.transaction_id)
        .where(_MEMBER, A.customer_id != T.customer_id)
    )


def _available_totals() -> Any:
    return (
        select(
            A.customer_id,
            func.sum(P.amount).label("balance"),
            func.sum(case((P.lot_id.is_(None), P.amount), else_=0)).label("lotless"),
        )
        .join(P, P.account_id == A.id)
        .where(A.kind == "available")
        .group_by(A.customer_id)
        .subquery()
    )


def _negative_without_debt_policy() -> Query:
    totals = _available_totals()
    allowed = exists().where(T.customer_id == totals.c.customer_id, T.debt_policy == "allow_debt")
    return select(totals.c.customer_id, totals.c.balance).where(totals.c.balance < 0, ~allowed)


def _debt_shape() -> Query:
    totals = _available_totals()
    spendable = exists().where(
        L.customer_id == totals.c.customer_id, L.state == "available", L.remaining > 0
    )
    # Lot-less available postings are debt and its repayment: they can never sum above
    # zero, and while a debt is open every earning repays it before it can be spent.
    return select(totals.c.customer_id, totals.c.lotless).where(
        or_(totals.c.lotless > 0, and_(totals.c.lotless < 0, spendable))
    )


def _duplicate_keys() -> Query:
    n = func.count()
    return (
        select(T.idempotency_key, n.label("transactions")).group_by(T.idempotency_key).having(n > 1)
    )


def _lot_owner() -> Query:
    earning = aliased(LedgerTransaction)
    return (
        select(L.id, L.customer_id, earning.customer_id.label("transaction_customer"))
        .join(earning, earning.id == L.transaction_id)
        .where(earning.customer_id != L.customer_id)
    )


CHECKS: dict[str, tuple[str, Callable[[], Query]]] = {
    "unbalanced_transaction": ("postings of a transaction do not sum to zero", _unbalanced),
    "lot_out_of_bounds": ("a lot's remaining is outside 0..points", _lot_bounds),
    "lot_remaining_mismatch": ("a lot's remaining differs from its postings", _lot_remaining),
    "lot_in_wrong_account": ("a lot's points sit in the account of another state", _lot_state),
    "pending_without_lot": ("a pending posting names no lot", _pending_without_lot),
    "foreign_member_posting": (
        "a transaction posts to another member's account",
        _foreign_member_posting,
    ),
    "negative_available": (
        "an available balance is below zero without a debt-allowing reversal",
        _negative_without_debt_policy,
    ),
    "debt_inconsistent": (
        "debt is positive, or open while the member holds spendable lots",
        _debt_shape,
    ),
    "duplicate_idempotency_key": ("more than one transaction for a key", _duplicate_keys),
    "lot_owner_mismatch": ("a lot belongs to another member than its earning", _lot_owner),
}


def verify(session: Session, timings: dict[str, float] | None = None) -> list[Violation]:
    """Every violated invariant with its count and a few examples; empty when sound.

    `timings`, when given, receives the seconds each check took (for the benchmark).
    """
    found: list[Violation] = []
    for name, (description, query) in CHECKS.items():
        stmt = query()
        started = time.perf_counter()
        count = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
        if timings is not None:
            timings[name] = time.perf_counter() - started
        if count:
            rows = session.execute(stmt.limit(EXAMPLES)).mappings()
            found.append(Violation(name, description, count, [dict(r) for r in rows]))
    return found
