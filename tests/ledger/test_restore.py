"""`restore`: a spend given back as new lots with the original expiry, at most once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.ledger.conftest import T0
from trofast.ledger import queries, service
from trofast.ledger.core import DebtPolicy
from trofast.ledger.errors import NotReversible
from trofast.ledger.verify import verify
from trofast.models import LedgerLot


def test_restore_makes_new_lots_and_repays_debt_first(db_session: Session, member: int) -> None:
    soon = T0 + timedelta(days=30)
    earned = service.earn(db_session, member, "e1", 100, expires_at=soon, now=T0)
    spend = service.spend(db_session, member, "s1", 80, now=T0)
    # A full reversal of the earning with debt allowed: 20 from the lot, 80 owed.
    service.reverse(
        db_session, member, "r1", earned.transaction_id, refunded_to_date=1, order_total=1,
        policy=DebtPolicy.allow_debt, now=T0,
    )  # fmt: skip
    assert queries.balance_summary(db_session, member, T0).available == -80

    restored = service.restore(db_session, member, "back", spend.transaction_id, now=T0)

    lots = db_session.execute(
        select(LedgerLot.points, LedgerLot.remaining, LedgerLot.expires_at).where(
            LedgerLot.transaction_id == restored.transaction_id
        )
    ).all()
    assert [tuple(lot) for lot in lots] == [(80, 0, soon)]  # all 80 repaid the debt
    assert queries.balance_summary(db_session, member, T0).available == 0
    assert verify(db_session) == []


def test_a_spend_is_restored_once(db_session: Session, member: int) -> None:
    service.earn(db_session, member, "e1", 100, now=T0)
    spend = service.spend(db_session, member, "s1", 60, now=T0)

    first = service.restore(db_session, member, "back", spend.transaction_id, now=T0)
    again = service.restore(db_session, member, "back", spend.transaction_id, now=T0)
    with pytest.raises(NotReversible):
        service.restore(db_session, member, "other-key", spend.transaction_id, now=T0)

    assert (again.transaction_id, again.replayed) == (first.transaction_id, True)
    assert queries.balance_summary(db_session, member, T0).available == 100


def test_only_spends_can_be_restored(db_session: Session, member: int) -> None:
    earned = service.earn(db_session, member, "e1", 100, now=T0)

    with pytest.raises(NotReversible):
        service.restore(db_session, member, "back", earned.transaction_id, now=T0)
