"""Cohorts and repeat-purchase measures on hand-made data with exact expected values."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from trofast.analytics import cohort_table, repeat_metrics
from trofast.analytics.cohorts import RepeatMetrics


def orders() -> pl.DataFrame:
    rows = [
        (1, date(2024, 1, 5), 10.0),
        (1, date(2024, 2, 10), 20.0),
        (1, date(2024, 3, 15), 30.0),
        (2, date(2024, 1, 20), 40.0),
        (2, date(2024, 3, 1), 50.0),
        (3, date(2024, 2, 2), 60.0),
        (4, date(2024, 2, 3), 70.0),
        (4, date(2024, 2, 20), 80.0),
    ]
    return pl.DataFrame(rows, schema=["customer_id", "timestamp", "amount"], orient="row")


def test_cohort_table_golden() -> None:
    table = cohort_table(orders())
    assert table.rows() == [
        (date(2024, 1, 1), 0, 2, 2, 1.0, 2, 50.0),
        (date(2024, 1, 1), 1, 2, 1, 0.5, 1, 20.0),
        (date(2024, 1, 1), 2, 2, 2, 1.0, 2, 80.0),
        (date(2024, 2, 1), 0, 2, 2, 1.0, 3, 210.0),
    ]
    assert table.columns == [
        "cohort", "period", "cohort_size", "active_customers", "retention", "orders", "revenue",
    ]  # fmt: skip


def test_cohorts_accept_aware_datetimes() -> None:
    aware = orders().with_columns(
        pl.col("timestamp").cast(pl.Datetime("us")).dt.replace_time_zone("Europe/Oslo")
    )
    assert cohort_table(aware).rows() == cohort_table(orders()).rows()


def test_repeat_metrics_golden() -> None:
    m = repeat_metrics(orders(), at=date(2024, 3, 31), churn_days=30)
    assert m == RepeatMetrics(
        customers=4,
        orders=8,
        revenue=360.0,
        repeat_purchase_rate=0.75,
        average_order_value=45.0,
        purchase_frequency=2.0,
        mean_days_between_orders=32.0,  # gaps 36, 34, 41, 17
        median_days_between_orders=35.0,
        churned_customers=2,  # customers 3 and 4: last order 58 and 40 days ago
        churn_rate=0.5,
    )


def test_repeat_metrics_ignore_orders_after_the_date() -> None:
    m = repeat_metrics(orders(), at=date(2024, 1, 31))
    assert (m.customers, m.orders, m.revenue, m.repeat_purchase_rate) == (2, 2, 50.0, 0.0)
    assert m.mean_days_between_orders == 0.0


def test_empty_shop_is_all_zeros() -> None:
    m = repeat_metrics(orders().clear())
    assert m == RepeatMetrics(0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0.0)
    assert cohort_table(orders().clear()).height == 0


def test_one_customer_one_order() -> None:
    one = orders().head(1)
    m = repeat_metrics(one)
    assert (m.customers, m.average_order_value, m.churn_rate) == (1, 10.0, 0.0)
    assert cohort_table(one)["retention"].to_list() == pytest.approx([1.0])
