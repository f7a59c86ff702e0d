"""Imported orders that facts were waiting for: fill the shell, then release what was parked.

A refund, payment or delivery that arrives before its order is parked on a shell row
(`orders.snapshot_at IS NULL`, see `ingest.appliers`). When the order then comes through
the bulk import rather than a live snapshot, the shell is filled with the imported order
and its lines, and the parked events are applied exactly as `release_parked` applies them
for a live order: the order's state and the programme's points end the same whichever path
brought the order. Shells are rare (only orders with parked facts), so they are filled one
by one through the order's row lock instead of the set-based path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl
from sqlalchemy.orm import Session

from trofast.imports import columns
from trofast.ingest import appliers
from trofast.models import OrderLine
from trofast.order import repository as orders


@dataclass(frozen=True)
class Filled:
    orders: int
    lines: int
    released: int  # parked events applied


def fill(
    session: Session, source: str, shells: pl.DataFrame, lines: pl.DataFrame, now: datetime
) -> Filled:
    """Fill these shell orders (rows of the chunk's order frame) and release their events."""
    filled = line_count = released = 0
    by_order = lines.partition_by("order_external_id", as_dict=True)
    for row in shells.sort("external_id").iter_rows(named=True):
        order = orders.lock_order(session, source, row["external_id"])
        if order is None or order.snapshot_at is not None:
            continue  # a live snapshot came first and released the events: it stands
        for name, value in columns.FIXED.items():
            setattr(order, name, value)
        for name in columns.ORDER_FROM_FILE:
            setattr(order, name, row[name])
        order.paid_at = order.source_updated_at = row["placed_at"]
        order.snapshot_at = order.updated_at = now
        part = by_order.get((row["external_id"],))
        for line in part.iter_rows(named=True) if part is not None else ():
            orders.add(
                session,
                OrderLine(
                    order_id=order.id,
                    tax_minor=0,
                    gift_card=False,
                    **{name: line[name] for name in columns.LINE_FROM_FILE},
                ),
            )
            line_count += 1
        session.flush()
        # The order's currency is the shop's: the import converts nothing.
        released += appliers.release_parked_on(session, order.id, currency=order.currency, now=now)
        filled += 1
    return Filled(filled, line_count, released)
