"""Read the shop's order history from the database as a backtest `History` (read only).

The orders a live programme would have earned on: paid, not cancelled, with a date. Line
values are the engine's (`earning.net_line_values`: tax out when prices include it, gift cards
out, the order-level discount spread over the lines); the spend a `spend` tier counts is the
order's total less shipping. Refunds are not replayed.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trofast.models import Order, OrderLine, Product, Store
from trofast.program.backtest_history import LINE_SCHEMA, ORDER_SCHEMA, History
from trofast.program.earning import net_line_values

_BATCH = 50_000


def load_history(session: Session, *, prices_include_tax: bool) -> History:
    orders = _orders(session)
    lines = _lines(session, orders, prices_include_tax=prices_include_tax)
    return History.of(orders.drop("discount"), lines)


def _orders(session: Session) -> pl.DataFrame:
    query = (
        select(
            Order.id,
            Order.customer_id,
            Order.placed_at,
            Order.paid_at,
            Order.currency,
            Order.channel,
            Store.code,
            Order.total_minor - Order.shipping_minor,
            Order.discount_minor,
        )
        .outerjoin(Store, Store.id == Order.store_id)
        .where(
            Order.paid_at.is_not(None),
            Order.cancelled_at.is_(None),
            Order.placed_at.is_not(None),
            Order.snapshot_at.is_not(None),
        )
        .order_by(Order.id)
    )
    schema = {**ORDER_SCHEMA, "member": pl.Int64(), "discount": pl.Int64()}
    names = ["order", "member", "placed_at", "paid_at", "currency", "channel", "store"]
    names += ["spend", "discount"]
    rows = _fetch(session, query)
    frame = pl.DataFrame(rows, schema={n: schema[n] for n in names}, orient="row")
    return frame.with_columns(pl.col("member").cast(pl.String))


def _lines(session: Session, orders: pl.DataFrame, *, prices_include_tax: bool) -> pl.DataFrame:
    query = (
        select(
            OrderLine.order_id,
            OrderLine.id,
            OrderLine.quantity,
            OrderLine.total_minor,
            OrderLine.tax_minor,
            OrderLine.discount_minor,
            OrderLine.gift_card,
            OrderLine.sku,
            func.coalesce(OrderLine.category, Product.category),
            Product.brand,
            func.coalesce(Product.sustainable, False),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .outerjoin(Product, Product.id == OrderLine.product_id)
        .where(Order.paid_at.is_not(None), Order.cancelled_at.is_(None))
        .order_by(OrderLine.order_id, OrderLine.id)
    )
    names = ["order", "line", "quantity", "total", "tax", "line_discount", "gift_card"]
    names += ["sku", "category", "brand", "sustainable"]
    schema: dict[str, Any] = {**LINE_SCHEMA, "line": pl.Int64, "total": pl.Int64}
    schema.update(tax=pl.Int64, line_discount=pl.Int64, gift_card=pl.Boolean)
    lines = pl.DataFrame(
        _fetch(session, query), schema={n: schema[n] for n in names}, orient="row"
    ).join(orders.select("order", "discount"), on="order", how="semi")
    tax = pl.col("tax") if prices_include_tax else pl.lit(0)
    merch = pl.when(pl.col("gift_card")).then(0).otherwise((pl.col("total") - tax).clip(0))
    lines = lines.with_columns(merch.alias("value"))
    return _spread_order_discounts(lines, orders)


def _spread_order_discounts(lines: pl.DataFrame, orders: pl.DataFrame) -> pl.DataFrame:
    """Orders with a discount beyond their lines' go through `net_line_values` itself, so the
    split (largest remainder) is the engine's; the others need no split."""
    extra = (
        lines.group_by("order")
        .agg(pl.col("line_discount").sum())
        .join(orders.select("order", "discount"), on="order")
        .filter(pl.col("discount") > pl.col("line_discount"))
    )
    values: dict[int, int] = {}
    if extra.height:
        affected = lines.join(extra.select("order"), on="order", how="semi")
        discounts = dict(extra.select("order", pl.col("discount") - pl.col("line_discount")).rows())
        for (order,), group in affected.group_by("order"):
            rows = [
                {"line_id": r["line"], "total": r["value"], "tax": 0, "gift_card": r["gift_card"]}
                for r in group.iter_rows(named=True)
            ]
            values.update(net_line_values(rows, discounts[order], prices_include_tax=False))
    if values:
        table = pl.DataFrame({"line": list(values), "spread": list(values.values())})
        lines = lines.join(table, on="line", how="left").with_columns(
            pl.coalesce("spread", "value").alias("value")
        )
    return lines.select(*LINE_SCHEMA)


def _fetch(session: Session, query: Any) -> list[tuple[Any, ...]]:
    result = session.execute(query.execution_options(yield_per=_BATCH))
    return [tuple(row) for row in result]
