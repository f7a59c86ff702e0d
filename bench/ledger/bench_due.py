"""How long the hourly settle and expire jobs take to find who is due, on PostgreSQL.

    python -m bench.ledger.bench_due [--postings 10000000] [--members 100000]

Creates a fresh database (TROFAST_BENCH_PG, default the local server) and builds the ledger
of `bench_verify` (4 million lots for 10 million postings), then dates it like a real one:
every lot expires at the start of one of the next 730 days, and one lot in 50 is still
pending, coming available in one of the next 720 hours (orders come in all day). An hour
later, the lots of one day have expired and those of one hour have come due. It times the
jobs' searches (`members_with_due_pending_lots`, `members_with_due_expiring_lots`) with the
due-lot indexes, then drops the indexes and times them again, as the jobs ran before.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from bench.ledger.bench_verify import build
from bench.scratch import fresh_database
from trofast.config import Settings
from trofast.db import build_engine, build_sessionmaker, unit_of_work
from trofast.ledger import repository

T0 = datetime(2026, 12, 6, tzinfo=UTC)
DATES = """UPDATE ledger_lots SET
    expires_at = :t0 + (id % 730) * interval '1 day',
    state = CASE WHEN id % 50 = 0 THEN 'pending' ELSE state END,
    available_at = CASE WHEN id % 50 = 0 THEN :t0 + (id % 720) * interval '1 hour'
                        ELSE available_at END"""
INDEXES = ("ix_ledger_lots_due_pending", "ix_ledger_lots_due_expiring")
SEARCHES: dict[str, Callable[[Session, datetime], list[int]]] = {
    "settle": repository.members_with_due_pending_lots,
    "expire": repository.members_with_due_expiring_lots,
}


def timed(url: str, runs: int = 5) -> dict[str, tuple[float, int]]:
    """The median milliseconds of each search, with the members it found."""
    engine = build_engine(Settings(database_url=url))
    factory = build_sessionmaker(engine)
    found: dict[str, tuple[float, int]] = {}
    for name, search in SEARCHES.items():
        times, members = [], 0
        for _ in range(runs):
            with unit_of_work(factory) as session:
                started = time.perf_counter()
                members = len(search(session, T0 + timedelta(hours=1)))
                times.append((time.perf_counter() - started) * 1000)
        found[name] = (statistics.median(times), members)
    engine.dispose()
    return found


def prepare(url: str, *statements: str) -> int:
    """Run `statements`, then VACUUM ANALYZE the lots; returns how many lots there are."""
    engine = build_engine(Settings(database_url=url))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for statement in statements:
            conn.execute(text(statement), {"t0": T0})
        conn.execute(text("VACUUM ANALYZE ledger_lots"))
        lots = int(conn.execute(text("SELECT count(*) FROM ledger_lots")).scalar_one())
    engine.dispose()
    return lots


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postings", type=int, default=10_000_000)
    parser.add_argument("--members", type=int, default=100_000)
    args = parser.parse_args()
    url = fresh_database("trofast_bench_due")
    build(url, args.postings, args.members)
    lots = prepare(url, DATES)
    with_indexes = timed(url)
    prepare(url, *(f"DROP INDEX {index}" for index in INDEXES))
    without = timed(url)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()}")
    print(f"{lots:,} lots; searches an hour after T0, median of 5")
    print("| search | members due | without the indexes ms | with them ms |")
    print("|---|---:|---:|---:|")
    for search, (ms, members) in with_indexes.items():
        print(f"| {search} | {members:,} | {without[search][0]:.1f} | {ms:.1f} |")


if __name__ == "__main__":
    main()
