"""Where an order event's time goes: apply events in process on PostgreSQL, no HTTP.

    python -m bench.program.profile_apply [--events 600] [--batch 1] [--customers 50000]
        [--profile]

Creates a fresh database (TROFAST_BENCH_PG, default the local server), applies the demo
programme, warms up, then sends `--events` order.placed events (the same shape as the HTTP
benchmark's orders.lua) through the ingestion service, `--batch` per delivery, one unit of
work each. Order n is bought by customer n mod `--customers`: with the default almost every
order is a new customer's; with 100, every one is a returning member's (the warm-up's).
Prints milliseconds per event: wall time, and the CPU time of this process and of its
PostgreSQL backend (read from /proc when the server is local), which other loads on the
machine disturb much less than wall time. `--profile` adds the cProfile functions with the
most cumulative time, which is how the costs quoted in docs/benchmarks.md were found.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import time
from pathlib import Path

from bench.proc import process_cpu
from bench.scratch import fresh_database
from sqlalchemy import Engine, text

from trofast.config import Settings
from trofast.db import build_engine, build_sessionmaker, unit_of_work
from trofast.ingest import service
from trofast.ingest.canonical import normalise_canonical
from trofast.migrate import upgrade
from trofast.program import service as program_service

PROGRAMME = Path("src/trofast/demo/programme.yaml")


def event(run: str, num: int, customers: int = 50_000) -> dict[str, object]:
    customer = num % customers
    placed = "2026-03-01T10:00:00Z"
    return {
        "idempotency_key": f"profile-{run}-{num}",
        "type": "order.placed",
        "occurred_at": placed,
        "order": {
            "id": f"{run}-{num}",
            "currency": "NOK",
            "placed_at": placed,
            "financial_status": "paid",
            "customer": {"external_id": f"c{customer}", "email": f"c{customer}@example.no"},
            "lines": [
                {"id": "1", "sku": f"SKU-{num % 200}", "quantity": 2, "unit_price": "199.00"},
                {"id": "2", "sku": f"SKU-{(num + 7) % 200}", "quantity": 1, "unit_price": "49.50"},
            ],
            "shipping": "49",
        },
    }


def send(
    factory: object, run: str, start: int, count: int, batch: int, customers: int = 50_000
) -> None:
    for first in range(start, start + count, batch):
        numbers = range(first, min(first + batch, start + count))
        body = {"events": [event(run, n, customers) for n in numbers]}
        with unit_of_work(factory) as session:  # type: ignore[arg-type]
            delivery = service.new_delivery(
                channel="api",
                source_name="api",
                topic="events",
                headers={},
                body=json.dumps(body).encode(),
                verification="api_key",
                api_key_id=None,
            )
            outcome = service.receive(session, delivery, normalise_canonical, currency="NOK")
            if outcome.error is not None:
                raise RuntimeError(outcome.error.to_dict())


def backend_cpu_seconds(engine: Engine) -> float | None:
    """CPU time used so far by the pool's PostgreSQL backends (None when not local)."""
    total = 0.0
    with engine.connect() as conn:
        pids = conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).scalars()
        for pid in pids:
            if not Path(f"/proc/{pid}").exists():
                return None  # not a local server
            total += process_cpu(pid)
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--database", default=None, help="an existing database URL to reuse")
    args = parser.parse_args()
    url = args.database or fresh_database()
    engine = build_engine(Settings(database_url=url))
    upgrade(engine)
    factory = build_sessionmaker(engine)
    with unit_of_work(factory) as session:
        program_service.apply(session, PROGRAMME.read_text())
    run = str(int(time.time()))
    send(factory, run + "w", 0, 100, args.batch)  # warm caches and the first members
    profiler = cProfile.Profile() if args.profile else None
    backend_before = backend_cpu_seconds(engine)
    cpu_before = time.process_time()
    began = time.perf_counter()
    if profiler:
        profiler.enable()
    send(factory, run, 0, args.events, args.batch, args.customers)
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - began
    cpu = time.process_time() - cpu_before
    backend_after = backend_cpu_seconds(engine)
    per = 1000 / args.events
    line = f"{args.events} events, batch {args.batch}, customers {args.customers}"
    line += f": wall {elapsed * per:.2f} ms/event"
    line += f", client CPU {cpu * per:.2f} ms/event"
    if backend_before is not None and backend_after is not None:
        line += f", PostgreSQL CPU {(backend_after - backend_before) * per:.2f} ms/event"
    print(line)
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    engine.dispose()


if __name__ == "__main__":
    main()
