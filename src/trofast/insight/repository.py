"""SQL on the tables analytics writes: `analytics_fits` and `customer_metrics` (the refresh),
`marketing_spend` and `daily_sessions` (the merchant's CSVs)."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any, cast

import polars as pl
from sqlalchemy import Table, delete, insert, select, text
from sqlalchemy.orm import Session

from trofast.insight.loader import psycopg_connection
from trofast.kit.sql import insert_for
from trofast.models import AnalyticsFit, CustomerMetric
from trofast.models.insight import DailySessions, MarketingSpend

METRIC_COLUMNS = (
    "customer_id",
    "fit_id",
    "recency_days",
    "orders",
    "monetary_minor",
    "r_score",
    "f_score",
    "m_score",
    "segment",
    "p_alive",
    "churn_risk",
    "expected_orders_30d",
    "expected_orders_90d",
    "expected_orders_365d",
    "next_order_date",
    "expected_spend_minor",
    "clv_minor",
    "clv_lower_minor",
    "clv_upper_minor",
)
_COPY_CHUNK = 8 * 1024 * 1024
_SPEND = cast(Table, MarketingSpend.__table__)
_SESSIONS = cast(Table, DailySessions.__table__)


def insert_fit(session: Session, values: dict[str, Any]) -> AnalyticsFit:
    fit = AnalyticsFit(**values)
    session.add(fit)
    session.flush()
    return fit


def replace_metrics(session: Session, metrics: pl.DataFrame) -> None:
    """Swap the whole table for ``metrics`` inside the caller's transaction.

    PostgreSQL: TRUNCATE + COPY, the cheapest way to rewrite a million rows; TRUNCATE takes
    an exclusive lock, so API reads of the table wait for the refresh to commit (seconds)
    rather than see a half-written table. SQLite: DELETE + one executemany.
    """
    frame = metrics.select(METRIC_COLUMNS)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("TRUNCATE customer_metrics"))
        buffer = io.BytesIO()
        frame.write_csv(buffer, include_header=False)
        data = buffer.getbuffer()
        columns = ", ".join(METRIC_COLUMNS)
        with (
            psycopg_connection(session).cursor() as cursor,
            cursor.copy(f"COPY customer_metrics ({columns}) FROM STDIN (FORMAT csv)") as copy,
        ):
            for start in range(0, len(data), _COPY_CHUNK):
                copy.write(data[start : start + _COPY_CHUNK])
        return
    session.execute(delete(CustomerMetric))
    if frame.height:
        session.execute(insert(CustomerMetric), frame.to_dicts())


def latest_fit(session: Session) -> AnalyticsFit | None:
    stmt = select(AnalyticsFit).order_by(AnalyticsFit.id.desc()).limit(1)
    return session.scalars(stmt).first()


def metric(session: Session, customer_id: int) -> CustomerMetric | None:
    return session.get(CustomerMetric, customer_id)


def upsert_marketing_spend(
    session: Session, rows: list[tuple[date, int]], *, loaded_at: datetime
) -> None:
    """Store ``(month, spend_minor)`` rows; a stored month is replaced, others are kept."""
    if not rows:
        return
    stmt = insert_for(session.get_bind().dialect.name, _SPEND)
    stmt = stmt.on_conflict_do_update(
        index_elements=["month"],
        set_={"spend_minor": stmt.excluded.spend_minor, "loaded_at": stmt.excluded.loaded_at},
    )
    values = [{"month": m, "spend_minor": s, "loaded_at": loaded_at} for m, s in rows]
    session.execute(stmt, values)


def upsert_sessions(session: Session, rows: list[tuple[date, int]], *, loaded_at: datetime) -> None:
    """Store ``(day, sessions)`` rows; a stored day is replaced, others are kept."""
    if not rows:
        return
    stmt = insert_for(session.get_bind().dialect.name, _SESSIONS)
    stmt = stmt.on_conflict_do_update(
        index_elements=["day"],
        set_={"sessions": stmt.excluded.sessions, "loaded_at": stmt.excluded.loaded_at},
    )
    values = [{"day": d, "sessions": n, "loaded_at": loaded_at} for d, n in rows]
    session.execute(stmt, values)
