"""Run every benchmark of docs/benchmarks.md in one go: `make bench`.

    python -m bench.run_all [--quick] [--only NAME ...] [--list]

Each benchmark runs as its own process, one after the other (they would disturb each
other's figures), with the generators first so the data exists. `--quick` uses small sizes
that finish in minutes, to check the scripts work; the figures in docs/benchmarks.md come
from the full sizes, which need about an hour and some 20 GB of disk on a 2-core machine.
The HTTP benchmarks need Debian's `wrk` and are skipped, with a message, without it. Every
benchmark creates its own PostgreSQL database (TROFAST_BENCH_PG, default the local server).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

DATA = Path("bench/data")


@dataclass(frozen=True)
class Step:
    name: str
    full: list[str]
    quick: list[str]
    needs_wrk: bool = False


def _module(name: str, *args: str) -> list[str]:
    return [sys.executable, "-m", name, *args]


def _script(path: str, *args: str) -> list[str]:
    return [sys.executable, path, *args]


STEPS = [
    Step(
        "generate-orders",
        _script("bench/ingest/generate_orders.py", "--orders", "1000000"),
        _script("bench/ingest/generate_orders.py", "--orders", "20000"),
    ),
    Step(
        "import",
        _script("bench/ingest/bench_import.py", "--database", "trofast_bench_import"),
        _script(
            "bench/ingest/bench_import.py",
            "--no-cdnow",
            "--file",
            str(DATA / "orders_20000.csv"),
            "--database",
            "trofast_bench_import_quick",
        ),
    ),
    Step(
        "ingest-http",
        _module("bench.ingest.bench_http", "--seconds", "15"),
        _module("bench.ingest.bench_http", "--seconds", "3"),
        needs_wrk=True,
    ),
    Step(
        "order-to-points-http",
        _module(
            "bench.ingest.bench_http",
            "--seconds",
            "30",  # with the programme a batch of 100 takes seconds; 15 s completes too few
            "--programme",
            "src/trofast/demo/programme.yaml",
            "--paced",
            "40,60,80",
        ),
        _module(
            "bench.ingest.bench_http",
            "--seconds",
            "3",
            "--programme",
            "src/trofast/demo/programme.yaml",
            "--paced",
            "40",
        ),
        needs_wrk=True,
    ),
    Step(
        "order-to-points-profile",
        _module("bench.program.profile_apply", "--events", "2000"),
        _module("bench.program.profile_apply", "--events", "200"),
    ),
    Step(
        "set-based-ceiling",
        _module("bench.program.ceiling_setbased", "--batches", "60", "--insert", "executemany"),
        _module("bench.program.ceiling_setbased", "--batches", "3", "--members", "2000"),
    ),
    Step(
        "ledger-verify",
        _module("bench.ledger.bench_verify", "--postings", "10000000", "--members", "100000"),
        _module("bench.ledger.bench_verify", "--postings", "200000", "--members", "5000"),
    ),
    Step(
        "ledger-jobs",
        _module("bench.ledger.bench_jobs", "--members", "20000"),
        _module("bench.ledger.bench_jobs", "--members", "500"),
    ),
    Step(
        "ledger-due",
        _module("bench.ledger.bench_due", "--postings", "10000000", "--members", "100000"),
        _module("bench.ledger.bench_due", "--postings", "200000", "--members", "5000"),
    ),
    Step(
        "ledger-spend",
        _module("bench.ledger.bench_spend", "--postings", "2000000", "--members", "20000"),
        _module(
            "bench.ledger.bench_spend",
            "--postings",
            "200000",
            "--members",
            "2000",
            "--spends",
            "500",
        ),
    ),
    Step(
        "backtest",
        _script("bench/program/bench_backtest.py"),
        _script("bench/program/bench_backtest.py", "--orders", str(DATA / "orders_20000.csv")),
    ),
    Step(
        "coupon-http",
        _module("bench.coupon.bench_http", "--seconds", "20"),
        _module("bench.coupon.bench_http", "--seconds", "3"),
        needs_wrk=True,
    ),
    Step(
        "till-lookup",
        _module("bench.pos.bench_lookup", "--members", "1000000", "--seconds", "30"),
        _module("bench.pos.bench_lookup", "--members", "20000", "--seconds", "3"),
        needs_wrk=True,
    ),
    Step(
        "analytics-generate",
        _script("bench/analytics/generate.py", "--customers", "1000000"),
        _script("bench/analytics/generate.py", "--customers", "20000"),
    ),
    Step(
        "analytics-models",
        _script("bench/analytics/run.py", "--data", str(DATA / "orders_1000000.parquet")),
        _script("bench/analytics/run.py", "--data", str(DATA / "orders_20000.parquet")),
    ),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the scripts")
    parser.add_argument("--only", nargs="*", default=None, help="run only these steps")
    parser.add_argument("--list", action="store_true", help="print the steps and exit")
    args = parser.parse_args()
    if args.list:
        for step in STEPS:
            print(f"{step.name}: {' '.join(step.quick if args.quick else step.full)}")
        return 0
    unknown = set(args.only or ()) - {step.name for step in STEPS}
    if unknown:
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
    has_wrk = shutil.which("wrk") is not None
    failed: list[str] = []
    for step in STEPS:
        if args.only is not None and step.name not in args.only:
            continue
        if step.needs_wrk and not has_wrk:
            print(f"== {step.name}: skipped, needs wrk (apt-get install wrk)", flush=True)
            continue
        command = step.quick if args.quick else step.full
        print(f"== {step.name}: {' '.join(command)}", flush=True)
        began = time.monotonic()
        code = subprocess.call(command)
        print(f"== {step.name}: exit {code} after {time.monotonic() - began:.0f} s", flush=True)
        if code != 0:
            failed.append(step.name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
