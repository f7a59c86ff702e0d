"""Order logs simulated from known BG/NBD or Pareto/NBD and Gamma-Gamma parameters.

Used for parameter-recovery tests and by the benchmark generator (``bench/analytics``). Every
draw is vectorised: a million customers take about a second.

The simulation follows the models' own story, in continuous time measured in ``unit_days``:
each customer is acquired at a uniformly random day of the acquisition window (that first order
is time 0), then buys as a Poisson process until dropping out; purchase times are rounded down
to the day when turned into dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl
from numpy.typing import NDArray


@dataclass(frozen=True)
class SpendParams:
    """Gamma-Gamma parameters of spend per order (Fader, Hardie & Lee 2005b)."""

    p: float
    q: float
    gamma: float


def _acquisition(
    n: int,
    start: date,
    acquisition_days: int,
    end: date,
    unit_days: float,
    rng: np.random.Generator,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    offset = rng.integers(0, acquisition_days, size=n)
    horizon_days = (end - start).days
    big_t = (horizon_days - offset) / unit_days
    return offset, big_t


def _orders_frame(
    offset: NDArray[np.int64],
    counts: NDArray[np.int64],
    last: NDArray[np.float64],
    start: date,
    unit_days: float,
    spend: SpendParams,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """First order at time 0, ``counts[i]`` repeat orders of which the last is at ``last[i]``
    and the others uniform before it (the order statistics of a Poisson process)."""
    n = offset.size
    cust = np.arange(n, dtype=np.int64)
    rep = np.repeat(cust, counts)
    # position of each repeat order within its customer: the last one sits exactly at t_x
    starts = np.cumsum(counts) - counts
    pos = np.arange(rep.size) - np.repeat(starts, counts)
    is_last = pos == np.repeat(counts - 1, counts)
    times = np.where(is_last, last[rep], rng.random(rep.size) * last[rep])
    all_cust = np.concatenate([cust, rep])
    day = np.concatenate([offset, offset[rep] + np.floor(times * unit_days).astype(np.int64)])
    # Gamma-Gamma: a customer-level rate nu, then Gamma(p, nu) values per order
    nu = rng.gamma(spend.q, 1 / spend.gamma, size=n)
    amount = rng.gamma(spend.p, 1 / nu[all_cust])
    epoch = (start - date(1970, 1, 1)).days
    return pl.DataFrame(
        {
            "customer_id": all_cust,
            "timestamp": pl.Series(day + epoch, dtype=pl.Int32).cast(pl.Date),
            "amount": np.round(amount, 2),
        }
    )


def simulate_bgnbd(
    n_customers: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    spend: SpendParams,
    start: date,
    end: date,
    acquisition_days: int,
    unit_days: float = 1.0,
    seed: int = 0,
) -> pl.DataFrame:
    """An order log ``customer_id, timestamp (date), amount`` from a BG/NBD world.

    ``r`` and ``alpha`` are per ``unit_days``; orders after ``end`` are not observed.
    """
    rng = np.random.default_rng(seed)
    offset, big_t = _acquisition(n_customers, start, acquisition_days, end, unit_days, rng)
    lam = rng.gamma(r, 1 / alpha, size=n_customers)
    p = rng.beta(a, b, size=n_customers)
    n_window = rng.poisson(lam * big_t)
    # dropout after each repeat purchase with probability p: at most K repeat purchases
    k_max = rng.geometric(np.clip(p, 1e-12, 1.0))
    counts = np.minimum(n_window, k_max).astype(np.int64)
    # the counts-th of n_window uniform arrival times: Beta(counts, n_window - counts + 1)
    has = counts > 0
    last = np.zeros(n_customers)
    last[has] = big_t[has] * rng.beta(counts[has], n_window[has] - counts[has] + 1)
    return _orders_frame(offset, counts, last, start, unit_days, spend, rng)


def simulate_paretonbd(
    n_customers: int,
    *,
    r: float,
    alpha: float,
    s: float,
    beta: float,
    spend: SpendParams,
    start: date,
    end: date,
    acquisition_days: int,
    unit_days: float = 1.0,
    seed: int = 0,
) -> pl.DataFrame:
    """An order log from a Pareto/NBD world (exponential lifetimes)."""
    rng = np.random.default_rng(seed)
    offset, big_t = _acquisition(n_customers, start, acquisition_days, end, unit_days, rng)
    lam = rng.gamma(r, 1 / alpha, size=n_customers)
    mu = rng.gamma(s, 1 / beta, size=n_customers)
    alive_for = np.minimum(rng.exponential(1 / mu), big_t)
    counts = rng.poisson(lam * alive_for).astype(np.int64)
    has = counts > 0
    last = np.zeros(n_customers)
    # the maximum of `counts` uniform arrival times on [0, alive_for]
    last[has] = alive_for[has] * rng.beta(counts[has], 1)
    return _orders_frame(offset, counts, last, start, unit_days, spend, rng)


def window_end(start: date, days: int) -> date:
    return start + timedelta(days=days)
