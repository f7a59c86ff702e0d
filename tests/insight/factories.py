"""Customers and orders written straight to the tables, for the analytics tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from itertools import count
from typing import Any

import polars as pl
from sqlalchemy import insert
from sqlalchemy.orm import Session

from trofast.models import Customer, Order

T0 = datetime(2026, 1, 1, tzinfo=UTC)
_numbers = count(1)


def add_customer(session: Session, *, is_member: bool = False) -> int:
    customer = Customer(is_member=is_member, created_at=T0, updated_at=T0)
    session.add(customer)
    session.flush()
    return customer.id


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def order_row(
    customer_id: int | None,
    day: date,
    total_minor: int,
    *,
    refunded_minor: int = 0,
    status: str = "open",
    shell: bool = False,
    placed_at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "source": "test",
        "external_id": f"o{next(_numbers)}",
        "customer_id": customer_id,
        "currency": "NOK",
        "status": status,
        "total_minor": total_minor,
        "refunded_minor": refunded_minor,
        "placed_at": placed_at or noon(day),
        "snapshot_at": None if shell else T0,
        "created_at": T0,
        "updated_at": T0,
        "discount_codes": [],
        "attributes": {},
    }


def add_orders(session: Session, rows: list[dict[str, Any]]) -> None:
    session.execute(insert(Order), rows)
    session.flush()


def load_simulated(session: Session, orders: pl.DataFrame) -> pl.DataFrame:
    """Write a simulated log (customer index, date, amount in kroner) as customers and orders;
    returns it with the real customer ids and amounts in øre, as the loader will read it."""
    ids = {i: add_customer(session) for i in orders["customer_id"].unique().sort().to_list()}
    frame = orders.select(
        pl.col("customer_id").replace_strict(ids, return_dtype=pl.Int64),
        "timestamp",
        (pl.col("amount") * 100).round(0).cast(pl.Int64).alias("amount"),
    )
    add_orders(
        session,
        [order_row(c, d, a) for c, d, a in frame.iter_rows()],
    )
    return frame
