"""Acquisition cohorts and the repeat-purchase measures merchants track.

Assumptions
-----------
- A customer's cohort is the calendar month of their first order; ``period`` counts calendar
  months since then (0 is the acquisition month).
- A customer is *active* in a period when they placed at least one order in it; retention is
  active customers over cohort size, so period 0 is always 1.
- Time between orders is measured between consecutive orders of the same customer, in days;
  same-day orders count as 0 days apart.
- Churned (at a date): a customer whose last order is more than ``churn_days`` before it. This
  is the usual operational definition for non-contractual shops; the probability models in
  `bgnbd` and `paretonbd` give the model-based alternative (P(alive)).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from trofast.analytics.summary import FrameLike, order_days


def cohort_table(
    orders: FrameLike,
    *,
    customer_col: str = "customer_id",
    date_col: str = "timestamp",
    amount_col: str = "amount",
) -> pl.DataFrame:
    """Monthly acquisition cohorts x months since first order.

    Returns
    -------
    polars.DataFrame
        ``cohort`` (first day of the month), ``period`` (months since acquisition),
        ``cohort_size``, ``active_customers``, ``retention`` (active / size), ``orders``,
        ``revenue``; one row per cohort and period with at least one order.
    """
    lf = order_days(
        orders, customer_col=customer_col, date_col=date_col, amount_col=amount_col
    ).with_columns(month=pl.col("day").dt.truncate("1mo"))
    first = lf.group_by("customer_id").agg(cohort=pl.col("month").min())
    sizes = first.group_by("cohort").agg(cohort_size=pl.len())
    months = pl.col("month").dt.year() * 12 + pl.col("month").dt.month()
    cohort_months = pl.col("cohort").dt.year() * 12 + pl.col("cohort").dt.month()
    return (
        lf.join(first, on="customer_id")
        .with_columns(period=(months - cohort_months).cast(pl.Int32))
        .group_by("cohort", "period")
        .agg(
            active_customers=pl.col("customer_id").n_unique(),
            orders=pl.len(),
            revenue=pl.col("amount").sum(),
        )
        .join(sizes, on="cohort")
        .with_columns(retention=pl.col("active_customers") / pl.col("cohort_size"))
        .select(
            "cohort", "period", "cohort_size", "active_customers", "retention", "orders", "revenue"
        )
        .sort("cohort", "period")
        .collect()
    )


@dataclass(frozen=True)
class RepeatMetrics:
    """Shop-level purchase behaviour; every ratio is 0.0 when its denominator is empty."""

    customers: int
    orders: int
    revenue: float
    repeat_purchase_rate: float  # share of customers with two or more orders
    average_order_value: float
    purchase_frequency: float  # orders per customer
    mean_days_between_orders: float
    median_days_between_orders: float
    churned_customers: int
    churn_rate: float  # share of customers with no order in the last `churn_days`


def repeat_metrics(
    orders: FrameLike,
    *,
    at: date | None = None,
    churn_days: int = 180,
    customer_col: str = "customer_id",
    date_col: str = "timestamp",
    amount_col: str = "amount",
) -> RepeatMetrics:
    """Repeat-purchase rate, AOV, frequency, time between orders and churn at ``at``.

    ``at`` defaults to the last order date; orders after it are ignored.
    """
    lf = order_days(orders, customer_col=customer_col, date_col=date_col, amount_col=amount_col)
    if at is not None:
        lf = lf.filter(pl.col("day") <= pl.lit(at, dtype=pl.Date))
    df = lf.collect()
    if df.height == 0:
        return RepeatMetrics(0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0.0)
    at_day = at if at is not None else df["day"].max()
    per_customer = df.group_by("customer_id").agg(n=pl.len(), last=pl.col("day").max())
    gaps = (
        df.sort("customer_id", "day")
        .select(gap=pl.col("day").diff().dt.total_days().over("customer_id"))
        .drop_nulls()["gap"]
    )
    customers = per_customer.height
    n_orders = df.height
    revenue = float(df["amount"].sum())
    churned = per_customer.filter(
        (pl.lit(at_day, dtype=pl.Date) - pl.col("last")).dt.total_days() > churn_days
    ).height
    return RepeatMetrics(
        customers=customers,
        orders=n_orders,
        revenue=revenue,
        repeat_purchase_rate=int((per_customer["n"] >= 2).sum()) / customers,
        average_order_value=revenue / n_orders,
        purchase_frequency=n_orders / customers,
        mean_days_between_orders=float(gaps.mean()) if gaps.len() else 0.0,  # type: ignore[arg-type]
        median_days_between_orders=float(gaps.median()) if gaps.len() else 0.0,  # type: ignore[arg-type]
        churned_customers=churned,
        churn_rate=churned / customers,
    )
