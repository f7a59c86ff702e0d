"""Bulk-import benchmark: CDNOW master log and a generated order file into fresh PostgreSQL.

Runs the code path of `trofast import orders` (reader → normaliser → set-based loader, one
transaction per chunk) and reports order lines per second, the process's peak RSS and CPU
time: the importer's own (user + sys) and that of the PostgreSQL backends it used, read from
/proc (the benchmark runs on the database host). The machine is shared, so wall time alone
says little; the load average is printed next to every figure.

    .venv/bin/python bench/ingest/generate_orders.py --orders 1000000
    .venv/bin/python bench/ingest/bench_import.py \
        --admin-url postgresql://postgres@127.0.0.1:5432/postgres --database trofast_bench_import
    # one file, with a profile of the client side:
    .venv/bin/python bench/ingest/bench_import.py --no-cdnow \
        --file bench/data/orders_200000.csv --profile /tmp/import.prof
"""

from __future__ import annotations

import argparse
import cProfile
import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, event

from bench.proc import process_cpu
from trofast.cli.imports import ImportSummary, run_import
from trofast.config import Settings
from trofast.db import build_engine
from trofast.imports import repository_postgres
from trofast.imports.mapping import ImportOptions
from trofast.imports.reader import open_file
from trofast.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
CDNOW = ROOT / "tests" / "data" / "cdnow" / "CDNOW_master.txt"
GENERATED = ROOT / "bench" / "data" / "orders_1000000.csv"


def fresh_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class CpuClock:
    """CPU seconds of this process and of the PostgreSQL backends serving its engine."""

    backends: set[int]

    @classmethod
    def attach(cls, engine: Engine) -> CpuClock:
        clock = cls(set())

        @event.listens_for(engine, "checkout")
        def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
            clock.backends.add(int(dbapi_connection.info.backend_pid))

        return clock

    def read(self) -> tuple[float, float]:
        return _own_cpu(), sum(process_cpu(pid) for pid in self.backends)


def load() -> str:
    return "load average {:.2f}, {:.2f}, {:.2f}".format(*os.getloadavg())


def report(label: str, summary: ImportSummary, cpu: tuple[float, float], load_before: str) -> None:
    lines_per_s = summary.lines_inserted / summary.seconds if summary.seconds else 0.0
    own, server = cpu
    print(
        f"{label}: {summary.rows:,} rows, {summary.orders_inserted:,} orders inserted, "
        f"{summary.orders_skipped:,} skipped, {summary.lines_inserted:,} lines, "
        f"{summary.customers_created:,} customers in {summary.seconds:.1f}s → "
        f"{lines_per_s:,.0f} lines/s, {summary.rows / summary.seconds:,.0f} rows/s; "
        f"CPU importer {own:.1f}s, postgres backend {server:.1f}s; "
        f"peak RSS so far {peak_rss_mb():,.0f} MB; before: {load_before}; after: {load()}",
        flush=True,
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
    parser.add_argument("--no-cdnow", action="store_true", help="Only the generated file.")
    parser.add_argument("--profile", type=Path, help="Write a cProfile of the imports here.")
    parser.add_argument(
        "--row-triggers",
        action="store_true",
        help="Foreign keys checked by PostgreSQL's row triggers, as for a role that may not "
        "set session_replication_role.",
    )
    args = parser.parse_args()
    if args.row_triggers:
        repository_postgres.may_check_keys_in_bulk = lambda _session: False

    url = fresh_database(args.admin_url, args.database)
    engine = build_engine(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    upgrade(engine)
    clock = CpuClock.attach(engine)
    runs = []
    if CDNOW.is_file() and not args.no_cdnow:
        opts = ImportOptions(
            source="import:cdnow", currency="USD", date_format="%Y%m%d", batch_size=args.batch_size
        )
        runs.append(("CDNOW master", CDNOW, opts))
    opts = ImportOptions(source="import:generated", currency="NOK", batch_size=args.batch_size)
    runs.append((args.file.name, args.file, opts))
    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    for label, path, options in runs:
        for again in (False, True) if args.twice else (False,):
            source = open_file(path, options)
            before, load_before = clock.read(), load()
            if profiler:
                profiler.enable()
            summary = run_import(engine, source, options)
            if profiler:
                profiler.disable()
            after = clock.read()
            cpu = (after[0] - before[0], after[1] - before[1])
            report(f"{label} again" if again else label, summary, cpu, load_before)
    own, server = clock.read()
    print(
        f"total {time.perf_counter() - started:.1f}s; CPU importer {own:.1f}s (incl. setup), "
        f"postgres backends {server:.1f}s; peak RSS {peak_rss_mb():,.0f} MB; {load()}"
    )
    if profiler and args.profile:
        profiler.dump_stats(args.profile)
    engine.dispose()


if __name__ == "__main__":
    main()
