"""`trofast ledger verify` over a large ledger on PostgreSQL.

    python -m bench.ledger.bench_verify [--postings 10000000] [--members 100000]

Creates a fresh database (TROFAST_BENCH_PG, default the local server), builds a valid ledger
in SQL (earnings with their lots, and spends that consume part of some lots: 4 of every 5
transactions earn, 1 spends), runs ANALYZE, then times `verify()` and prints the figures.
Half the postings are member-side with a lot, as in a real ledger.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

from sqlalchemy import text

from bench.scratch import fresh_database
from trofast.config import Settings
from trofast.db import build_engine, build_sessionmaker, unit_of_work
from trofast.ledger.core import SYSTEM_KINDS
from trofast.ledger.verify import verify
from trofast.migrate import upgrade

# Members 1..:members and their accounts: the system accounts take ids 1..6, member c has
# pending 6+2c-1, available 6+2c. (Also the members of bench/program/ceiling_setbased.py.)
MEMBERS = [
    """INSERT INTO customers (id, is_member, created_at, updated_at)
       SELECT c, true, now(), now() FROM generate_series(1, :members) c""",
    """INSERT INTO ledger_accounts (id, name, kind, customer_id, created_at)
       SELECT k.i, 'system:' || k.kind, k.kind, NULL, now()
       FROM unnest(CAST(:kinds AS text[])) WITH ORDINALITY AS k(kind, i)""",
    """INSERT INTO ledger_accounts (id, name, kind, customer_id, created_at)
       SELECT 6 + 2 * c - 1 + s, 'member:' || c || ':' || kind, kind, c, now()
       FROM generate_series(1, :members) c,
            (VALUES (0, 'pending'), (1, 'available')) AS a(s, kind)""",
]
BUILD = [
    *MEMBERS,
    # Earnings 1..:earns, member (i % members) + 1, 100..149 points; the first :spends
    # lots lose 10 points to a spend below.
    """INSERT INTO ledger_transactions (id, idempotency_key, request_hash, kind, customer_id,
                                       created_at, effective_at)
       SELECT i, 'bench:earn:' || i, repeat('0', 64), 'earn', (i % :members) + 1, now(), now()
       FROM generate_series(1, :earns) i""",
    """INSERT INTO ledger_lots (id, customer_id, transaction_id, points, remaining, state,
                               earned_at, available_at)
       SELECT i, (i % :members) + 1, i, 100 + i % 50,
              100 + i % 50 - CASE WHEN i <= :spends THEN 10 ELSE 0 END,
              'available', now(), now()
       FROM generate_series(1, :earns) i""",
    """INSERT INTO ledger_postings (transaction_id, account_id, amount, lot_id)
       SELECT i, 1, -(100 + i % 50), NULL FROM generate_series(1, :earns) i
       UNION ALL
       SELECT i, 6 + 2 * ((i % :members) + 1), 100 + i % 50, i
       FROM generate_series(1, :earns) i""",
    """INSERT INTO ledger_transactions (id, idempotency_key, request_hash, kind, customer_id,
                                       created_at, effective_at)
       SELECT :earns + k, 'bench:spend:' || k, repeat('0', 64), 'spend', (k % :members) + 1,
              now(), now()
       FROM generate_series(1, :spends) k""",
    """INSERT INTO ledger_postings (transaction_id, account_id, amount, lot_id)
       SELECT :earns + k, 6 + 2 * ((k % :members) + 1), -10, k FROM generate_series(1, :spends) k
       UNION ALL
       SELECT :earns + k, 2, 10, NULL FROM generate_series(1, :spends) k""",
]


def build(url: str, postings: int, members: int) -> None:
    transactions = postings // 2
    spends = transactions // 5
    params = {
        "members": members,
        "earns": transactions - spends,
        "spends": spends,
        "kinds": list(SYSTEM_KINDS),
    }
    build_in_sql(url, BUILD, params)


def build_in_sql(url: str, statements: list[str], params: dict[str, object]) -> None:
    """Migrate a fresh database, run `statements` (which set ids themselves), move the
    id sequences past them, and ANALYZE."""
    engine = build_engine(Settings(database_url=url))
    upgrade(engine)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement), params)
        for table in ("customers", "ledger_accounts", "ledger_transactions", "ledger_lots"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT max(id) FROM {table}))"))  # fmt: skip
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postings", type=int, default=10_000_000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    args = parser.parse_args()
    url = fresh_database("trofast_bench_verify", keep=args.keep)
    started = time.perf_counter()
    build(url, args.postings, args.members)
    built = time.perf_counter() - started
    engine = build_engine(Settings(database_url=url))
    with unit_of_work(build_sessionmaker(engine)) as session:
        count = session.scalar(text("SELECT count(*) FROM ledger_postings"))
        per_check: dict[str, float] = {}
        started = time.perf_counter()
        violations = verify(session, timings=per_check)
        seconds = time.perf_counter() - started
    engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()}")
    print(f"built {count:,} postings for {args.members:,} members in {built:.1f} s")
    print(f"verify: {seconds:.1f} s, {len(violations)} violation(s), peak RSS {peak:.0f} MB")
    for check, spent in per_check.items():
        print(f"  {check}: {spent:.1f} s")
    if args.keep:
        print(f"kept {url}")


if __name__ == "__main__":
    main()
