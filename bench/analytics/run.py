"""Benchmark: order log -> summary -> BG/NBD + Gamma-Gamma -> 90-day orders, P(alive), 12-month
CLV, for Trofast, lifetimes 0.11.3 and pymc-marketing (MAP), side by side in one run.

    .venv/bin/python bench/analytics/run.py --data bench/data/orders_1000000.parquet

Each library runs in its own subprocess so its peak RSS is its own. Wall time covers reading the
Parquet file through the last prediction (imports excluded, reported apart), CPU time (user +
sys, all threads) over the same span beside it. Results go to
stdout as a table and to ``bench/out/analytics_<name>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "out"
LIBRARIES = ("trofast", "lifetimes", "pymc-marketing")
HORIZON_DAYS = 90
CLV_MONTHS = 12
DISCOUNT = 0.01  # monthly
DAYS_PER_MONTH = 30  # what lifetimes and pymc-marketing use for daily data


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_trofast(path: Path) -> dict[str, Any]:
    t_import = time.perf_counter()
    import polars as pl

    from trofast.analytics import BetaGeoModel, ClvSettings, GammaGammaModel, summarize
    from trofast.analytics.clv import discounted_purchases

    t0 = time.perf_counter()
    cpu0 = time.process_time()
    # A lazy scan: the summary reads only the columns it needs, straight into compact arrays.
    orders = pl.scan_parquet(path)
    end = orders.select(pl.col("timestamp").max()).collect().item()
    s = summarize(orders, calibration_end=end, unit="day")
    t_summary = time.perf_counter()
    x, t_x, big_t, m = (s[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value"))
    bg = BetaGeoModel(unit="day").fit(x, t_x, big_t)
    gg = GammaGammaModel().fit(x, m)
    t_fit = time.perf_counter()
    alive = bg.p_alive(x, t_x, big_t)
    expected = bg.expected_purchases_if_alive(HORIZON_DAYS, x, big_t) * alive
    settings = ClvSettings(CLV_MONTHS, 1.0, DISCOUNT, DAYS_PER_MONTH)
    clv = gg.conditional_expected_spend(x, m) * discounted_purchases(bg, x, t_x, big_t, settings)
    t_end = time.perf_counter()
    return {
        "params": {**bg.params_, **gg.params_},
        "import_s": t0 - t_import,
        "summary_s": t_summary - t0,
        "fit_s": t_fit - t_summary,
        "predict_s": t_end - t_fit,
        "wall_s": t_end - t0,
        # CPU time (user + sys, all threads) of the same span: the machine is shared, so wall
        # time alone mixes our cost with other people's load.
        "cpu_s": time.process_time() - cpu0,
        "customers": int(x.size),
        "sums": {
            "expected_90d": float(expected.sum()),
            "p_alive": float(alive.sum()),
            "clv": float(clv.sum()),
        },
    }


def _lifetimes_shim() -> None:
    """lifetimes 0.11.3 (2020) against today's pandas/numpy/scipy: restore what it imports."""
    import numpy as np
    import pandas as pd
    import scipy.misc
    import scipy.special

    if not hasattr(scipy.misc, "logsumexp"):
        scipy.misc.logsumexp = scipy.special.logsumexp  # type: ignore[attr-defined]
    for name, value in (("float", float), ("int", int), ("bool", bool)):
        if not hasattr(np, name):
            setattr(np, name, value)
    _ = pd


def run_lifetimes(path: Path) -> dict[str, Any]:
    t_import = time.perf_counter()
    _lifetimes_shim()
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    t0 = time.perf_counter()
    cpu0 = time.process_time()
    orders = pd.read_parquet(path)
    orders["timestamp"] = pd.to_datetime(orders["timestamp"])
    end = orders["timestamp"].max()
    s = summary_data_from_transaction_data(
        orders, "customer_id", "timestamp", monetary_value_col="amount",
        observation_period_end=end, freq="D",
    )  # fmt: skip
    del orders
    t_summary = time.perf_counter()
    bg = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    rep = s[s["frequency"] > 0]
    gg = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
    t_fit = time.perf_counter()
    expected = bg.conditional_expected_number_of_purchases_up_to_time(
        HORIZON_DAYS, s["frequency"], s["recency"], s["T"]
    )
    alive = bg.conditional_probability_alive(s["frequency"], s["recency"], s["T"])
    clv = gg.customer_lifetime_value(
        bg, s["frequency"], s["recency"], s["T"], s["monetary_value"],
        time=CLV_MONTHS, discount_rate=DISCOUNT, freq="D",
    )  # fmt: skip
    t_end = time.perf_counter()
    params = {k: float(v) for k, v in bg.params_.items()}
    params.update({"p": float(gg.params_["p"]), "q": float(gg.params_["q"]),
                   "gamma": float(gg.params_["v"])})  # fmt: skip
    return {
        "params": params,
        "import_s": t0 - t_import,
        "summary_s": t_summary - t0,
        "fit_s": t_fit - t_summary,
        "predict_s": t_end - t_fit,
        "wall_s": t_end - t0,
        # CPU time (user + sys, all threads) of the same span: the machine is shared, so wall
        # time alone mixes our cost with other people's load.
        "cpu_s": time.process_time() - cpu0,
        "customers": len(s),
        "sums": {
            "expected_90d": float(expected.sum()),
            "p_alive": float(alive.sum()),
            "clv": float(clv.sum()),
        },
    }


def run_pymc(path: Path) -> dict[str, Any]:
    t_import = time.perf_counter()
    import pandas as pd
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel
    from pymc_marketing.clv.utils import rfm_summary

    t0 = time.perf_counter()
    cpu0 = time.process_time()
    orders = pd.read_parquet(path)
    orders["timestamp"] = pd.to_datetime(orders["timestamp"])
    end = orders["timestamp"].max()
    s = rfm_summary(orders, "customer_id", "timestamp", monetary_value_col="amount",
                    observation_period_end=end, time_unit="D")  # fmt: skip
    del orders
    t_summary = time.perf_counter()
    bg = BetaGeoModel(data=s[["customer_id", "frequency", "recency", "T"]])
    bg.fit(method="map")
    rep = s[s["frequency"] > 0]
    gg = GammaGammaModel(data=rep[["customer_id", "frequency", "monetary_value"]])
    gg.fit(method="map")
    t_fit = time.perf_counter()
    expected = bg.expected_purchases(future_t=HORIZON_DAYS)
    alive = bg.expected_probability_alive()
    clv = gg.expected_customer_lifetime_value(
        transaction_model=bg, data=s, future_t=CLV_MONTHS, discount_rate=DISCOUNT, time_unit="D"
    )
    t_end = time.perf_counter()
    post = getattr(bg.fit_result, "posterior", bg.fit_result)
    params = {k: float(post[k].mean()) for k in ("r", "alpha", "a", "b")}
    gpost = getattr(gg.fit_result, "posterior", gg.fit_result)
    params.update({"p": float(gpost["p"].mean()), "q": float(gpost["q"].mean()),
                   "gamma": float(gpost["v"].mean())})  # fmt: skip
    return {
        "params": params,
        "import_s": t0 - t_import,
        "summary_s": t_summary - t0,
        "fit_s": t_fit - t_summary,
        "predict_s": t_end - t_fit,
        "wall_s": t_end - t0,
        # CPU time (user + sys, all threads) of the same span: the machine is shared, so wall
        # time alone mixes our cost with other people's load.
        "cpu_s": time.process_time() - cpu0,
        "customers": len(s),
        "sums": {
            "expected_90d": float(expected.sum()),
            "p_alive": float(alive.sum()),
            "clv": float(clv.sum()),
        },
    }


WORKERS = {"trofast": run_trofast, "lifetimes": run_lifetimes, "pymc-marketing": run_pymc}


def worker(lib: str, path: Path) -> None:
    result = WORKERS[lib](path)
    result["load_avg"] = os.getloadavg()[0]
    result["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--libs", default=",".join(LIBRARIES))
    parser.add_argument("--timeout", type=int, default=1800)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.data)
        return
    results: dict[str, Any] = {}
    for lib in args.libs.split(","):
        cmd = [sys.executable, __file__, "--worker", lib, "--data", str(args.data)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout,
                                  check=False)  # fmt: skip
        except subprocess.TimeoutExpired:
            results[lib] = {"error": f"timeout after {args.timeout} s"}
            continue
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not lines:
            results[lib] = {"error": proc.stderr.strip().splitlines()[-1:] or ["failed"]}
            continue
        results[lib] = json.loads(lines[-1])
    report(results, args.data)


def report(results: dict[str, Any], data: Path) -> None:
    base = results.get("trofast", {})
    print(f"data: {data}")
    print(f"{'library':16}{'wall s':>9}{'summary':>9}{'fit':>8}{'predict':>9}{'peak MB':>9}"
          f"{'import s':>9}{'cpu s':>8}{'load':>6}  max param diff vs trofast")  # fmt: skip
    for lib, r in results.items():
        if "error" in r:
            print(f"{lib:16} error: {r['error']}")
            continue
        diff = ""
        if base.get("params") and lib != "trofast":
            rel = {k: abs(r["params"][k] / v - 1) for k, v in base["params"].items()}
            worst = max(rel, key=lambda k: rel[k])
            diff = f"{rel[worst]:.2e} ({worst})"
        print(
            f"{lib:16}{r['wall_s']:9.2f}{r['summary_s']:9.2f}{r['fit_s']:8.2f}"
            f"{r['predict_s']:9.2f}{r['peak_rss_mb']:9.0f}{r['import_s']:9.2f}"
            f"{r['cpu_s']:8.2f}{r['load_avg']:6.1f}  {diff}"
        )
    for lib, r in results.items():
        if "error" not in r and lib != "trofast" and "wall_s" in base:
            print(f"ratio {lib}/trofast: time {r['wall_s'] / base['wall_s']:.1f}x, "
                  f"peak memory {r['peak_rss_mb'] / base['peak_rss_mb']:.1f}x")  # fmt: skip
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"analytics_{data.stem}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
