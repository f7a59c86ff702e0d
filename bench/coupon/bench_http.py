"""Coupon validate + redeem over HTTP on PostgreSQL.

    python -m bench.coupon.bench_http [--seconds 20] [--workers 2]

Creates a fresh PostgreSQL database (TROFAST_BENCH_PG, default the local server), one
storefront key and one unlimited campaign code, starts `trofast serve` with N workers, and
drives it with wrk (Debian package `wrk`) on the same machine: every other request validates
the code, the others redeem it for a new order, so every redeem takes the same coupon row's
lock (the worst case: one popular campaign code). A paced run holds 200 requests/s
open-loop (bench/pace.lua; the issue's target: p99 ≤ 50 ms there); unpaced runs show the
ceiling. Prints a Markdown table and writes bench/out/coupon_http.json.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

from bench import wrk as wrk_run
from bench.scratch import fresh_database
from trofast.auth import service as auth
from trofast.auth.scopes import Scope
from trofast.config import Settings
from trofast.coupon import service
from trofast.coupon.schemas import CouponIn
from trofast.db import build_engine, build_sessionmaker, unit_of_work
from trofast.migrate import upgrade
from trofast.models import Coupon, CouponRedemption

HERE = Path(__file__).parent


def prepare(url: str) -> tuple[str, str]:
    """A storefront key and an unlimited 10 % campaign code in a migrated database."""
    engine = build_engine(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    upgrade(engine)
    with unit_of_work(build_sessionmaker(engine)) as session:
        key = auth.create_key(session, "bench shop", [Scope.storefront]).secret
        spec = CouponIn.model_validate(
            {"discount": {"kind": "percent", "percent": 10}, "max_uses": None, "campaign": "bench"}
        )
        code = service.create(session, spec, currency="NOK").display
    engine.dispose()
    return key, code


def wrk(
    base: str, key: str, code: str, *, connections: int, seconds: int, run: str, rate: int = 0
) -> dict[str, float]:
    env = {"KEY": key, "CODE": code, "RUN": run}
    script = HERE / "checkout.lua"
    return wrk_run.run(base, script, env, connections=connections, seconds=seconds, rate=rate)


def stored_redemptions(url: str) -> int:
    engine = build_engine(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    with engine.connect() as conn:
        uses = conn.execute(select(Coupon.uses)).scalar_one()
        count = conn.execute(select(func.count()).select_from(CouponRedemption)).scalar_one()
    engine.dispose()
    if uses != count:
        raise RuntimeError(f"coupon uses {uses} != {count} redemptions")
    return int(count)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    url = fresh_database("trofast_bench_coupon")
    key, code = prepare(url)
    env = {
        **os.environ,
        "TROFAST_DATABASE_URL": url,
        "TROFAST_ENVIRONMENT": "production",
        "TROFAST_SECRET_KEY": secrets.token_urlsafe(32),
    }
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "trofast.cli.main", "serve"),
            *("--port", str(args.port), "--workers", str(args.workers)),
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/openapi.json").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError("server did not start")
        wrk(base, key, code, connections=4, seconds=5, run="warm")
        seconds = args.seconds
        rows = {
            # Open-loop at the 200 requests/s; 16 connections cover 80 ms of latency.
            "paced at 200/s, 16 connections": wrk(
                base, key, code, connections=16, rate=200, seconds=seconds, run="paced"
            ),
            "unpaced, 8 connections": wrk(
                base, key, code, connections=8, seconds=seconds, run="u8"
            ),
            "unpaced, 32 connections": wrk(
                base, key, code, connections=32, seconds=seconds, run="u32"
            ),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(wrk_run.machine())
    print("| load | requests/s | p50 ms | p99 ms | max ms | non-2xx |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, f in rows.items():
        print(
            f"| {name} | {f['requests_per_s']:.0f} | {f['p50_ms']:.1f} | {f['p99_ms']:.1f} | "
            f"{f['max_ms']:.1f} | {f['errors_status']:.0f} |"
        )
    redemptions = stored_redemptions(url)
    print(f"redemptions stored: {redemptions} (coupon uses = redemptions: no lost update)")
    out = Path("bench/out")
    out.mkdir(parents=True, exist_ok=True)
    (out / "coupon_http.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
