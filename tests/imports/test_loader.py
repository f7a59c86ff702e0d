"""The loader's fast path keeps the guarantees of the set-based INSERT it replaced.

On PostgreSQL orders and lines are COPYed; an order that a concurrent writer inserted after
the chunk's existence check sends the chunk to the conflict-tolerant path, and foreign keys
are checked once per parent only while they are the tables' only insert triggers.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from psycopg.errors import ForeignKeyViolation
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trofast.imports import repository, repository_postgres
from trofast.models import Order, OrderLine

NOW = datetime(2025, 1, 1, tzinfo=UTC)
PLACED = datetime(2024, 6, 1, 12, 30, tzinfo=UTC)


def _orders(ids: list[str], customer_id: int | None = None) -> pl.DataFrame:
    n = len(ids)
    return pl.DataFrame(
        {
            "external_id": ids,
            "customer_id": [customer_id] * n,
            "channel": ["web"] * n,
            "store_id": [None] * n,
            "email": [None] * n,
            "phone": [None] * n,
            "currency": ["NOK"] * n,
            "subtotal_minor": [1250] * n,
            "discount_minor": [0] * n,
            "total_minor": [1250] * n,
            "placed_at": [PLACED] * n,
        },
        schema_overrides={
            "customer_id": pl.Int64,
            "store_id": pl.Int64,
            "email": pl.String,
            "phone": pl.String,
            "placed_at": pl.Datetime("us", "UTC"),
        },
    )


def _lines(ids: list[str]) -> pl.DataFrame:
    n = len(ids)
    return pl.DataFrame(
        {
            "order_external_id": ids,
            "external_id": ["1"] * n,
            "sku": [None] * n,
            "product_id": [None] * n,
            "name": ["Lue"] * n,
            "category": [None] * n,
            "quantity": [1] * n,
            "unit_price_minor": [1250] * n,
            "discount_minor": [0] * n,
            "total_minor": [1250] * n,
        },
        schema_overrides={"sku": pl.String, "product_id": pl.Int64, "category": pl.String},
    )


def _count(session: Session, model: type[Order] | type[OrderLine]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_an_order_written_meanwhile_is_skipped_with_its_lines(db_session: Session) -> None:
    # Given A-1 was written by another writer after this chunk checked what exists
    assert repository.insert_orders(
        db_session, "import:test", _orders(["A-1"]), _lines(["A-1"]), NOW
    ) == (1, 1)

    # When the chunk with is loaded
    result = repository.insert_orders(
        db_session, "import:test", _orders(["A-1", "A-2"]), _lines(["A-1", "A-2"]), NOW
    )

    # Then only A-2 and its line are written; A-1 keeps its single line
    assert result == (1, 1)
    assert (_count(db_session, Order), _count(db_session, OrderLine)) == (2, 2)
    written = db_session.execute(
        select(Order.external_id, Order.total_minor, Order.paid_at, Order.snapshot_at).order_by(
            Order.external_id
        )
    ).all()
    assert written == [("A-1", 1250, PLACED, NOW), ("A-2", 1250, PLACED, NOW)]


def test_an_order_of_a_customer_that_does_not_exist_is_refused(db_session: Session) -> None:
    with pytest.raises((IntegrityError, ForeignKeyViolation)), db_session.begin_nested():
        repository.insert_orders(
            db_session, "import:test", _orders(["B-1"], customer_id=987654321), _lines(["B-1"]), NOW
        )

    assert (_count(db_session, Order), _count(db_session, OrderLine)) == (0, 0)


def test_keys_are_checked_per_parent_only_while_they_are_the_only_insert_triggers(
    db_session: Session, is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("row triggers and session_replication_role are PostgreSQL's")
    # The test role is the superuser that created the database.
    assert repository_postgres.may_check_keys_in_bulk(db_session) is True

    db_session.execute(
        text(
            "CREATE FUNCTION audit_order() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RETURN NEW; END $$"
        )
    )
    db_session.execute(
        text(
            "CREATE TRIGGER audit_order AFTER INSERT ON orders "
            "FOR EACH ROW EXECUTE FUNCTION audit_order()"
        )
    )

    # A trigger the loader does not know would be skipped too: it keeps the row triggers.
    assert repository_postgres.may_check_keys_in_bulk(db_session) is False
    assert repository.insert_orders(
        db_session, "import:test", _orders(["C-1"]), _lines(["C-1"]), NOW
    ) == (1, 1)
