"""All SQL of the points ledger (the whole-database checks live in `verify.py`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session

from trofast.kit.sql import insert_ignore_all
from trofast.models import (
    Customer,
    LedgerAccount,
    LedgerLot,
    LedgerPosting,
    LedgerTransaction,
)
from trofast.models.ledger import DUE_EXPIRING, DUE_PENDING

_LOT_COLUMNS = (
    LedgerLot.id,
    LedgerLot.customer_id,
    LedgerLot.transaction_id,
    LedgerLot.points,
    LedgerLot.remaining,
    LedgerLot.state,
    LedgerLot.earned_at,
    LedgerLot.available_at,
    LedgerLot.expires_at,
)


def customer_exists(session: Session, customer_id: int) -> bool:
    return session.scalar(select(Customer.id).where(Customer.id == customer_id)) is not None


# Statements an order event runs are built once and bound per call (the `_` constants in
# this module): building one with fresh literals cost about as much as executing it.
_EXISTING_ACCOUNTS = select(LedgerAccount.name, LedgerAccount.id).where(
    LedgerAccount.name.in_(bindparam("names", expanding=True))
)


def existing_accounts(session: Session, names: Sequence[str]) -> dict[str, int]:
    """Ids of the accounts among `names` that exist, by name."""
    rows = session.execute(_EXISTING_ACCOUNTS, {"names": list(names)})
    return {row.name: row.id for row in rows}


def ensure_accounts(
    session: Session,
    wanted: Sequence[tuple[str, str, int | None]],
    now: datetime,
    *,
    found: dict[str, int] | None = None,
) -> tuple[dict[str, int], set[str]]:
    """Account ids by name, creating the missing ones; `wanted` is (name, kind, customer_id).
    Also the names this call created.

    `found`: what `existing_accounts` already returned for these names, if the caller has it.
    """
    if found is None:
        found = existing_accounts(session, [name for name, _, _ in wanted])
    found = dict(found)
    missing = [
        {"name": name, "kind": kind, "customer_id": customer_id, "created_at": now}
        for name, kind, customer_id in wanted
        if name not in found
    ]
    if not missing:
        return found, set()
    created = _insert_accounts(session, missing)
    found.update(created)
    # Two first transactions of one member race to create its accounts: the loser of the
    # INSERT ... ON CONFLICT reads the winner's rows instead of failing.
    lost = [str(row["name"]) for row in missing if row["name"] not in found]
    if lost:
        found.update(existing_accounts(session, lost))
    return found, set(created)


def _insert_accounts(session: Session, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    table = LedgerAccount.__table__
    returning = (LedgerAccount.name, LedgerAccount.id)
    found = insert_ignore_all(session, table, rows, ["name"], returning)  # type: ignore[arg-type]
    return {row.name: row.id for row in found}


_LOCK_ACCOUNTS = (
    select(LedgerAccount.id)
    .where(LedgerAccount.id.in_(bindparam("ids", expanding=True)))
    .order_by(LedgerAccount.id)
    .with_for_update()
)


def lock_accounts(session: Session, account_ids: Iterable[int]) -> None:
    """Row locks in primary-key order, so two writers of the same accounts never deadlock.

    On SQLite FOR UPDATE is dropped, and BEGIN IMMEDIATE has already serialised writers.
    """
    session.execute(_LOCK_ACCOUNTS, {"ids": sorted(set(account_ids))}).all()


_LOCK_ACCOUNTS_NAMED = (
    select(LedgerAccount.name, LedgerAccount.id)
    .where(LedgerAccount.name.in_(bindparam("names", expanding=True)))
    .order_by(LedgerAccount.id)
    .with_for_update()
)


def lock_accounts_named(session: Session, names: Sequence[str]) -> dict[str, int]:
    """`lock_accounts` by name for accounts that may not exist yet: ids of those that do."""
    return {row.name: row.id for row in session.execute(_LOCK_ACCOUNTS_NAMED, {"names": names})}


def insert_transactions(session: Session, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert transactions in one statement; the new ones' ids by idempotency key (a key
    already taken is skipped and absent from the result)."""
    table = LedgerTransaction.__table__
    returning = (LedgerTransaction.id, LedgerTransaction.idempotency_key)
    found = insert_ignore_all(session, table, rows, ["idempotency_key"], returning)  # type: ignore[arg-type]
    return {row.idempotency_key: row.id for row in found}


def transactions_by_keys(session: Session, keys: Sequence[str]) -> dict[str, LedgerTransaction]:
    found = session.scalars(
        select(LedgerTransaction).where(LedgerTransaction.idempotency_key.in_(keys))
    )
    return {row.idempotency_key: row for row in found}


def transaction_by_key(session: Session, key: str) -> LedgerTransaction | None:
    return session.scalars(
        select(LedgerTransaction).where(LedgerTransaction.idempotency_key == key)
    ).one_or_none()


def get_transaction(session: Session, transaction_id: int) -> LedgerTransaction | None:
    return session.get(LedgerTransaction, transaction_id)


def insert_lots(session: Session, rows: Sequence[dict[str, Any]]) -> dict[int, int]:
    """Insert lots in one statement; their ids by transaction id (one lot per transaction)."""
    table = LedgerLot.__table__
    # The Core table: the ORM's bulk INSERT would split the rows by their NULL columns.
    stmt = insert(table).returning(table.c.id, table.c.transaction_id)  # type: ignore[arg-type]
    return {row.transaction_id: row.id for row in session.execute(stmt, list(rows))}


def insert_lot(session: Session, values: dict[str, Any]) -> int:
    lot_id = session.execute(insert(LedgerLot).values(**values).returning(LedgerLot.id)).scalar()
    assert lot_id is not None
    return lot_id


def insert_postings(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Postings of one or more transactions (each row names its `transaction_id`)."""
    if rows:
        # The Core table, not the ORM entity: the ORM's bulk INSERT splits rows by which
        # values are NULL (here `lot_id`), one statement per group instead of one in all.
        session.execute(insert(LedgerPosting.__table__), list(rows))  # type: ignore[arg-type]


def take_from_lot(session: Session, lot_id: int, points: int) -> bool:
    """Conditional decrement: False (nothing changed) if the lot holds fewer than `points`."""
    result = session.execute(
        update(LedgerLot)
        .where(LedgerLot.id == lot_id, LedgerLot.remaining >= points)
        .values(remaining=LedgerLot.remaining - points)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def mark_lot_available(session: Session, lot_id: int, remaining: int) -> None:
    session.execute(
        update(LedgerLot)
        .where(LedgerLot.id == lot_id, LedgerLot.state == "pending")
        .values(state="available", remaining=remaining)
        .execution_options(synchronize_session=False)
    )


def lot_of_transaction(session: Session, transaction_id: int) -> Row[Any] | None:
    row = session.execute(
        select(*_LOT_COLUMNS).where(LedgerLot.transaction_id == transaction_id)
    ).first()
    return cast("Row[Any] | None", row)


def spendable_lots(session: Session, customer_id: int, now: datetime) -> list[Row[Any]]:
    return list(
        session.execute(
            select(*_LOT_COLUMNS).where(
                LedgerLot.customer_id == customer_id,
                LedgerLot.state == "available",
                LedgerLot.remaining > 0,
                (LedgerLot.expires_at.is_(None)) | (LedgerLot.expires_at > now),
            )
        )
    )


# The due-lot indexes' predicates, literally (models/ledger.py): with a bound parameter in
# their place, PostgreSQL's generic plan for the prepared statement cannot use them.
_DUE_PENDING = (text(DUE_PENDING), LedgerLot.available_at <= bindparam("now"))
_DUE_EXPIRING = (text(DUE_EXPIRING), LedgerLot.expires_at <= bindparam("now"))


def due_pending_lots(session: Session, now: datetime, customer_id: int) -> list[Row[Any]]:
    return _lots_of(session, customer_id, now, _DUE_PENDING)


def due_expiring_lots(session: Session, now: datetime, customer_id: int) -> list[Row[Any]]:
    return _lots_of(session, customer_id, now, _DUE_EXPIRING)


def members_with_due_pending_lots(session: Session, now: datetime) -> list[int]:
    return _members_with(session, now, _DUE_PENDING)


def members_with_due_expiring_lots(session: Session, now: datetime) -> list[int]:
    return _members_with(session, now, _DUE_EXPIRING)


def _lots_of(
    session: Session, customer_id: int, now: datetime, due: tuple[Any, ...]
) -> list[Row[Any]]:
    stmt = select(*_LOT_COLUMNS).where(LedgerLot.customer_id == customer_id, *due)
    return list(session.execute(stmt.order_by(LedgerLot.id), {"now": now}))


def _members_with(session: Session, now: datetime, due: tuple[Any, ...]) -> list[int]:
    # Deduplicated and sorted here: asked for DISTINCT, SQLite scans the (customer, state)
    # index in order instead of searching the due-lot index.
    return sorted(set(session.scalars(select(LedgerLot.customer_id).where(*due), {"now": now})))


# Every balance shown (member page, till lookup, ladder) reads this: built once.
_SUMS_BY_ACCOUNT_KIND = (
    select(LedgerAccount.kind, func.coalesce(func.sum(LedgerPosting.amount), 0))
    .select_from(LedgerTransaction)
    .join(LedgerPosting, LedgerPosting.transaction_id == LedgerTransaction.id)
    .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
    .where(LedgerTransaction.customer_id == bindparam("customer_id"))
    .group_by(LedgerAccount.kind)
)


def sums_by_account_kind(session: Session, customer_id: int) -> dict[str, int]:
    """Per account kind, the sum of the postings of this member's transactions."""
    rows = session.execute(_SUMS_BY_ACCOUNT_KIND, {"customer_id": customer_id})
    return {kind: int(total) for kind, total in rows}


_ACCOUNT_SUM = select(func.coalesce(func.sum(LedgerPosting.amount), 0)).where(
    LedgerPosting.account_id == bindparam("account_id")
)
_LOTLESS_SUM = _ACCOUNT_SUM.where(LedgerPosting.lot_id.is_(None))


def account_sum(session: Session, account_id: int, *, lotless: bool = False) -> int:
    stmt = _LOTLESS_SUM if lotless else _ACCOUNT_SUM
    return int(session.scalar(stmt, {"account_id": account_id}) or 0)


def reversed_points(session: Session, earning_transaction_id: int, reversed_account: int) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(LedgerPosting.amount), 0))
            .join(LedgerTransaction, LedgerTransaction.id == LedgerPosting.transaction_id)
            .where(
                LedgerTransaction.reverses_id == earning_transaction_id,
                LedgerPosting.account_id == reversed_account,
            )
        )
        or 0
    )


def expiring_between(session: Session, customer_id: int, start: datetime, end: datetime) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(LedgerLot.remaining), 0)).where(
                LedgerLot.customer_id == customer_id,
                LedgerLot.remaining > 0,
                LedgerLot.expires_at > start,
                LedgerLot.expires_at <= end,
            )
        )
        or 0
    )


def history(
    session: Session, customer_id: int, before_id: int | None, limit: int
) -> list[LedgerTransaction]:
    stmt = select(LedgerTransaction).where(LedgerTransaction.customer_id == customer_id)
    if before_id is not None:
        stmt = stmt.where(LedgerTransaction.id < before_id)
    return list(session.scalars(stmt.order_by(LedgerTransaction.id.desc()).limit(limit)))


def postings_of(session: Session, transaction_ids: Sequence[int]) -> list[Row[Any]]:
    if not transaction_ids:
        return []
    return list(
        session.execute(
            select(
                LedgerPosting.transaction_id,
                LedgerPosting.amount,
                LedgerPosting.lot_id,
                LedgerAccount.kind,
                LedgerAccount.customer_id,
            )
            .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
            .where(LedgerPosting.transaction_id.in_(transaction_ids))
            .order_by(LedgerPosting.id)
        )
    )


def spend_takes(session: Session, spend_transaction_id: int) -> list[Row[Any]]:
    """What a debit took from each lot (positive `points`), with the lot's dates."""
    return list(
        session.execute(
            select(
                LedgerPosting.lot_id,
                (-LedgerPosting.amount).label("points"),
                LedgerLot.earned_at,
                LedgerLot.expires_at,
            )
            .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
            .join(LedgerLot, LedgerLot.id == LedgerPosting.lot_id)
            .where(
                LedgerPosting.transaction_id == spend_transaction_id,
                LedgerAccount.kind == "available",
                LedgerPosting.amount < 0,
            )
            .order_by(LedgerPosting.id)
        )
    )


def restored_by(session: Session, spend_transaction_id: int, other_than: int) -> int | None:
    """The restore of this spend written by another transaction, if any."""
    return session.scalar(
        select(LedgerTransaction.id).where(
            LedgerTransaction.reverses_id == spend_transaction_id,
            LedgerTransaction.kind == "restore",
            LedgerTransaction.id != other_than,
        )
    )
