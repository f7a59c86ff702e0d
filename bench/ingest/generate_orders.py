"""Generate a seeded line-item order history for the bulk-import benchmark.

A Nordic shop: customers buy at heterogeneous rates (gamma-distributed, so a few buy often and
most buy once or twice), orders have 1 + Poisson(1.5) lines, products follow a Zipf-like
popularity, one line in ten is discounted, a fifth of the orders are store receipts. Prices are
written as decimal text in NOK; timestamps as ISO 8601 with an offset. Rows of one order are
consecutive, as in every shop export.

    .venv/bin/python bench/ingest/generate_orders.py --orders 1000000 --format csv
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import polars as pl

DATA = Path(__file__).resolve().parents[1] / "data"
CATEGORIES = ["Klær", "Sko", "Tilbehør", "Hjem", "Sport", "Barn", "Skjønnhet", "Elektronikk"]
STORES = ["OSLO-1", "BERGEN-1", "TRONDHEIM-1", "STAVANGER-1", "TROMSO-1"]


def _money(minor: pl.Expr) -> pl.Expr:
    return pl.concat_str(
        [(minor // 100).cast(pl.String), pl.lit("."), (minor % 100).cast(pl.String).str.zfill(2)]
    )


def generate(orders: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    customers = max(1, orders // 4)
    products = 5000

    rates = rng.gamma(shape=0.6, scale=1.0, size=customers)
    buyer = rng.choice(customers, size=orders, p=rates / rates.sum())
    start = np.datetime64("2022-01-01T00:00:00", "s")
    seconds = np.sort(rng.integers(0, 3 * 365 * 86400, size=orders))
    lines_per_order = 1 + np.minimum(rng.poisson(1.5, size=orders), 9)
    store = np.where(rng.random(orders) < 0.2, rng.integers(0, len(STORES), orders), -1)

    line_order = np.repeat(np.arange(orders), lines_per_order)
    n_lines = line_order.size
    first = np.cumsum(lines_per_order) - lines_per_order
    position = np.arange(n_lines) - np.repeat(first, lines_per_order) + 1
    popularity = 1.0 / np.arange(1, products + 1) ** 0.9
    product = rng.choice(products, size=n_lines, p=popularity / popularity.sum())
    base_price = (np.exp(rng.normal(5.3, 0.8, size=products)).astype(np.int64) * 100) + np.where(
        rng.random(products) < 0.5, 0, 90
    )
    unit = base_price[product]
    quantity = rng.choice([1, 2, 3], size=n_lines, p=[0.85, 0.1, 0.05])
    discounted = rng.random(n_lines) < 0.1
    amount = np.where(discounted, (quantity * unit * 8) // 10, quantity * unit)

    frame = pl.DataFrame(
        {
            "order": line_order,
            "line_id": position,
            "customer": buyer[line_order],
            "seconds": seconds[line_order],
            "store": store[line_order],
            "product": product,
            "quantity": quantity,
            "unit": unit,
            "amount": amount,
        }
    )
    customer = pl.col("customer")
    placed = pl.lit(start).cast(pl.Datetime("us")) + pl.duration(seconds=pl.col("seconds"))
    return frame.select(
        (pl.col("order") + 100_000_001).cast(pl.String).alias("order_id"),
        pl.col("line_id").cast(pl.String),
        pl.concat_str([pl.lit("C"), customer.cast(pl.String)]).alias("customer_id"),
        pl.when(customer % 5 != 0)
        .then(pl.concat_str([pl.lit("kunde"), customer.cast(pl.String), pl.lit("@example.no")]))
        .alias("email"),
        pl.when(customer % 2 == 0)
        .then(pl.concat_str([pl.lit("+479"), (customer % 10_000_000).cast(pl.String).str.zfill(7)]))
        .alias("phone"),
        placed.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00").alias("created_at"),
        pl.concat_str([pl.lit("SKU-"), pl.col("product").cast(pl.String).str.zfill(5)]).alias(
            "sku"
        ),
        pl.concat_str([pl.lit("Produkt "), pl.col("product").cast(pl.String)]).alias(
            "product_name"
        ),
        pl.lit(pl.Series(CATEGORIES)).get(pl.col("product") % len(CATEGORIES)).alias("category"),
        pl.col("quantity").cast(pl.String),
        _money(pl.col("unit")).alias("unit_price"),
        _money(pl.col("amount")).alias("amount"),
        pl.lit("NOK").alias("currency"),
        pl.when(pl.col("store") >= 0)
        .then(pl.lit("store"))
        .otherwise(pl.lit("web"))
        .alias("channel"),
        pl.when(pl.col("store") >= 0)
        .then(pl.lit(pl.Series(STORES)).get(pl.col("store").clip(0)))
        .alias("store"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    started = time.perf_counter()
    frame = generate(args.orders, args.seed)
    out = args.out or DATA / f"orders_{args.orders}.{args.format}"
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.format == "csv":
        frame.write_csv(out)
    else:
        frame.write_parquet(out)
    print(
        f"{out}: {args.orders:,} orders, {frame.height:,} lines, "
        f"{frame.get_column('customer_id').n_unique():,} customers "
        f"in {time.perf_counter() - started:.1f}s"
    )


if __name__ == "__main__":
    main()
