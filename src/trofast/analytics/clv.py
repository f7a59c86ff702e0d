"""Customer lifetime value and per-customer predictions from the fitted models.

The CLV is the standard discounted formulation (Fader, Hardie & Lee 2005b, as implemented by
the `lifetimes` and `pymc-marketing` libraries): the expected purchases in each future month,
times the expected spend per purchase and the margin, discounted monthly::

    CLV = margin * E[M | x, m] * sum_{k=1..months} (E[Y(k)] - E[Y(k-1)]) / (1 + d)^k

where ``E[Y(k)]`` is the conditional expected number of purchases in the next ``k`` months.
``E[Y(t)]`` factors into P(alive) times the expectation for an active customer, so P(alive) is
computed once and the time-dependent part once per month.

Intervals come from parameter uncertainty: parameters are drawn from the asymptotic normal of
the log-parameters (inverse observed information) of both models and the CLV recomputed per draw.
The shop's total gets its interval from the per-draw totals (`total_clv_interval`), never from
adding up or scaling customers' bounds.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005b). RFM and CLV: using iso-value curves for
customer base analysis. Journal of Marketing Research 42(4), 415-430.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol, Self

import numpy as np
import polars as pl
from numpy.typing import ArrayLike

from trofast.analytics._mle import Vector, as_vector
from trofast.analytics.gammagamma import GammaGammaModel
from trofast.analytics.summary import unit_days

# P(alive) below LOW is high churn risk, above HIGH low risk; the middle band is "medium".
CHURN_RISK_LOW = 0.3
CHURN_RISK_HIGH = 0.7


class TransactionModel(Protocol):
    """What BG/NBD and Pareto/NBD both offer for prediction."""

    unit: str | None

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> Vector: ...

    def expected_purchases_if_alive(
        self, t: float, frequency: ArrayLike, T: ArrayLike
    ) -> Vector: ...

    def expected_purchases_if_alive_curve(
        self, horizons: Sequence[float], frequency: ArrayLike, T: ArrayLike
    ) -> Vector: ...

    def next_purchase_median(self, frequency: ArrayLike, T: ArrayLike) -> Vector: ...

    def sample_params(self, n: int, rng: np.random.Generator) -> Vector: ...

    def with_params(self, values: Vector) -> Self: ...


@dataclass(frozen=True)
class ClvSettings:
    """CLV horizon and economics.

    ``periods_per_month`` converts months to the model's time unit (e.g. 30 for days, to agree
    with `lifetimes`; 365.25/12 by default for days).
    """

    months: int = 12
    margin: float = 1.0
    monthly_discount_rate: float = 0.01
    periods_per_month: float = 365.25 / 12


def discounted_purchases(
    model: TransactionModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    settings: ClvSettings,
) -> Vector:
    """Sum over months of the discounted expected purchases in that month.

    With ``c_k`` the expected purchases in the first ``k`` months and ``v_k`` the discount
    factor, ``sum_k v_k (c_k - c_(k-1)) = sum_k c_k (v_k - v_(k+1))`` (``c_0 = v_(M+1) = 0``).
    The curve depends on a customer only through ``(x, T)``, so it is evaluated once per
    distinct pair and the discounted sum gathered to customers once: no (months x customers)
    array, whose fresh pages alone cost seconds on a busy machine at a million customers.
    """
    alive = model.p_alive(frequency, recency, T)
    x = as_vector(frequency, "frequency")
    big_t = as_vector(T, "T")
    _, x_code = np.unique(x, return_inverse=True)
    t_values, t_code = np.unique(big_t, return_inverse=True)
    pair_codes, pair_of_customer = np.unique(x_code * t_values.size + t_code, return_inverse=True)
    first = np.zeros(pair_codes.size, dtype=np.intp)
    first[pair_of_customer] = np.arange(x.size)  # any customer of each pair will do
    months = np.arange(1, settings.months + 1)
    curve = model.expected_purchases_if_alive_curve(
        list(months * settings.periods_per_month), x[first], big_t[first]
    )
    discount = (1 + settings.monthly_discount_rate) ** -months.astype(np.float64)
    weight = discount - np.append(discount[1:], 0.0)
    per_pair = (weight[:, None] * curve).sum(axis=0)
    out: Vector = per_pair[pair_of_customer] * alive
    return out


def customer_lifetime_value(
    model: TransactionModel,
    spend_model: GammaGammaModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    settings: ClvSettings | None = None,
) -> Vector:
    """Predicted discounted CLV per customer over ``settings.months`` (in money units)."""
    settings = settings or ClvSettings()
    spend = spend_model.conditional_expected_spend(frequency, monetary_value)
    out: Vector = (
        settings.margin * spend * discounted_purchases(model, frequency, recency, T, settings)
    )
    return out


@dataclass(frozen=True)
class ClvInterval:
    lower: Vector
    upper: Vector
    total_lower: float
    total_upper: float


def clv_draws(
    model: TransactionModel,
    spend_model: GammaGammaModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    settings: ClvSettings | None = None,
    *,
    n_draws: int = 200,
    rng: np.random.Generator,
) -> Vector:
    """Every customer's CLV under each of ``n_draws`` parameter draws: shape (draws, customers).

    Each draw takes the purchase model's parameters jointly from their asymptotic normal (the
    log-parameters with the inverse observed information as covariance) and, independently,
    the spend model's: the two are fitted separately, the Gamma-Gamma assumption that spend
    does not depend on the purchase process. Row ``i`` is the whole customer base under one
    parameter vector, so anything summed over customers must be summed within a row.
    """
    tx_draws = model.sample_params(n_draws, rng)
    spend_draws = spend_model.sample_params(n_draws, rng)
    x = as_vector(frequency, "frequency")
    values: Vector = np.empty((n_draws, x.size))
    for i in range(n_draws):
        values[i] = customer_lifetime_value(
            model.with_params(tx_draws[i]),
            spend_model.with_params(spend_draws[i]),
            x,
            recency,
            T,
            monetary_value,
            settings,
        )
    return values


def _tails(level: float) -> list[float]:
    tail = (1 - level) / 2 * 100
    return [tail, 100 - tail]


def clv_interval(
    model: TransactionModel,
    spend_model: GammaGammaModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    settings: ClvSettings | None = None,
    *,
    level: float = 0.9,
    n_draws: int = 200,
    seed: int = 0,
) -> ClvInterval:
    """Per-customer and total CLV intervals from parameter uncertainty.

    The total's interval is the quantile of the per-draw totals (`clv_draws` summed over
    customers within each draw), not the sum of the customers' bounds: parameter uncertainty
    moves customers' CLVs together but not in lockstep, so the sum of per-customer bounds
    is wider than the total's own interval. Cost is ``n_draws`` CLV evaluations over every
    customer given: for large shops use `total_clv_interval`.
    """
    rng = np.random.default_rng(seed)
    values = clv_draws(
        model, spend_model, frequency, recency, T, monetary_value, settings,
        n_draws=n_draws, rng=rng,
    )  # fmt: skip
    lo, hi = np.percentile(values, _tails(level), axis=0)
    totals = np.percentile(values.sum(axis=1), _tails(level))
    return ClvInterval(lo, hi, float(totals[0]), float(totals[1]))


@dataclass(frozen=True)
class TotalClvInterval:
    total: float  # the point total over every customer
    lower: float
    upper: float
    customers: int
    redrawn_customers: int  # customers whose CLV was recomputed per draw (all, or a sample)


def total_clv_interval(
    model: TransactionModel,
    spend_model: GammaGammaModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    settings: ClvSettings | None = None,
    *,
    level: float = 0.9,
    n_draws: int = 200,
    seed: int = 0,
    max_customers: int = 20_000,
) -> TotalClvInterval:
    """The shop's total CLV with an interval from parameter uncertainty.

    Up to ``max_customers`` the interval is exact for the draws: the quantiles of the total
    over every customer, one total per joint parameter draw (as `clv_interval`). Above it the
    draws are evaluated on a simple random sample ``s`` of ``max_customers`` customers and the
    whole base's total under draw ``d`` is estimated by the ratio estimator ::

        total_d = total * sum_{i in s} CLV_i(theta_d) / sum_{i in s} CLV_i(theta_hat)

    which carries the sample's *relative* response to the parameters over to the known point
    total. Scaling the sample's bounds by ``N / n`` instead adds the sample's own chance
    deviation from the base to every draw alike and shifts the whole interval: on 60,000
    simulated customers, five 20,000-customer samples moved the bounds by up to 2.8 % and
    three of the five intervals missed the point total; the ratio estimator stayed within
    0.02 % of the exact interval.

    Assumptions
    -----------
    The parameters are drawn from their asymptotic normal (a parametric bootstrap over the
    observed information); the data are taken as fixed, so the interval is the uncertainty
    of the expectation, not of the realised future revenue (Poisson noise is not included).

    References
    ----------
    Cochran, W. G. (1977). Sampling Techniques, 3rd ed., ch. 6 (the ratio estimator).
    """
    x = as_vector(frequency, "frequency")
    columns = (x, as_vector(recency, "recency"), as_vector(T, "T"),
               as_vector(monetary_value, "monetary_value"))  # fmt: skip
    point = customer_lifetime_value(model, spend_model, *columns, settings)
    total = float(point.sum())
    rng = np.random.default_rng(seed)
    if x.size <= max_customers:
        values = clv_draws(model, spend_model, *columns, settings, n_draws=n_draws, rng=rng)
        lo, hi = np.percentile(values.sum(axis=1), _tails(level))
        return TotalClvInterval(total, float(lo), float(hi), x.size, x.size)
    # The sample comes from its own stream so that, for one seed, both paths draw the same
    # parameters.
    chosen = np.sort(np.random.default_rng((seed, 1)).choice(x.size, max_customers, replace=False))
    sx, sr, st, sm = (c[chosen] for c in columns)
    sample_point = float(point[chosen].sum())
    if sample_point == 0.0:  # a zero margin: every draw is zero too
        return TotalClvInterval(total, total, total, x.size, max_customers)
    values = clv_draws(model, spend_model, sx, sr, st, sm, settings, n_draws=n_draws, rng=rng)
    ratio = values.sum(axis=1) / sample_point
    lo, hi = total * np.percentile(ratio, _tails(level))
    return TotalClvInterval(total, float(lo), float(hi), x.size, max_customers)


def churn_risk(p_alive: pl.Expr) -> pl.Expr:
    """Bands of P(alive): 'high' risk below 0.3, 'low' above 0.7, 'medium' between."""
    return (
        pl.when(p_alive < CHURN_RISK_LOW)
        .then(pl.lit("high"))
        .when(p_alive > CHURN_RISK_HIGH)
        .then(pl.lit("low"))
        .otherwise(pl.lit("medium"))
    )


def predict_customers(
    summary: pl.DataFrame,
    model: TransactionModel,
    spend_model: GammaGammaModel | None,
    *,
    calibration_end: date,
    unit: str,
    horizons_days: tuple[int, ...] = (30, 90, 365),
    settings: ClvSettings | None = None,
) -> pl.DataFrame:
    """Per-customer predictions: P(alive), churn risk, expected orders over ``horizons_days``,
    median next-order date if active, expected spend per order and CLV.

    ``summary`` is the output of `trofast.analytics.summary.summarize` for the same unit.
    """
    days = unit_days(unit)
    settings = settings or ClvSettings(periods_per_month=365.25 / 12 / days)
    x = summary["frequency"].to_numpy().astype(np.float64)
    t_x = summary["recency"].to_numpy()
    big_t = summary["T"].to_numpy()
    alive = model.p_alive(x, t_x, big_t)
    columns: dict[str, object] = {
        "customer_id": summary["customer_id"],
        "p_alive": alive,
    }
    for h in horizons_days:
        columns[f"expected_orders_{h}d"] = (
            model.expected_purchases_if_alive(h / days, x, big_t) * alive
        )
    wait_days = np.round(model.next_purchase_median(x, big_t) * days)
    # beyond a century the "next order" is never; keep it out of the date range
    wait_days = np.where(wait_days < 36_500, wait_days, np.nan)
    columns["next_order_date"] = (
        pl.Series(wait_days, nan_to_null=True).cast(pl.Int32)
        + (calibration_end - date(1970, 1, 1)).days
    )
    if spend_model is not None:
        m = summary["monetary_value"].to_numpy()
        spend = spend_model.conditional_expected_spend(x, m)
        columns["expected_spend"] = spend
        columns["clv"] = (
            settings.margin * spend * discounted_purchases(model, x, t_x, big_t, settings)
        )
    return pl.DataFrame(columns).with_columns(
        churn_risk=churn_risk(pl.col("p_alive")),
        next_order_date=pl.col("next_order_date").cast(pl.Date),
    )
