"""The order history a backtest replays: two compact frames, orders and their lines.

A history comes from an import file (read and normalised by exactly the code behind
`trofast import orders`, so the column mapping and the exact minor-unit amounts are the same),
from the database (`backtest_repository`), or from plain rows in tests. Whatever the source,
the frames below are what the backtest sees; this module imports no database code.

orders: order (Int64, 0..n-1), member (String; null for an order without any identity),
        placed_at (Datetime µs UTC: decides campaigns), paid_at (Datetime µs UTC: when the
        order earns, for tiers, return windows, expiry and which order is first; a history
        without it, such as a file, has it equal placed_at), currency, channel, store
        (String), spend (Int64: the order's total less shipping, what a `spend` tier counts).
lines:  order (Int64), quantity (Int64), value (Int64, net merchandise value in minor units,
        never below zero), sku, category, brand (String), sustainable (Boolean).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from trofast.errors import BadRequest
from trofast.imports.mapping import ImportOptions
from trofast.imports.normalise import Chunk, normalise
from trofast.imports.reader import chunks, open_file

UTC_US = pl.Datetime("us", "UTC")
ORDER_SCHEMA: dict[str, pl.DataType] = {
    "order": pl.Int64(),
    "member": pl.String(),
    "placed_at": UTC_US,
    "paid_at": UTC_US,
    "currency": pl.String(),
    "channel": pl.String(),
    "store": pl.String(),
    "spend": pl.Int64(),
}
LINE_SCHEMA: dict[str, pl.DataType] = {
    "order": pl.Int64(),
    "quantity": pl.Int64(),
    "value": pl.Int64(),
    "sku": pl.String(),
    "category": pl.String(),
    "brand": pl.String(),
    "sustainable": pl.Boolean(),
}


class BacktestError(BadRequest):
    """The history or the options cannot be backtested as they are."""

    default_code = "invalid_backtest"


@dataclass(frozen=True)
class History:
    orders: pl.DataFrame
    lines: pl.DataFrame

    @classmethod
    def of(cls, orders: pl.DataFrame, lines: pl.DataFrame) -> History:
        """Cast to the schemas above; refuses lines of unknown orders and duplicate orders.
        An order without `paid_at` was paid when it was placed."""
        if "paid_at" not in orders.columns:
            orders = orders.with_columns(pl.col("placed_at").alias("paid_at"))
        paid = pl.coalesce(pl.col("paid_at").cast(UTC_US), pl.col("placed_at").cast(UTC_US))
        orders = orders.with_columns(paid.alias("paid_at"))
        orders = orders.select(pl.col(n).cast(t) for n, t in ORDER_SCHEMA.items())
        lines = lines.select(pl.col(n).cast(t) for n, t in LINE_SCHEMA.items())
        lines = lines.with_columns(pl.col("value").clip(lower_bound=0))
        if orders.get_column("order").is_duplicated().any():
            raise BacktestError("an order appears twice in the history", code="duplicate_order")
        if orders.get_column("placed_at").null_count():
            raise BacktestError("an order of the history has no date", code="missing_date")
        unknown = lines.join(orders.select("order"), on="order", how="anti")
        if unknown.height:
            raise BacktestError("lines of an order missing from the history", code="orphan_line")
        return cls(orders, lines)

    @property
    def empty(self) -> bool:
        return self.orders.is_empty()


def from_rows(orders: Iterable[Mapping[str, Any]], lines: Iterable[Mapping[str, Any]]) -> History:
    """A history from plain rows (tests, small scripts); missing line fields take defaults."""
    line_defaults = {"quantity": 1, "sku": None, "category": None, "brand": None}
    line_rows = [{**line_defaults, "sustainable": False, **row} for row in lines]
    spend: dict[int, int] = {}
    for line in line_rows:
        spend[line["order"]] = spend.get(line["order"], 0) + max(line["value"], 0)
    order_defaults = {"member": None, "channel": "web", "store": None}
    order_rows = [{**order_defaults, "spend": spend.get(row["order"], 0), **row} for row in orders]
    return History.of(
        pl.DataFrame(order_rows, schema=ORDER_SCHEMA),
        pl.DataFrame(line_rows, schema=LINE_SCHEMA),
    )


def from_import_file(path: Path, options: ImportOptions) -> History:
    """Read a CSV, Parquet or whitespace file the way `trofast import orders` does.

    Each chunk is normalised by `trofast.imports.normalise` and then shrunk to the two frames
    above, so memory holds the compact history, not the text of the file. A file without line
    items (one row per order, such as CDNOW) gives one line per order carrying its total.
    """
    source = open_file(path, options)
    orders: list[pl.DataFrame] = []
    lines: list[pl.DataFrame] = []
    offset = 0
    for frame in chunks(source, options.batch_size):
        chunk_orders, chunk_lines = _compact(normalise(frame, source.mapping, options), offset)
        offset += chunk_orders.height
        orders.append(chunk_orders)
        lines.append(chunk_lines)
    if not orders:
        return History.of(pl.DataFrame(schema=ORDER_SCHEMA), pl.DataFrame(schema=LINE_SCHEMA))
    return History.of(pl.concat(orders), pl.concat(lines))


def _compact(chunk: Chunk, offset: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    # The member is who the import would resolve first: external id, else e-mail, else phone.
    orders = chunk.orders.with_row_index("order", offset).select(
        pl.col("order").cast(pl.Int64),
        pl.col("external_id"),
        pl.coalesce("customer_external_id", "email", "phone").alias("member"),
        "placed_at",
        "currency",
        "channel",
        "store",
        pl.col("total_minor").alias("spend"),  # imported orders carry no shipping
    )
    lines = chunk.lines.join(
        orders.select("external_id", "order"),
        left_on="order_external_id",
        right_on="external_id",
        how="inner",
        maintain_order="left",
    ).select(
        "order",
        "quantity",
        pl.col("total_minor").alias("value"),
        "sku",
        "category",
        pl.lit(None, dtype=pl.String).alias("brand"),
        pl.lit(False).alias("sustainable"),
    )
    return orders.drop("external_id"), lines
