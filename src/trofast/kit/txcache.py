"""Values a session keeps for the rest of its current database transaction.

For facts a transaction may take as they were when it first read them (the programme in
force, the system accounts' ids), read once instead of once per event of a delivery; a
change another transaction commits meanwhile is seen from the session's next transaction.
The cache is dropped when any transaction or savepoint of the session ends: a rolled-back
savepoint cannot leave a value behind.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

_KEY = "trofast.transaction_cache"


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    # Not for the subtransaction each flush opens inside the real one.
    if transaction.nested or transaction.parent is None:
        session.info.pop(_KEY, None)


def transaction_cache(session: Session) -> dict[str, Any]:
    cache: dict[str, Any] = session.info.setdefault(_KEY, {})
    return cache
