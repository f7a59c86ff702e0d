"""Load one normalised chunk: customers, stores, products, orders and their lines.

Resumable and idempotent by construction, without a checkpoint table: every order has a
deterministic (source, external id), each chunk is loaded in one transaction by the caller,
and orders that already exist are filtered out before anything else is written. A chunk that
was committed before an interruption is therefore found complete and skipped; a chunk that
was not left nothing behind and is loaded again. Importing the same file twice writes nothing
the second time (no customer, identity, order or line). An order that exists only as a shell
(a refund or delivery for it arrived first and was parked) is filled instead, and what was
parked on it is applied (`imports.shells`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl
from sqlalchemy.orm import Session

from trofast.imports import customers, repository, shells
from trofast.imports.normalise import Chunk
from trofast.ingest import repository as ingest_repository
from trofast.kit.time import utc_now


@dataclass(frozen=True)
class ChunkResult:
    rows: int
    orders_inserted: int
    orders_skipped: int
    lines_inserted: int
    customers_created: int
    events_released: int = 0  # parked on orders of this chunk, applied now


def import_chunk(session: Session, chunk: Chunk, source: str) -> ChunkResult:
    """Write the chunk's new orders; flushes only, the caller commits."""
    now = utc_now()
    repository.refresh_statistics(session)
    ids = chunk.orders.get_column("external_id").to_list()
    known = repository.existing_orders(session, source, ids)
    waiting = known & ingest_repository.parked_shells(session, source)
    orders = chunk.orders.filter(~pl.col("external_id").is_in(list(known - waiting)))
    if orders.is_empty():
        return ChunkResult(chunk.rows, 0, len(ids), 0, 0)
    lines = chunk.lines.filter(
        pl.col("order_external_id").is_in(orders.get_column("external_id").implode())
    )

    resolved = customers.resolve(session, source, orders, now)
    orders = orders.join(
        resolved.customer_ids, on=list(customers.PROFILE), how="left", nulls_equal=True
    )
    orders = _with_stores(session, orders, now)
    lines = _with_products(session, lines, orders, now)
    is_shell = pl.col("external_id").is_in(list(waiting))
    of_shell = pl.col("order_external_id").is_in(list(waiting))
    inserted, line_count = repository.insert_orders(
        session, source, orders.filter(~is_shell), lines.filter(~of_shell), now
    )
    filled = shells.fill(session, source, orders.filter(is_shell), lines.filter(of_shell), now)
    return ChunkResult(
        rows=chunk.rows,
        orders_inserted=inserted + filled.orders,
        orders_skipped=len(ids) - inserted - filled.orders,
        lines_inserted=line_count + filled.lines,
        customers_created=resolved.created,
        events_released=filled.released,
    )


def _with_stores(session: Session, orders: pl.DataFrame, now: datetime) -> pl.DataFrame:
    codes = orders.get_column("store").drop_nulls().unique().to_list()
    table = repository.store_ids(session, codes, now)
    return orders.with_columns(
        pl.col("store").replace_strict(table, default=None, return_dtype=pl.Int64).alias("store_id")
    )


def _with_products(
    session: Session, lines: pl.DataFrame, orders: pl.DataFrame, now: datetime
) -> pl.DataFrame:
    currency = orders.select("external_id", "currency").rename({"external_id": "order_external_id"})
    products = (
        lines.filter(pl.col("sku").is_not_null())
        .join(currency, on="order_external_id", how="left")
        .group_by("sku", maintain_order=True)
        .agg(
            pl.col("name").drop_nulls().first(),
            pl.col("category").drop_nulls().first(),
            pl.col("unit_price_minor").first().alias("price_minor"),
            pl.col("currency").first(),
        )
        .with_columns(
            pl.lit(None, dtype=pl.String).alias("brand"),
            pl.lit(False).alias("sustainable"),
            pl.lit(now).alias("updated_at"),
        )
    )
    table = repository.product_ids(session, products) if products.height else {}
    return lines.with_columns(
        pl.col("sku").replace_strict(table, default=None, return_dtype=pl.Int64).alias("product_id")
    )
