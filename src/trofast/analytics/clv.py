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
    """Sum over months of the discounted expected purchases in that month."""
    alive = model.p_alive(frequency, recency, T)
    months = np.arange(settings.months + 1)
    curve = model.expected_purchases_if_alive_curve(
        list(months[1:] * settings.periods_per_month), frequency, T
    )
    per_month = np.diff(curve, axis=0, prepend=0.0)
    discount = (1 + settings.monthly_discount_rate) ** -months[1:].astype(np.float64)
    out: Vector = (discount[:, None] * per_month).sum(axis=0) * alive
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

    Cost is ``n_draws`` CLV evaluations: pass a sample of customers for large shops.
    """
    rng = np.random.default_rng(seed)
    tx_draws = model.sample_params(n_draws, rng)
    spend_draws = spend_model.sample_params(n_draws, rng)
    x = as_vector(frequency, "frequency")
    values = np.empty((n_draws, x.size))
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
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(values, [tail, 100 - tail], axis=0)
    totals = np.percentile(values.sum(axis=1), [tail, 100 - tail])
    return ClvInterval(lo, hi, float(totals[0]), float(totals[1]))


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
