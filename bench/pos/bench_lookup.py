"""Member lookup at the till on PostgreSQL with 1,000,000 members.

    python -m bench.pos.bench_lookup [--members 1000000] [--seconds 30] [--workers 2]
                                     [--paced-runs 3] [--database URL]

Creates a fresh PostgreSQL database (TROFAST_BENCH_PG, default the local server) and fills it
in SQL (INSERT ... SELECT generate_series): N members, each with an e-mail, a phone and a
card identity (3N identity rows). A hot set of 2,000 members spread over the id range gets a
history through the services (two earnings, one pending and one available, and a coupon),
so a lookup reads a real balance, tier and coupon list. The demo programme (three tiers)
is in force. The identity probe is EXPLAINed to show it uses the UNIQUE index.
`--database URL` measures again on a database an earlier run generated and kept (it prints
its URL; a fresh POS key; the member count is read from the database).

Before measuring, the tables and indexes are read into the operating system's page cache
(`pg_prewarm`, mode `read`): a till's hot members are cached in a shop's steady state, and
on a machine whose page cache the bulk load left cold, the first run measured the disk
(45 % I/O wait, p50 75 ms at 200/s).

Then `trofast serve` with N workers is driven by wrk (Debian package `wrk`) on the same
machine: phone, e-mail (in another case, normalised by the server), card and QR lookups in
turn for random hot members. The paced run holds the issue's 200 requests/s open-loop (see
bench/pace.lua: every request has its slot in a fixed schedule, so a slow answer does not
slow the arrivals); the unpaced runs show the ceiling. The table reports the rate achieved.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, event, text

from bench import wrk as wrk_run
from bench.scratch import fresh_database
from trofast.auth import service as auth
from trofast.auth.scopes import Scope
from trofast.config import Settings
from trofast.coupon import service as coupons
from trofast.coupon.schemas import CouponIn
from trofast.db import build_engine, build_sessionmaker, unit_of_work
from trofast.kit.time import utc_now
from trofast.ledger import service as ledger
from trofast.member import lookup, tokens
from trofast.migrate import upgrade
from trofast.program import service as programmes

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
HOT = 2000

CUSTOMERS = """
INSERT INTO customers (id, email, phone, first_name, last_name, is_member, enrolled_at,
                       created_at, updated_at)
SELECT i, 'm' || i || '@bench.example', '+479' || lpad(i::text, 7, '0'), 'Kari', 'Nordmann',
       true, now(), now(), now()
FROM generate_series(1, :n) AS i
"""
IDENTITIES = """
INSERT INTO customer_identities (customer_id, kind, source, value, created_at)
SELECT i, k.kind, '',
       CASE k.kind WHEN 'email' THEN 'm' || i || '@bench.example'
                   WHEN 'phone' THEN '+479' || lpad(i::text, 7, '0')
                   ELSE 'C' || lpad(i::text, 9, '0') END,
       now()
FROM generate_series(1, :n) AS i CROSS JOIN (VALUES ('email'), ('phone'), ('card')) AS k(kind)
"""
# The demo programme plus a small catalogue: a lookup then also lists the rewards the member
# can redeem, which is the expensive case.
CATALOGUE = """
rewards:
  - {id: voucher-50, name: 50 kr voucher, kind: fixed_amount, cost: 250, amount_minor: 5000}
  - {id: tote, name: Tote bag, kind: custom, cost: 100}
  - {id: ship, name: Free shipping, kind: free_shipping, cost: 150, channels: [web]}
"""


def generate(engine: Engine, members: int) -> float:
    """The members and their identities, in SQL; returns the seconds it took."""
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text(CUSTOMERS), {"n": members})
        conn.execute(
            text("SELECT setval(pg_get_serial_sequence('customers', 'id'), :n)"), {"n": members}
        )
        conn.execute(text(IDENTITIES), {"n": members})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE customers"))
        conn.execute(text("VACUUM ANALYZE customer_identities"))
        # Write the bulk load's dirty pages out now: left to the next timed checkpoint, that
        # write stalled lookups for 1-2 s in the middle of a measured run.
        conn.execute(text("CHECKPOINT"))
    return time.perf_counter() - started


def prewarm(engine: Engine) -> None:
    """Read every table and index of the schema into the page cache (not shared buffers)."""
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
        conn.execute(
            text(
                "SELECT pg_prewarm(c.oid, 'read') FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')"
            )
        )


def pos_key(engine: Engine) -> str:
    with unit_of_work(build_sessionmaker(engine)) as session:
        return auth.create_key(session, "bench till", [Scope.pos]).secret


def hot_set(engine: Engine, step: int) -> None:
    """History for the hot members, through the services."""
    now = utc_now()
    with unit_of_work(build_sessionmaker(engine)) as session:
        demo = (ROOT / "src/trofast/demo/programme.yaml").read_text()
        programmes.apply(session, demo + CATALOGUE)
        for n in range(1, HOT + 1):
            member = n * step
            ledger.earn(session, member, f"bench:{member}:old", 300, now=now)
            ledger.earn(
                session,
                member,
                f"bench:{member}:new",
                120,
                available_at=now + timedelta(days=30),
                now=now,
            )
            spec = CouponIn.model_validate(
                {
                    "discount": {"kind": "fixed_amount", "amount_minor": 5000},
                    "owner_customer_id": member,
                }
            )
            coupons.create(session, spec, currency="NOK")


def explain(engine: Engine, member: int) -> list[str]:
    """Run one lookup in process and EXPLAIN every statement it sent: (plan lines)."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        sent.append((statement, params))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with unit_of_work(build_sessionmaker(engine)) as session:
            lookup.find(session, "phone", f"9{member:07d}", secret=b"-", now=utc_now())
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    plans = []
    with engine.connect() as conn:
        for statement, params in sent:
            rows = conn.exec_driver_sql(f"EXPLAIN (COSTS OFF) {statement}", params)
            plans.append("\n".join(row[0] for row in rows))
    return plans


def wrk(
    url: str, env: dict[str, str], *, connections: int, seconds: int, rate: int = 0
) -> dict[str, float]:
    script = HERE / "lookup.lua"
    return wrk_run.run(url, script, env, connections=connections, seconds=seconds, rate=rate)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1_000_000, help="ignored with --database")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--paced-runs", type=int, default=3, help="paced runs, one row each")
    parser.add_argument("--database", help="reuse a database an earlier run generated")
    args = parser.parse_args()
    url = args.database or fresh_database("trofast_bench_till", keep=True)
    secret = secrets.token_urlsafe(32)
    engine = build_engine(Settings(database_url=url, _env_file=None))
    took = 0.0
    if args.database:
        # The hot set is spread by the member count the database was generated with; a
        # different --members would look up members that do not exist (and be throttled).
        with engine.connect() as conn:
            step = conn.execute(text("SELECT count(*) FROM customers")).scalar_one() // HOT
    else:
        step = args.members // HOT
        upgrade(engine)
        took = generate(engine, args.members)
        hot_set(engine, step)
    key = pos_key(engine)
    prewarm(engine)
    plans = explain(engine, step)
    engine.dispose()
    expires = int(time.time()) + 3600
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as qr_file:
        for n in range(1, HOT + 1):
            qr_file.write(tokens.issue_qr(secret.encode(), n * step, expires) + "\n")
    server_env = {
        **os.environ,
        "TROFAST_DATABASE_URL": url,
        "TROFAST_ENVIRONMENT": "production",
        "TROFAST_SECRET_KEY": secret,
    }
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "trofast.cli.main", "serve"),
            *("--port", str(args.port), "--workers", str(args.workers)),
        ],
        env=server_env,
    )
    base = f"http://127.0.0.1:{args.port}"
    env = {"KEY": key, "HOT": str(HOT), "HOT_STEP": str(step), "QR_FILE": qr_file.name}
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/openapi.json").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError("server did not start")
        sample = httpx.get(
            f"{base}/v1/pos/members/lookup",
            params={"phone": f"9{step:07d}"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert sample.status_code == 200, sample.text
        wrk(base, env, connections=4, seconds=5)  # warm-up
        load = os.getloadavg()
        # Open-loop at the issue's 200 requests/s; 16 connections cover 80 ms of latency.
        # Repeated, because on a shared two-core machine runs differ more than changes do.
        rows = {
            f"paced at 200/s, 16 connections, run {n}": wrk(
                base, env, connections=16, rate=200, seconds=args.seconds
            )
            for n in range(1, args.paced_runs + 1)
        }
        rows["unpaced, 4 connections"] = wrk(base, env, connections=4, seconds=args.seconds)
        rows["unpaced, 16 connections"] = wrk(base, env, connections=16, seconds=args.seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)
        os.unlink(qr_file.name)
    print(wrk_run.machine())
    print(f"load average before the runs: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"database: {url}")
    if took:
        made = f"{args.members:,} members, {3 * args.members:,} identities"
        print(f"generated {made} in {took:.1f} s")
    print(f"{len(plans)} statements per lookup, their plans:")
    for plan in plans:
        print(plan, end="\n\n")
    scans = [plan for plan in plans if "Seq Scan" in plan]
    print(f"sequential scans: {len(scans)}")
    print(f"sample answer: {sample.text}")
    print("| load | requests/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, f in rows.items():
        print(
            f"| {name} | {f['requests_per_s']:.0f} | {f['p50_ms']:.1f} | {f['p90_ms']:.1f} | "
            f"{f['p99_ms']:.1f} | {f['max_ms']:.1f} | {f['errors_status']:.0f} |"
        )
    out = ROOT / "bench/out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "pos_lookup.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
