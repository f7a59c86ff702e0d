"""How long an hourly settle makes a member's order events wait, on PostgreSQL.

    python -m bench.ledger.bench_jobs [--members 20000] [--batch 200]

Creates a fresh database (TROFAST_BENCH_PG, default the local server) and builds, in SQL,
two groups of `--members` members with one pending lot each: group A's lots come due at T1,
group B's at T2. It then settles each group while a probe thread, every 20 ms, credits one
point to a random member of that group in its own transaction (as an order event would,
taking the member's lock) and times it:

- group A settled the way `trofast ledger settle` did before batching: one transaction for
  the whole run (`run_job` with a batch as large as the group);
- group B settled as the command does now, `--batch` members per transaction.

Prints the run's duration and the probes' p50, p99 and longest wait for each, then checks
every invariant with `ledger verify`.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta

from bench.ledger.bench_verify import build_in_sql
from bench.scratch import fresh_database
from trofast.config import Settings
from trofast.db import build_engine, build_sessionmaker, run_job, unit_of_work
from trofast.ledger import jobs
from trofast.ledger import service as ledger
from trofast.ledger.core import SYSTEM_KINDS
from trofast.ledger.verify import verify

EARNED = datetime(2026, 3, 1, tzinfo=UTC)
T1, T2 = EARNED + timedelta(days=14), EARNED + timedelta(days=15)

# Accounts: the system accounts take ids 1..6, member c has pending 6+2c-1, available 6+2c.
# Member c (1..2n) earned 100 points in transaction c, lot c, pending until T1 (c <= n) or T2.
BUILD = [
    """INSERT INTO customers (id, is_member, created_at, updated_at)
       SELECT c, true, now(), now() FROM generate_series(1, 2 * :n) c""",
    """INSERT INTO ledger_accounts (id, name, kind, customer_id, created_at)
       SELECT k.i, 'system:' || k.kind, k.kind, NULL, now()
       FROM unnest(CAST(:kinds AS text[])) WITH ORDINALITY AS k(kind, i)""",
    """INSERT INTO ledger_accounts (id, name, kind, customer_id, created_at)
       SELECT 6 + 2 * c - 1 + s, 'member:' || c || ':' || kind, kind, c, now()
       FROM generate_series(1, 2 * :n) c,
            (VALUES (0, 'pending'), (1, 'available')) AS a(s, kind)""",
    """INSERT INTO ledger_transactions (id, idempotency_key, request_hash, kind, customer_id,
                                       created_at, effective_at)
       SELECT c, 'bench:earn:' || c, repeat('0', 64), 'earn', c, :earned, :earned
       FROM generate_series(1, 2 * :n) c""",
    """INSERT INTO ledger_lots (id, customer_id, transaction_id, points, remaining, state,
                               earned_at, available_at)
       SELECT c, c, c, 100, 100, 'pending', :earned, CASE WHEN c <= :n THEN :t1 ELSE :t2 END
       FROM generate_series(1, 2 * :n) c""",
    """INSERT INTO ledger_postings (transaction_id, account_id, amount, lot_id)
       SELECT c, 1, -100, NULL FROM generate_series(1, 2 * :n) c
       UNION ALL
       SELECT c, 6 + 2 * c - 1, 100, c FROM generate_series(1, 2 * :n) c""",
]


def build(url: str, members: int) -> None:
    params = {"n": members, "kinds": list(SYSTEM_KINDS), "earned": EARNED, "t1": T1, "t2": T2}
    build_in_sql(url, BUILD, params)


def settle_with_probes(url: str, members: range, now: datetime, batch: int) -> dict[str, float]:
    engine = build_engine(Settings(database_url=url))
    factory = build_sessionmaker(engine)
    waits: list[float] = []
    running = threading.Event()
    running.set()

    def probe() -> None:
        pick = random.Random(1)
        n = 0
        while running.is_set():
            member, n = pick.choice(members), n + 1
            started = time.perf_counter()
            with unit_of_work(factory) as session:
                ledger.earn(session, member, f"probe:{now:%d}:{n}", 1, now=now)
            waits.append(time.perf_counter() - started)
            time.sleep(0.02)

    prober = threading.Thread(target=probe)
    started = time.perf_counter()
    prober.start()
    settled = run_job(factory, jobs.SETTLE, now, batch=batch)
    seconds = time.perf_counter() - started
    running.clear()
    prober.join()
    engine.dispose()
    waits.sort()
    return {
        "lots": settled,
        "seconds": seconds,
        "probes": len(waits),
        "p50_ms": statistics.median(waits) * 1000,
        "p99_ms": waits[int(len(waits) * 0.99)] * 1000,
        "max_ms": waits[-1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    url = fresh_database("trofast_bench_jobs")
    build(url, args.members)
    n = args.members
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()}")
    for label, group, now, batch in (
        ("one transaction", range(1, n + 1), T1, n),
        (f"batches of {args.batch}", range(n + 1, 2 * n + 1), T2, args.batch),
    ):
        f = settle_with_probes(url, group, now, batch)
        print(
            f"settle {f['lots']:,} lots, {label}: {f['seconds']:.1f} s; "
            f"{f['probes']} probe writes waited p50 {f['p50_ms']:.1f} ms, "
            f"p99 {f['p99_ms']:.0f} ms, max {f['max_ms']:.0f} ms"
        )
    engine = build_engine(Settings(database_url=url))
    with unit_of_work(build_sessionmaker(engine)) as session:
        print(f"ledger verify: {len(verify(session))} violation(s)")
    engine.dispose()


if __name__ == "__main__":
    main()
