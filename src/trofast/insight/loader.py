"""The columnar read side: orders, customers, ledger movements, the merchant's marketing spend
and sessions, and the last refresh's CLV, as Polars frames.

All SQL that feeds the pure `trofast.analytics` library lives here. Orders are the big one
(a shop can have tens of millions), so on PostgreSQL they come through one
``COPY (...) TO STDOUT (FORMAT binary)`` whose rows are *batches*: three arrays (customer ids,
days, amounts) per range of 65,536 order ids, aggregated by the server along the primary key.
libpq hands COPY data over one row per call, and a Python loop over ten million rows cost
more than the server's scan (13 s against 5 s for 10M orders); 150 rows of arrays cost
nothing, and numpy reads each array as one buffer. On SQLite, which serves small shops, a
plain cursor is fast enough.

Which orders count: real orders (`snapshot_at` set, i.e. not a shell waiting for its order),
linked to a customer, not cancelled; the amount is net of refunds (`total_minor -
refunded_minor`), as on the customer page. Days are UTC calendar days.
"""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import polars as pl
import psycopg
from numpy.typing import NDArray
from psycopg import sql
from sqlalchemy import Date, case, cast, func, select
from sqlalchemy.orm import Session

from trofast.models import (
    Customer,
    CustomerMetric,
    LedgerAccount,
    LedgerPosting,
    LedgerTransaction,
    Order,
)
from trofast.models.insight import DailySessions, MarketingSpend

ORDER_SCHEMA = {"customer_id": pl.Int64, "timestamp": pl.Date, "amount": pl.Int64}

# PostgreSQL binary COPY: an 11-byte signature, 4 bytes of flags, a 4-byte header extension
# length (0), then per row a 2-byte field count and per field a 4-byte length and the value;
# a 2-byte -1 ends the stream. A one-dimensional array value is ndim, has-nulls flag, element
# type oid, length, lower bound (five 4-byte ints), then per element a 4-byte length + value.
_PG_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_BATCH_IDS_SHIFT = 16  # 65,536 order ids per COPY row
_ORDERS_COPY = sql.SQL(
    "COPY (SELECT a.customer_ids, a.days, a.amounts "
    "FROM generate_series(0, (SELECT coalesce(max(id), 0) >> {shift} FROM orders)) AS g(n) "
    "CROSS JOIN LATERAL ("
    "SELECT array_agg(customer_id) AS customer_ids, "
    "array_agg((placed_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01') AS days, "
    "array_agg(total_minor - refunded_minor) AS amounts "
    "FROM orders WHERE id >= g.n << {shift} AND id < (g.n + 1) << {shift} "
    "AND customer_id IS NOT NULL AND placed_at IS NOT NULL AND snapshot_at IS NOT NULL "
    "AND status <> 'cancelled'{cutoff}) AS a "
    "WHERE a.customer_ids IS NOT NULL) TO STDOUT (FORMAT binary)"
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
    query = _ORDERS_COPY.format(shift=sql.Literal(_BATCH_IDS_SHIFT), cutoff=cutoff)
    data = bytearray()
    with psycopg_connection(session).cursor() as cursor, cursor.copy(query) as copy:
        for chunk in copy:
            data += chunk
    return _parse_order_batches(data)


def _parse_order_batches(data: bytearray) -> pl.DataFrame:
    if not data.startswith(_PG_SIGNATURE) or data[15:19] != b"\x00\x00\x00\x00":
        raise RuntimeError("unexpected COPY binary header from PostgreSQL")
    columns: list[list[NDArray[Any]]] = [[], [], []]
    pos = 19
    while True:
        (fields,) = struct.unpack_from(">h", data, pos)
        pos += 2
        if fields == -1:
            break
        if fields != 3:
            raise RuntimeError(f"COPY row with {fields} fields, expected 3")
        for column, width in zip(columns, (8, 4, 8), strict=True):
            (length,) = struct.unpack_from(">i", data, pos)
            ndim, has_nulls, _oid, n, _lower = struct.unpack_from(">5i", data, pos + 4)
            # The WHERE clause rules NULLs out; this proves the layout is what we parse.
            if ndim != 1 or has_nulls or length != 20 + n * (4 + width):
                raise RuntimeError("COPY array does not have the expected layout")
            element = np.dtype([("len", ">i4"), ("value", f">i{width}")])
            column.append(np.frombuffer(data, dtype=element, count=n, offset=pos + 24)["value"])
            pos += 4 + length
    ids, days, amounts = (np.concatenate(c) if c else np.zeros(0, dtype=np.int64) for c in columns)
    return pl.DataFrame(
        {
            "customer_id": ids.astype(np.int64),
            "timestamp": pl.Series(days.astype(np.int32)).cast(pl.Date),
            "amount": amounts.astype(np.int64),
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
# A restore (a cancelled redemption) is a negative redemption: it nets out of `redeem`.
_LEDGER_KINDS = {"spend": "redeem", "restore": "redeem"}


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


def load_order_counts(session: Session, days: list[date]) -> pl.DataFrame:
    """``timestamp`` (Date, UTC day) and ``orders`` (Int64) for each of ``days`` with orders.

    For the conversion rate, so every real, not cancelled order counts, guest orders
    (no customer) included: the sessions it is divided by are every visitor's.
    """
    if not days:
        return pl.DataFrame(schema={"timestamp": pl.Date, "orders": pl.Int64})
    if session.get_bind().dialect.name == "postgresql":
        day: Any = cast(func.timezone("UTC", Order.placed_at), Date)
    else:
        day = func.date(Order.placed_at)  # naive UTC text -> 'YYYY-MM-DD'
    stmt = (
        select(day, func.count())
        .where(
            Order.placed_at >= datetime.combine(min(days), time(), tzinfo=UTC),
            Order.placed_at < _before_day_after(max(days)),
            Order.snapshot_at.is_not(None),
            Order.status != "cancelled",
        )
        .group_by(day)
    )
    rows = session.execute(stmt).all()
    return pl.DataFrame(
        {
            "timestamp": [r[0] if isinstance(r[0], date) else date.fromisoformat(r[0])
                          for r in rows],
            "orders": [r[1] for r in rows],
        },
        schema={"timestamp": pl.Date, "orders": pl.Int64},
    )  # fmt: skip


def load_marketing_spend(session: Session, *, until: date) -> pl.DataFrame:
    """``month`` (Date) and ``spend`` (Int64, minor units) for the months up to ``until``."""
    stmt = (
        select(MarketingSpend.month, MarketingSpend.spend_minor)
        .where(MarketingSpend.month <= until)
        .order_by(MarketingSpend.month)
    )
    rows = session.execute(stmt).all()
    return pl.DataFrame(
        {"month": [r[0] for r in rows], "spend": [r[1] for r in rows]},
        schema={"month": pl.Date, "spend": pl.Int64},
    )


def load_sessions(session: Session, *, until: date) -> pl.DataFrame:
    """``day`` (Date) and ``sessions`` (Int64) for the days up to ``until``."""
    stmt = (
        select(DailySessions.day, DailySessions.sessions)
        .where(DailySessions.day <= until)
        .order_by(DailySessions.day)
    )
    rows = session.execute(stmt).all()
    return pl.DataFrame(
        {"day": [r[0] for r in rows], "sessions": [r[1] for r in rows]},
        schema={"day": pl.Date, "sessions": pl.Int64},
    )


def load_predicted_clv(session: Session) -> pl.DataFrame:
    """``customer_id, clv`` (minor units, null where not predicted) from the last refresh."""
    rows = session.execute(select(CustomerMetric.customer_id, CustomerMetric.clv_minor)).all()
    return pl.DataFrame(
        {"customer_id": [r[0] for r in rows], "clv": [r[1] for r in rows]},
        schema={"customer_id": pl.Int64, "clv": pl.Int64},
    )
