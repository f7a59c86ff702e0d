"""The first-order bonus is earned once per member, whatever order deliveries arrive in.

Found by the concurrency test: with orders delivered out of placement order, each order
that found no *earlier-placed* paid order took the bonus, so one member earned it three
times out of 200 orders.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.ingest.factories import order_body
from tests.program.conftest import Ingest
from trofast.models import LedgerTransaction, Order


def _bonuses(session: Session) -> list[str]:
    """External ids of the orders that earned the first-order bonus."""
    return list(
        session.scalars(
            select(Order.external_id)
            .join(LedgerTransaction, LedgerTransaction.order_id == Order.id)
            .where(LedgerTransaction.kind == "earn", LedgerTransaction.rule == "first")
            .order_by(LedgerTransaction.id)
        )
    )


def test_an_earlier_order_arriving_late_earns_no_second_bonus(
    db_session: Session, programme: int, ingest: Ingest
) -> None:
    later = "2026-03-10T10:00:00Z"
    ingest(order_body("1002", placed_at=later, updated_at=later))
    ingest(order_body("1001"))  # placed 1 March, delivered after 1002

    assert _bonuses(db_session) == ["1002"]


def test_a_cancelled_first_order_leaves_the_bonus_to_the_next(
    db_session: Session, programme: int, ingest: Ingest
) -> None:
    ingest(order_body("1001"))
    ingest(
        {
            "idempotency_key": "cancel:1001",
            "type": "order.cancelled",
            "occurred_at": "2026-03-02T08:00:00Z",
            "order_id": "1001",
        }
    )
    later = "2026-03-10T10:00:00Z"
    ingest(order_body("1002", placed_at=later, updated_at=later))

    # 1001 earned it and gave it back with everything else when it was cancelled.
    assert _bonuses(db_session) == ["1001", "1002"]
