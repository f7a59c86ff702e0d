"""Bulk-import benchmark: CDNOW master log and a generated order file into fresh PostgreSQL.

Runs the code path of `trofast import orders` (reader → normaliser → set-based loader, one
transaction per chunk) and reports order lines per second and the process's peak RSS.

    .venv/bin/python bench/ingest/generate_orders.py --orders 1000000
    .venv/bin/python bench/ingest/bench_import.py \
        --admin-url postgresql://postgres@127.0.0.1:5432/postgres --database trofast_bench_import
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import psycopg

from trofast.cli.imports import ImportSummary, run_import
from trofast.config import Settings
from trofast.db import build_engine
from trofast.imports.mapping import ImportOptions
from trofast.imports.reader import open_file
from trofast.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
CDNOW = ROOT.parent / "shared" / "data" / "cdnow" / "CDNOW_master.txt"
GENERATED = ROOT / "bench" / "data" / "orders_1000000.csv"


def fresh_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def report(label: str, summary: ImportSummary) -> None:
    lines_per_s = summary.lines_inserted / summary.seconds if summary.seconds else 0.0
    print(
        f"{label}: {summary.rows:,} rows, {summary.orders_inserted:,} orders inserted, "
        f"{summary.orders_skipped:,} skipped, {summary.lines_inserted:,} lines, "
        f"{summary.customers_created:,} customers in {summary.seconds:.1f}s → "
        f"{lines_per_s:,.0f} lines/s, {summary.rows / summary.seconds:,.0f} rows/s; "
        f"peak RSS so far {peak_rss_mb():,.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="trofast_bench_import")
    parser.add_argument("--file", type=Path, default=GENERATED)
    parser.add_argument("--batch-size", type=int, default=100_000)
    parser.add_argument("--twice", action="store_true", help="Import each file again (no-op run).")
    args = parser.parse_args()

    url = fresh_database(args.admin_url, args.database)
    engine = build_engine(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    upgrade(engine)
    runs = []
    if CDNOW.is_file():
        opts = ImportOptions(
            source="import:cdnow", currency="USD", date_format="%Y%m%d", batch_size=args.batch_size
        )
        runs.append(("CDNOW master", CDNOW, opts))
    opts = ImportOptions(source="import:generated", currency="NOK", batch_size=args.batch_size)
    runs.append((args.file.name, args.file, opts))
    started = time.perf_counter()
    for label, path, options in runs:
        source = open_file(path, options)
        report(label, run_import(engine, source, options))
        if args.twice:
            report(f"{label} again", run_import(engine, source, options))
    print(f"total {time.perf_counter() - started:.1f}s; peak RSS {peak_rss_mb():,.0f} MB")
    engine.dispose()


if __name__ == "__main__":
    main()
