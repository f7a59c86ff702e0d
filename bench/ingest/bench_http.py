"""Ingestion over HTTP on PostgreSQL: order events one per request and in batches.

    python -m bench.ingest.bench_http [--seconds 30] [--workers 2] [--programme FILE] [--batch 100]
        [--paced 40,60]

With `--programme` (e.g. src/trofast/demo/programme.yaml) the programme is applied first, so
every order event also posts its points and updates the member's tier: the end-to-end
"order event → points posted" figure of the programme issue.

Creates a fresh PostgreSQL database (TROFAST_BENCH_PG, default the local server), starts
`trofast serve` with N workers, and drives it with wrk (Debian package `wrk`) on the same
machine, every request a new order (see orders.lua). Prints a Markdown table, with the CPU
each run cost per event: the server's processes (`trofast serve` and its workers) and the
PostgreSQL backends of the benchmark's database, read from /proc. `--paced`
adds runs that hold single events at a fixed rate, open-loop (bench/pace.lua): the latency a
shop sees at that load rather than at the server's limit.
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

from bench import wrk as wrk_run
from bench.proc import tree_cpu
from bench.program.profile_apply import backend_cpu_seconds
from bench.scratch import fresh_database
from trofast.auth import service as auth
from trofast.auth.scopes import Scope
from trofast.config import Settings
from trofast.db import build_engine, build_sessionmaker, unit_of_work
from trofast.migrate import upgrade
from trofast.program import service as program_service

HERE = Path(__file__).parent


def make_key(url: str, programme: Path | None = None) -> str:
    engine = build_engine(Settings(database_url=url))
    upgrade(engine)
    with unit_of_work(build_sessionmaker(engine)) as session:
        secret = auth.create_key(session, "bench", [Scope.ingest]).secret
        if programme is not None:
            program_service.apply(session, programme.read_text())
    engine.dispose()
    return secret


def wrk(
    url: str,
    key: str,
    *,
    batch: int,
    connections: int,
    seconds: int,
    run: str,
    rate: float | None = None,
    meter: Meter | None = None,
) -> dict[str, float]:
    env = {"KEY": key, "BATCH": str(batch), "RUN": run}
    before = meter.read() if meter else (0.0, 0.0)
    figures = wrk_run.run(
        url,
        HERE / "orders.lua",
        env,
        connections=connections,
        seconds=seconds,
        rate=rate,
        timeout_s=30,
    )
    figures["events_per_s"] = figures["requests"] * batch / figures["duration_s"]
    if meter is not None:
        events = max(figures["requests"] * batch, 1)
        after = meter.read()
        figures["server_cpu_ms"] = (after[0] - before[0]) * 1000 / events
        figures["postgres_cpu_ms"] = (after[1] - before[1]) * 1000 / events
    return figures


class Meter:
    """CPU seconds so far of the server's process tree and of the database's backends."""

    def __init__(self, server_pid: int, url: str) -> None:
        self.server_pid = server_pid
        self.engine = build_engine(Settings(database_url=url))

    def read(self) -> tuple[float, float]:
        return tree_cpu(self.server_pid), backend_cpu_seconds(self.engine) or 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--programme", type=Path, default=None)
    parser.add_argument("--batch", type=int, default=100, help="events per batch request")
    parser.add_argument(
        "--paced",
        default="",
        help="comma-separated rates (events/s) to hold single events at, open-loop, e.g. 40,60",
    )
    args = parser.parse_args()
    url = fresh_database()
    key = make_key(url, args.programme)
    env = {
        **os.environ,
        "TROFAST_DATABASE_URL": url,
        "TROFAST_ENVIRONMENT": "production",
        "TROFAST_SECRET_KEY": secrets.token_urlsafe(32),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "trofast.cli.main",
            "serve",
            "--port",
            str(args.port),
            "--workers",
            str(args.workers),
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(600):  # two workers importing on a busy machine can take a while
            try:
                if httpx.get(f"{base}/openapi.json").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError("server did not start")
        wrk(base, key, batch=1, connections=8, seconds=5, run="warm")
        meter = Meter(server.pid, url)
        rows: dict[str, dict[str, float]] = {}
        # Paced runs first: run after the unpaced ones they measured a p99 of 237-324 ms at
        # 40-80/s, against 29-62 ms when run first (probably the work the saturated runs
        # leave to PostgreSQL, autovacuum and a checkpoint; not traced).
        for rate in (float(r) for r in args.paced.split(",") if r):
            rows[f"single, paced at {rate:g}/s, 16 connections"] = wrk(
                base, key, batch=1, connections=16, seconds=args.seconds, run=f"p{rate:g}",
                rate=rate, meter=meter,
            )  # fmt: skip
        rows |= {
            "single, 16 connections": wrk(
                base, key, batch=1, connections=16, seconds=args.seconds, run="s16", meter=meter
            ),
            "single, 8 connections": wrk(
                base, key, batch=1, connections=8, seconds=args.seconds, run="s8", meter=meter
            ),
            f"batch of {args.batch}, 4 connections": wrk(
                base,
                key,
                batch=args.batch,
                connections=4,
                seconds=args.seconds,
                run="b",
                meter=meter,
            ),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(wrk_run.machine())
    print("| load | events/s | p50 ms | p99 ms | non-2xx | server CPU ms | PostgreSQL CPU ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, f in rows.items():
        print(
            f"| {name} | {f['events_per_s']:.0f} | {f['p50_ms']:.1f} | {f['p99_ms']:.1f} | "
            f"{f['errors_status']:.0f} | {f['server_cpu_ms']:.2f} | {f['postgres_cpu_ms']:.2f} |"
        )
    out = Path("bench/out")
    out.mkdir(parents=True, exist_ok=True)
    (out / "ingest_http.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
