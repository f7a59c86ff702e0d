"""The columnar read side: order history, customers and ledger movements as Polars frames.

All SQL that feeds the pure `trofast.analytics` library lives here. Orders are the big one
(a shop can have tens of millions), so on PostgreSQL they come through
``COPY (SELECT ...) TO STDOUT (FORMAT binary)``: every column is a non-null fixed-width
integer, which makes each row exactly 34 bytes and lets numpy read the whole stream as one
structured array (no per-row Python, no text formatting on the server). On SQLite, which
serves small shops, a plain cursor is fast enough.

Which orders count: real orders (`snapshot_at` set, i.e. not a shell waiting for its order),
linked to a customer, not cancelled; the amount is net of refunds (`total_minor -
refunded_minor`), as on the customer page. Days are UTC calendar days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import polars as pl
import psycopg
from psycopg import sql
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from trofast.models import (
    Customer,
    LedgerAccount,
    LedgerPosting,
    LedgerTransaction,
    Order,
)

ORDER_SCHEMA = {"customer_id": pl.Int64, "timestamp": pl.Date, "amount": pl.Int64}

# PostgreSQL binary COPY: an 11-byte signature, 4 bytes of flags, a 4-byte header extension
# length (0 in practice, checked), then per row a 2-byte field count and per field a 4-byte
# length + big-endian value; a 2-byte -1 ends the stream.
_PG_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_ORDER_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("len_customer", ">i4"),
        ("customer_id", ">i8"),
        ("len_day", ">i4"),
        ("day", ">i4"),
        ("len_amount", ">i4"),
        ("amount", ">i8"),
    ]
)


def psycopg_connection(session: Session) -> psycopg.Connection[Any]:
    """The session's own psycopg connection, inside its transaction, for COPY."""
    raw = session.connection().connection.dbapi_connection
    assert isinstance(raw, psycopg.Connection)
    return raw


def _before_day_after(until: date) -> datetime:
    """The first instant after the UTC day ``until``: ``< it`` means "on or before until".

    There is no day after 9999-12-31; no stored timestamp reaches its last microsecond.
    """
    if until == date.max:
        return datetime.max.replace(tzinfo=UTC)
    return datetime.combine(until + timedelta(days=1), time(), tzinfo=UTC)


def load_orders(session: Session, *, until: date | None = None) -> pl.DataFrame:
    """One row per counted order: ``customer_id`` (Int64), ``timestamp`` (Date, UTC day),
    ``amount`` (Int64, net minor units), for orders placed on or before ``until``."""
    if session.get_bind().dialect.name == "postgresql":
        return _orders_postgres(session, until)
    return _orders_sqlite(session, until)


def _orders_postgres(session: Session, until: date | None) -> pl.DataFrame:
    # COPY takes no bind parameters: the cut-off goes in as a quoted literal.
    cutoff: sql.Composable = sql.SQL("")
    if until is not None:
        cutoff = sql.SQL(" AND placed_at < {}").format(sql.Literal(_before_day_after(until)))
    query = sql.SQL(
        "COPY (SELECT customer_id::int8, "
        "((placed_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01')::int4, "
        "(total_minor - refunded_minor)::int8 "
        "FROM orders WHERE customer_id IS NOT NULL AND placed_at IS NOT NULL "
        "AND snapshot_at IS NOT NULL AND status <> 'cancelled'{}"
        ") TO STDOUT (FORMAT binary)"
    ).format(cutoff)
    chunks: list[bytes] = []
    with psycopg_connection(session).cursor() as cursor, cursor.copy(query) as copy:
        chunks.extend(bytes(chunk) for chunk in copy)
    return _parse_binary_orders(b"".join(chunks))


def _parse_binary_orders(data: bytes) -> pl.DataFrame:
    if not data.startswith(_PG_SIGNATURE) or data[15:19] != b"\x00\x00\x00\x00":
        raise RuntimeError("unexpected COPY binary header from PostgreSQL")
    body = memoryview(data)[19:-2]
    if len(body) % _ORDER_ROW.itemsize:
        raise RuntimeError("COPY binary stream is not a whole number of order rows")
    rows = np.frombuffer(body, dtype=_ORDER_ROW)
    # A NULL would change the row width; the WHERE clause rules it out, this proves it did.
    if rows.size and not (
        np.all(rows["fields"] == 3) and np.all(rows["len_customer"] == 8)
        and np.all(rows["len_day"] == 4) and np.all(rows["len_amount"] == 8)
    ):  # fmt: skip
        raise RuntimeError("COPY binary rows do not have the expected layout")
    return pl.DataFrame(
        {
            "customer_id": rows["customer_id"].astype(np.int64),
            "timestamp": pl.Series(rows["day"].astype(np.int32)).cast(pl.Date),
            "amount": rows["amount"].astype(np.int64),
        },
        schema=ORDER_SCHEMA,
    )


def _orders_sqlite(session: Session, until: date | None) -> pl.DataFrame:
    # SQLite stores naive UTC text; date() gives its UTC day as 'YYYY-MM-DD'.
    day = func.date(Order.placed_at)
    stmt = select(Order.customer_id, day, Order.total_minor - Order.refunded_minor).where(
        Order.customer_id.is_not(None),
        Order.placed_at.is_not(None),
        Order.snapshot_at.is_not(None),
        Order.status != "cancelled",
    )
    if until is not None:
        stmt = stmt.where(Order.placed_at < _before_day_after(until))
    rows = session.execute(stmt).all()
    return pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": [date.fromisoformat(r[1]) for r in rows],
            "amount": [r[2] for r in rows],
        },
        schema=ORDER_SCHEMA,
    )


def load_customers(session: Session) -> pl.DataFrame:
    """``customer_id, is_member`` for every customer."""
    rows = session.execute(select(Customer.id, Customer.is_member)).all()
    return pl.DataFrame(
        {"customer_id": [r[0] for r in rows], "is_member": [bool(r[1]) for r in rows]},
        schema={"customer_id": pl.Int64, "is_member": pl.Boolean},
    )


# Ledger transaction kinds as `trofast.analytics.kpis` names them.
_LEDGER_KINDS = {"spend": "redeem"}


def load_ledger(session: Session, *, until: date | None = None) -> pl.DataFrame:
    """One row per ledger transaction: ``customer_id, timestamp (Date), kind, points``.

    ``points`` is the change of the member's pending + available balance (the sum of the
    member-side postings), so earnings are positive and spending, expiry and reversals
    negative; settling pending points nets to zero. ``spend`` is renamed ``redeem``.
    """
    member_side = LedgerAccount.kind.in_(("pending", "available"))
    points = func.coalesce(func.sum(case((member_side, LedgerPosting.amount), else_=0)), 0)
    stmt = (
        select(
            LedgerTransaction.customer_id,
            func.min(LedgerTransaction.effective_at),
            LedgerTransaction.kind,
            points,
        )
        .join(LedgerPosting, LedgerPosting.transaction_id == LedgerTransaction.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
        .group_by(LedgerTransaction.id, LedgerTransaction.customer_id, LedgerTransaction.kind)
    )
    if until is not None:
        stmt = stmt.where(LedgerTransaction.effective_at < _before_day_after(until))
    rows = session.execute(stmt).all()
    return pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": [r[1] for r in rows],
            "kind": [_LEDGER_KINDS.get(r[2], r[2]) for r in rows],
            "points": [int(r[3]) for r in rows],
        },
        schema={
            "customer_id": pl.Int64,
            "timestamp": pl.Datetime("us", "UTC"),
            "kind": pl.String,
            "points": pl.Int64,
        },
    )
