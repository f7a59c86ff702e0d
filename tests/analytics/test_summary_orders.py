"""The order-log summary against a plain two-step group-by, whatever the shape of the ids and
the order of the log: dense and sparse integer ids, string ids, a time-ordered log, 64-bit keys."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from trofast.analytics import _occasions, summarize

END = date(2024, 6, 30)


def _orders(n_orders: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "customer_id": rng.integers(0, n_orders // 4, n_orders),
            "timestamp": pl.Series(rng.integers(19_600, 19_950, n_orders), dtype=pl.Int32).cast(
                pl.Date
            ),
            "amount": np.round(rng.gamma(2.0, 20.0, n_orders), 2),
        }
    )


def _reference(orders: pl.DataFrame, unit_days: float) -> pl.DataFrame:
    days = (
        orders.filter(pl.col("timestamp") <= END)
        .group_by("customer_id", "timestamp")
        .agg(pl.col("amount").sum())
        .sort("customer_id", "timestamp")
    )
    return (
        days.group_by("customer_id")
        .agg(
            n=pl.len(),
            first=pl.col("timestamp").first(),
            last=pl.col("timestamp").last(),
            total=pl.col("amount").sum(),
            first_amount=pl.col("amount").first(),
        )
        .select(
            "customer_id",
            frequency=(pl.col("n") - 1).cast(pl.Int64),
            recency=(pl.col("last") - pl.col("first")).dt.total_days() / unit_days,
            T=(pl.lit(END) - pl.col("first")).dt.total_days() / unit_days,
            monetary_value=pl.when(pl.col("n") > 1)
            .then((pl.col("total") - pl.col("first_amount")) / (pl.col("n") - 1))
            .otherwise(0.0),
        )
        .sort("customer_id")
    )


def _assert_same(got: pl.DataFrame, want: pl.DataFrame) -> None:
    assert got.schema == want.schema
    assert got.drop("monetary_value").equals(want.drop("monetary_value"))
    np.testing.assert_allclose(got["monetary_value"], want["monetary_value"], rtol=1e-12)


@pytest.mark.parametrize(
    "ids",
    [
        pl.col("customer_id"),
        pl.col("customer_id") * 10**12 - 5,  # sparse: ranked, not offset
        pl.col("customer_id").cast(pl.String),
        pl.col("customer_id").cast(pl.Int16) - 30_000,  # narrow type near its minimum
    ],
    ids=["dense", "sparse", "string", "int16"],
)
def test_summary_matches_a_two_step_group_by(ids: pl.Expr) -> None:
    orders = _orders(20_000, seed=1).with_columns(customer_id=ids)
    want = _reference(orders, 7.0)
    _assert_same(summarize(orders, calibration_end=END, unit="week"), want)
    by_time = orders.sort("timestamp").lazy()  # a time-ordered log, read lazily
    _assert_same(summarize(by_time, calibration_end=END, unit="week"), want)


def test_summary_with_64_bit_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    # Many customers over many years need 64-bit keys; force that path on small data.
    monkeypatch.setattr(_occasions, "_UINT32_KEYS", 0)
    orders = _orders(5_000, seed=2)
    _assert_same(summarize(orders, calibration_end=END, unit="day"), _reference(orders, 1.0))


def test_orders_without_customer_or_date_are_ignored() -> None:
    orders = pl.DataFrame(
        {
            "customer_id": [1, 1, None, 2, 2],
            "timestamp": [END, END - timedelta(days=3), END, None, END],
            "amount": [10.0, None, 99.0, 5.0, 7.0],
        }
    )
    s = summarize(orders, calibration_end=END, unit="day")
    assert s.rows() == [(1, 1, 3.0, 3.0, 10.0), (2, 0, 0.0, 0.0, 0.0)]
