"""Benchmark `trofast program backtest`: the 1,000,000-order history and the CDNOW master log.

Each history runs in its own subprocess so its peak RSS is its own. The programme is the
sample below: a spend rate, a category multiplier, a campaign, a first-order bonus, three
tiers on points over the calendar year, and lot expiry after 12 months.

    .venv/bin/python bench/ingest/generate_orders.py --orders 1000000     # once, ~5 s
    .venv/bin/python bench/program/bench_backtest.py
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ORDERS = ROOT / "bench" / "data" / "orders_1000000.csv"
CDNOW = ROOT / "tests" / "data" / "cdnow" / "CDNOW_master.txt"

PROGRAMME = """
name: Bench
currency: {currency}
point_value_minor: "0.5"
pending: {{return_window_days: 30}}
expiry: {{policy: lot, months: 12}}
earning:
  - {{id: base, kind: spend, rates: {{NOK: "0.1", USD: "1"}}}}
  - {{id: shoes, kind: multiplier, factor: "2", categories: [Sko]}}
  - id: black_friday
    kind: campaign
    factor: "3"
    starts_at: "{campaign}-11-24T00:00:00+00:00"
    ends_at: "{campaign}-11-28T00:00:00+00:00"
  - {{id: welcome, kind: first_order, points: 50}}
tiers:
  metric: points
  period: calendar_year
  levels:
    - {{id: bronze, name: Bronze, threshold: 0}}
    - {{id: silver, name: Silver, threshold: 500, retain: 300, multiplier: "1.25"}}
    - {{id: gold, name: Gold, threshold: 2000, retain: 1200, multiplier: "1.5"}}
"""


def measure(path: Path, currency: str, date_format: str | None, campaign: int) -> dict[str, object]:
    from trofast.imports.mapping import ImportOptions
    from trofast.program import backtest
    from trofast.program.backtest_earning import order_points
    from trofast.program.backtest_history import from_import_file
    from trofast.program.document import load

    programme = load(PROGRAMME.format(currency=currency, campaign=campaign))
    options = ImportOptions(
        source="import:bench", currency=currency, date_format=date_format, batch_size=500_000
    )
    started = time.perf_counter()
    history = from_import_file(path, options)
    read = time.perf_counter() - started
    started = time.perf_counter()
    order_points(programme, history)
    earning = time.perf_counter() - started
    started = time.perf_counter()
    report = backtest.run(programme, history)
    replay = time.perf_counter() - started
    return {
        "file": path.name,
        "orders": report.orders,
        "lines": history.lines.height,
        "members": report.members,
        "read_s": round(read, 2),
        "earning_s": round(earning, 2),
        "run_s": round(replay, 2),
        "total_s": round(read + replay, 2),
        "issued": report.issued,
        "liability": f"{report.liability:.2f} {report.currency}",
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=Path, default=ORDERS)
    parser.add_argument("--one", choices=["orders", "cdnow"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one == "orders":
        print(json.dumps(measure(args.orders, "NOK", None, 2024)))
        return
    if args.one == "cdnow":
        print(json.dumps(measure(CDNOW, "USD", "%Y%m%d", 1997)))
        return
    runs = [("cdnow", CDNOW)] if CDNOW.is_file() else []
    if args.orders.is_file():
        runs.append(("orders", args.orders))
    else:
        print(f"{args.orders} is missing: run bench/ingest/generate_orders.py first")
    for name, _ in runs:
        command = [sys.executable, __file__, "--one", name, "--orders", str(args.orders)]
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        print(out.strip())


if __name__ == "__main__":
    main()
