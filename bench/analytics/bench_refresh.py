"""Benchmark: the full `analytics refresh` from orders in PostgreSQL.

    .venv/bin/python bench/analytics/generate.py --customers 1000000        # ~10M orders
    .venv/bin/python bench/analytics/bench_refresh.py --load \
        --data bench/data/orders_1000000.parquet --database trofast_bench_analytics
    .venv/bin/python bench/analytics/bench_refresh.py --database trofast_bench_analytics

``--load`` builds a fresh database from the migrations and writes the generated log into
`customers` and `orders` with COPY (the import path is benchmarked on its own in
bench/ingest; here the subject is the refresh). The refresh then runs exactly as
`trofast analytics refresh` does: one unit of work, committed at the end. Wall time, the
refresh's own phase timings and the process's peak RSS are printed.
"""

from __future__ import annotations

import argparse
import io
import resource
import time
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import psycopg

from trofast.config import Settings
from trofast.db import build_engine, build_sessionmaker, unit_of_work
from trofast.insight.refresh import RefreshOptions, refresh
from trofast.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CALIBRATION_END = date(2024, 12, 31)  # the generator's last day
STAMP = "2025-01-01 00:00:00+00"


def _url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _copy(conn: psycopg.Connection[tuple[object, ...]], table: str, frame: pl.DataFrame) -> None:
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False, quote_style="necessary")
    data = buffer.getbuffer()
    with conn.cursor().copy(
        f"COPY {table} ({', '.join(frame.columns)}) FROM STDIN (FORMAT csv)"
    ) as cp:
        for start in range(0, len(data), 16 << 20):
            cp.write(data[start : start + (16 << 20)])


def load(data: Path, database: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
        conn.execute(f'CREATE DATABASE "{database}"')
    engine = build_engine(Settings(database_url=_url(database), _env_file=None))
    upgrade(engine)
    engine.dispose()
    t0 = time.perf_counter()
    orders = pl.read_parquet(data)
    n_customers = int(orders["customer_id"].max()) + 1  # type: ignore[arg-type]
    customers = pl.DataFrame({"id": pl.int_range(1, n_customers + 1, eager=True)}).with_columns(
        is_member=pl.col("id") % 3 == 0, created_at=pl.lit(STAMP), updated_at=pl.lit(STAMP)
    )
    epoch = pl.lit(date(1970, 1, 1))
    rows = (
        orders.with_row_index("n")
        .select(
            source=pl.lit("bench"),
            external_id=pl.col("n").cast(pl.String),
            customer_id=pl.col("customer_id") + 1,
            channel=pl.lit("web"),
            status=pl.lit("open"),
            financial_status=pl.lit("paid"),
            fulfillment_status=pl.lit("fulfilled"),
            currency=pl.lit("NOK"),
            subtotal_minor=(pl.col("amount") * 100).round(0).cast(pl.Int64),
            discount_minor=pl.lit(0),
            shipping_minor=pl.lit(0),
            tax_minor=pl.lit(0),
            total_minor=(pl.col("amount") * 100).round(0).cast(pl.Int64),
            refunded_minor=pl.lit(0),
            discount_codes=pl.lit("[]"),
            loyalty_opt_in=pl.lit(False),
            # noon UTC of the simulated day
            placed_at=(pl.col("timestamp") - epoch).dt.total_days().cast(pl.Int64) * 86_400
            + 43_200,
            snapshot_at=pl.lit(STAMP),
            created_at=pl.lit(STAMP),
            updated_at=pl.lit(STAMP),
            attributes=pl.lit("{}"),
        )
        .with_columns(
            placed_at=pl.from_epoch("placed_at", time_unit="s").dt.strftime("%Y-%m-%d %H:%M:%S+00")
        )
    )
    with psycopg.connect(_url(database)) as conn:
        _copy(conn, "customers", customers)
        for start in range(0, rows.height, 1_000_000):
            _copy(conn, "orders", rows.slice(start, 1_000_000))
        conn.commit()
    with psycopg.connect(_url(database), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE orders")
        conn.execute("VACUUM ANALYZE customers")
    print(
        f"loaded {rows.height:,} orders for {n_customers:,} customers into {database} "
        f"in {time.perf_counter() - t0:.1f} s"
    )


def run(database: str, unit: str) -> None:
    engine = build_engine(Settings(database_url=_url(database), _env_file=None))
    t0 = time.perf_counter()
    with unit_of_work(build_sessionmaker(engine)) as session:
        result = refresh(
            session,
            RefreshOptions(at=CALIBRATION_END, unit=unit),  # type: ignore[arg-type]
            now=datetime.now(UTC),
        )
    wall = time.perf_counter() - t0
    engine.dispose()
    phases = ", ".join(f"{k} {v:.2f}" for k, v in result.timings.items())
    print(
        f"refresh {result.status}: {result.orders:,} orders, {result.customers:,} customers, "
        f"{result.repeat_customers:,} repeat; wall {wall:.2f} s incl. commit ({phases}); "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB"
    )
    if result.clv:
        print(f"CLV total {result.clv['total_minor']:,}, 90% {result.clv['total_interval_minor']}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--database", default="trofast_bench_analytics")
    parser.add_argument("--data", type=Path, default=ROOT / "bench/data/orders_1000000.parquet")
    parser.add_argument("--load", action="store_true", help="(Re)build the database first.")
    parser.add_argument("--unit", default="week")
    args = parser.parse_args()
    if args.load:
        load(args.data, args.database)
    run(args.database, args.unit)


if __name__ == "__main__":
    main()
