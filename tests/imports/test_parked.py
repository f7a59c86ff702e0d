"""A refund that arrived before its order, and the order then came through the bulk import."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.customer.helpers import ingest, row_counts
from tests.imports.helpers import options, read
from tests.program.conftest import BASIC
from trofast.imports.service import ChunkResult, import_chunk
from trofast.ledger import queries
from trofast.ledger.verify import verify
from trofast.models import (
    Event,
    LedgerAccount,
    LedgerPosting,
    LedgerTransaction,
    Order,
    OrderLine,
    Refund,
)
from trofast.program import service as programmes

SOURCE = "shopify:shop.myshopify.com"
CSV = """order_id,line_id,email,created_at,sku,product_name,quantity,unit_price,currency
I-1,1,kari@example.no,2026-03-01T10:00:00Z,SKU-1,Ullgenser,2,499.00,NOK
I-1,2,kari@example.no,2026-03-01T10:00:00Z,SKU-2,Lue,1,200.00,NOK
I-2,1,ola@example.no,2026-03-02T10:00:00Z,SKU-1,Ullgenser,1,499.00,NOK
"""
REFUND = {
    "idempotency_key": "refund:I-1:R1",
    "type": "order.refunded",
    "occurred_at": "2026-03-05T09:00:00Z",
    "source": SOURCE,
    "order_id": "I-1",
    "refund": {
        "id": "R1",
        "currency": "NOK",
        "amount": "499.00",
        "lines": [{"line_id": "1", "quantity": 1, "amount": "499.00"}],
    },
}


def _import(session: Session, tmp_path: Path) -> list[ChunkResult]:
    path = tmp_path / "history.csv"
    path.write_text(CSV)
    opts = options(source=SOURCE)
    _, parts = read(path, opts)
    return [import_chunk(session, chunk, SOURCE) for chunk in parts]


def _order(session: Session, external_id: str) -> Order:
    return session.scalars(select(Order).where(Order.external_id == external_id)).one()


def _lines(session: Session, order_id: int) -> list[tuple[str, int, int]]:
    rows = session.execute(
        select(OrderLine.external_id, OrderLine.quantity, OrderLine.total_minor)
        .where(OrderLine.order_id == order_id)
        .order_by(OrderLine.external_id)
    )
    return [(e, q, t) for e, q, t in rows]


def _refund_event(session: Session) -> Event:
    return session.scalars(
        select(Event).where(Event.idempotency_key == REFUND["idempotency_key"])
    ).one()


def test_a_parked_refund_is_applied_when_the_import_brings_its_order(
    db_session: Session, tmp_path: Path
) -> None:
    # Given a refund for an order not seen yet: parked on a shell
    [parked] = ingest(db_session, REFUND)
    shell = _order(db_session, "I-1")
    assert (parked["status"], shell.snapshot_at) == ("parked", None)

    # When the order arrives through the bulk import
    [result] = _import(db_session, tmp_path)

    # Then the shell became the imported order, and the refund is applied to it
    assert result == ChunkResult(
        rows=3,
        orders_inserted=2,
        orders_skipped=0,
        lines_inserted=3,
        customers_created=2,
        events_released=1,
    )
    order = _order(db_session, "I-1")
    assert order.id == shell.id
    assert order.snapshot_at is not None
    assert (order.status, order.financial_status, order.total_minor, order.refunded_minor) == (
        "open",
        "partially_refunded",
        119800,
        49900,
    )
    assert order.paid_at == order.placed_at
    assert _lines(db_session, order.id) == [("1", 2, 99800), ("2", 1, 20000)]
    [refund] = db_session.scalars(select(Refund).where(Refund.order_id == order.id))
    assert (refund.external_id, refund.amount_minor) == ("R1", 49900)
    event = _refund_event(db_session)
    assert (event.status, event.parked_order_id) == ("applied", None)
    assert event.result is not None
    assert event.result["released"] is True
    # No programme in force: no points, and no ledger rows at all.
    assert db_session.scalars(select(LedgerTransaction)).first() is None


def test_importing_the_file_again_releases_nothing_twice(
    db_session: Session, tmp_path: Path
) -> None:
    ingest(db_session, REFUND)
    _import(db_session, tmp_path)
    before = row_counts(db_session)

    [again] = _import(db_session, tmp_path)

    assert again == ChunkResult(
        rows=3, orders_inserted=0, orders_skipped=2, lines_inserted=0, customers_created=0
    )
    assert row_counts(db_session) == before
    assert _order(db_session, "I-1").refunded_minor == 49900


@pytest.fixture
def programme(db_session: Session) -> int:
    return programmes.apply(db_session, BASIC).row.version


@pytest.mark.usefixtures("programme")
def test_under_a_programme_the_released_refund_reverses_the_returned_points(
    db_session: Session, tmp_path: Path
) -> None:
    ingest(db_session, REFUND)

    _import(db_session, tmp_path)

    # The same end state as a live order: earned on 1198.00 NOK plus the first-order
    # bonus, then the returned sweater's share reversed.
    order = _order(db_session, "I-1")
    assert order.customer_id is not None
    rows = db_session.execute(
        select(LedgerTransaction.kind, LedgerTransaction.rule, func.sum(LedgerPosting.amount))
        .join(LedgerPosting, LedgerPosting.transaction_id == LedgerTransaction.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
        .where(LedgerTransaction.order_id == order.id, LedgerAccount.customer_id.is_not(None))
        .group_by(LedgerTransaction.id, LedgerTransaction.kind, LedgerTransaction.rule)
        .order_by(LedgerTransaction.id)
    )
    # The bonus is spread over the lines by value: the sweater's share is 100 × 499/1198.
    assert [(k, r, int(n)) for k, r, n in rows] == [
        ("earn", "base", 1198),
        ("earn", "first", 100),
        ("reverse", "base", -499),
        ("reverse", "first", -41),
    ]
    assert sum(queries.pending_and_available(db_session, order.customer_id)) == 758
    # The other imported order, with nothing parked on it, earns nothing at import.
    other = _order(db_session, "I-2")
    assert other.customer_id is not None
    assert sum(queries.pending_and_available(db_session, other.customer_id)) == 0
    assert verify(db_session) == []


@pytest.mark.usefixtures("programme")
def test_the_live_order_reaches_the_same_points(db_session: Session) -> None:
    ingest(db_session, REFUND)
    live = {
        "idempotency_key": "order:I-1",
        "type": "order.placed",
        "occurred_at": "2026-03-01T10:00:00Z",
        "source": SOURCE,
        "order": {
            "id": "I-1",
            "currency": "NOK",
            "placed_at": "2026-03-01T10:00:00Z",
            "financial_status": "paid",
            "customer": {"email": "kari@example.no"},
            "lines": [
                {"id": "1", "sku": "SKU-1", "quantity": 2, "unit_price": "499.00"},
                {"id": "2", "sku": "SKU-2", "quantity": 1, "unit_price": "200.00"},
            ],
        },
    }

    ingest(db_session, live)

    order = _order(db_session, "I-1")
    assert order.customer_id is not None
    assert sum(queries.pending_and_available(db_session, order.customer_id)) == 758
