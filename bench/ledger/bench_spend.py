"""What the due-lot indexes cost a spend-heavy load, on PostgreSQL.

    python -m bench.ledger.bench_spend [--postings 2000000] [--members 20000] [--spends 4000]

A spend lowers a lot's `remaining`, which is in the predicate of a due-lot index, so the
update can never be heap-only (HOT): every index on `ledger_lots` gets a new entry. This
measures what that costs. It builds the ledger of `bench_verify` twice, in two fresh
databases (TROFAST_BENCH_PG, default the local server), dated as in `bench_due` (every lot
expires in the next two years); in the second the due-lot indexes are dropped, as before
they existed. In each it runs `--spends` spends through `ledger.spend`, one unit of work
each, round the members, then VACUUMs (so pages have room for HOT updates, as in a ledger
that lives) and runs as many again. For the second pass it reports the time per spend, the
share of HOT updates of `ledger_lots`, the WAL written per spend and how much the indexes
of `ledger_lots` grew.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from dataclasses import dataclass

from sqlalchemy import Engine, text

from bench.ledger.bench_due import INDEXES, T0, prepare
from bench.ledger.bench_verify import build
from bench.scratch import fresh_database
from trofast.config import Settings
from trofast.db import build_engine, build_sessionmaker, unit_of_work
from trofast.ledger import service as ledger

DATES = "UPDATE ledger_lots SET expires_at = :t0 + (1 + id % 730) * interval '1 day'"
POINTS = 30  # a lot holds 90..149 points: most spends take from one lot, some from two
STATS = """SELECT n_tup_upd, n_tup_hot_upd,
                  pg_indexes_size('ledger_lots'), pg_current_wal_lsn()
           FROM pg_stat_user_tables WHERE relname = 'ledger_lots'"""


@dataclass(frozen=True)
class Pass:
    median_ms: float
    p99_ms: float
    hot_share: float
    wal_bytes_per_spend: float
    index_growth_bytes: int


def stats(engine: Engine) -> tuple[int, int, int, str]:
    with engine.connect() as conn:
        # Counters reach pg_stat_user_tables a moment after a transaction ends (PG 15+).
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        updated, hot, index_bytes, lsn = conn.execute(text(STATS)).one()
    return int(updated), int(hot), int(index_bytes), str(lsn)


def wal_between(engine: Engine, start: str, end: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT '{end}'::pg_lsn - '{start}'::pg_lsn")).scalar_one())


def spend_pass(engine: Engine, run: str, spends: int, members: int) -> Pass:
    factory = build_sessionmaker(engine)
    updated, hot, index_bytes, lsn = stats(engine)
    times = []
    for n in range(spends):
        started = time.perf_counter()
        with unit_of_work(factory) as session:
            ledger.spend(session, n % members + 1, f"bench:{run}:{n}", POINTS, now=T0)
        times.append((time.perf_counter() - started) * 1000)
    time.sleep(1.5)
    updated_after, hot_after, index_after, lsn_after = stats(engine)
    times.sort()
    return Pass(
        median_ms=statistics.median(times),
        p99_ms=times[int(len(times) * 0.99)],
        hot_share=(hot_after - hot) / max(updated_after - updated, 1),
        wal_bytes_per_spend=wal_between(engine, lsn, lsn_after) / spends,
        index_growth_bytes=index_after - index_bytes,
    )


def measure(postings: int, members: int, spends: int, *, with_indexes: bool) -> Pass:
    url = fresh_database("trofast_bench_spend")
    build(url, postings, members)
    drops = [] if with_indexes else [f"DROP INDEX {index}" for index in INDEXES]
    prepare(url, DATES, *drops)  # and VACUUM ANALYZE, as after each pass below
    engine = build_engine(Settings(database_url=url))
    spend_pass(engine, "warm", spends, members)
    prepare(url)
    measured = spend_pass(engine, "measured", spends, members)
    engine.dispose()
    return measured


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postings", type=int, default=2_000_000)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--spends", type=int, default=4_000)
    args = parser.parse_args()
    rows = {
        label: measure(args.postings, args.members, args.spends, with_indexes=flag)
        for label, flag in (("without the due-lot indexes", False), ("with them", True))
    }
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()}")
    print(f"{args.postings:,} postings, {args.members:,} members, {args.spends:,} spends of")
    print(f"{POINTS} points after a VACUUM, one unit of work each")
    print("| ledger_lots | spend median ms | p99 ms | HOT updates | WAL per spend | index growth |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, p in rows.items():
        print(
            f"| {label} | {p.median_ms:.2f} | {p.p99_ms:.2f} | {p.hot_share:.0%} | "
            f"{p.wal_bytes_per_spend / 1024:.1f} KiB | {p.index_growth_bytes / 1024:,.0f} KiB |"
        )


if __name__ == "__main__":
    main()
