"""Generate the benchmark order log: BG/NBD purchasing with Gamma-Gamma spend, in days.

    .venv/bin/python bench/analytics/generate.py --customers 1000000   # ~10M orders

Writes ``bench/data/orders_<customers>.parquet`` (git-ignored). The simulation itself lives in
`trofast.analytics.simulate`, so the tests recover the same parameters from the same code.
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

from trofast.analytics.simulate import SpendParams, simulate_bgnbd

DATA = Path(__file__).resolve().parents[1] / "data"
START, END = date(2023, 1, 1), date(2024, 12, 31)
# Per-day purchase rates: about one order a month for an active customer, geometric dropout
# with mean probability 0.1 per repeat order; ~10 orders per customer over two years.
TRUTH = {"r": 1.2, "alpha": 40.0, "a": 0.6, "b": 5.0}
SPEND = SpendParams(p=6.0, q=4.0, gamma=150.0)


def generate(customers: int, seed: int = 0) -> Path:
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"orders_{customers}.parquet"
    orders = simulate_bgnbd(
        customers, **TRUTH, spend=SPEND, start=START, end=END, acquisition_days=365, seed=seed
    )
    orders.write_parquet(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    t0 = time.perf_counter()
    path = generate(args.customers, args.seed)
    import polars as pl

    n = pl.scan_parquet(path).select(pl.len()).collect().item()
    print(
        f"{path}: {n:,} orders for {args.customers:,} customers in {time.perf_counter() - t0:.1f} s"
    )


if __name__ == "__main__":
    main()
