"""Values a session keeps for the rest of its current database transaction.

For facts a transaction may take as they were when it first read them (the programme in
force, the system accounts' ids), read once instead of once per event of a delivery; a
change another transaction commits meanwhile is seen from the session's next transaction.
The cache is dropped when any transaction or savepoint of the session ends: a rolled-back
savepoint cannot leave a value behind.

It also holds the last few entities an event read (`hold`), so that the next step asking
for the same row by primary key is answered from the session instead of the database.
"""

from __future__ import annotations

from collections import deque
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

_KEY = "trofast.transaction_cache"
_HELD = "trofast.held_rows"
# Enough for the rows one event reads more than once (its customer, the member's tier),
# few enough that a long import in one transaction does not keep every row it touched.
_HELD_ROWS = 16

Row = TypeVar("Row")


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    # Not for the subtransaction each flush opens inside the real one.
    if transaction.nested or transaction.parent is None:
        session.info.pop(_KEY, None)


def transaction_cache(session: Session) -> dict[str, Any]:
    cache: dict[str, Any] = session.info.setdefault(_KEY, {})
    return cache


def hold(session: Session, row: Row) -> Row:
    """Keep an entity this transaction read alive for the next few reads of it.

    The session's identity map holds entities weakly: a row read by one step of an event
    and dropped is read again by the next step that `session.get`s it. Held, the next
    `session.get` is answered from the map without a statement. Only for rows the
    transaction reads under a lock, or may take as they were when first read.
    """
    if row is not None:
        held: deque[Any] = transaction_cache(session).setdefault(_HELD, deque(maxlen=_HELD_ROWS))
        held.append(row)
    return row
