"""Thin, extreme and odd data: one order, thousands of orders, zero and negative spend,
one customer, an empty shop."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from trofast.analytics import (
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    summarize,
)
from trofast.analytics.errors import FitError, InsufficientData, InvalidInput
from trofast.analytics.report import analyze_orders

D0 = date(2024, 1, 1)


def _log(rows: list[tuple[int, date, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"customer_id": pl.Int64, "timestamp": pl.Date, "amount": pl.Float64},
        orient="row",
    )


def test_summary_golden_with_same_day_orders_merged() -> None:
    orders = _log(
        [
            (1, D0, 10.0),
            (1, D0, 5.0),  # same day: one purchase occasion of 15
            (1, D0 + timedelta(days=14), 20.0),
            (1, D0 + timedelta(days=28), 40.0),
            (1, D0 + timedelta(days=70), 99.0),  # holdout
            (2, D0 + timedelta(days=7), 0.0),  # a zero-value order
        ]
    )
    s = summarize(orders, calibration_end=D0 + timedelta(days=35), unit="week",
                  observation_end=D0 + timedelta(days=91))  # fmt: skip
    assert s.rows() == [
        (1, 2, 4.0, 5.0, 30.0, 1, 99.0, 8.0),
        (2, 0, 0.0, 4.0, 0.0, 0, 0.0, 8.0),
    ]


def test_summary_of_an_empty_shop_is_empty() -> None:
    s = summarize(_log([]), calibration_end=D0)
    assert s.height == 0
    assert s.columns == ["customer_id", "frequency", "recency", "T", "monetary_value"]


def test_summary_refuses_unknown_unit_and_missing_columns() -> None:
    with pytest.raises(InvalidInput, match="unit"):
        summarize(_log([]), calibration_end=D0, unit="fortnight")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="no column"):
        summarize(_log([]).rename({"amount": "total"}), calibration_end=D0)


def test_models_refuse_data_without_repeat_buyers() -> None:
    x = np.zeros(100)
    with pytest.raises(InsufficientData, match="at least 20 customers with a repeat purchase"):
        BetaGeoModel().fit(x, x, np.full(100, 10.0))
    with pytest.raises(InsufficientData):
        ParetoNBDModel().fit(x, x, np.full(100, 10.0))
    with pytest.raises(InsufficientData):
        GammaGammaModel().fit(x, x)


def test_one_customer_and_empty_shop_are_insufficient_not_crashes() -> None:
    with pytest.raises(InsufficientData) as err:
        BetaGeoModel().fit([3], [5.0], [10.0])
    assert err.value.code == "insufficient_data"
    assert err.value.detail == {"customers": 1, "repeat_customers": 1, "minimum": 20}
    with pytest.raises(InsufficientData):
        BetaGeoModel().fit([], [], [])


def test_small_shops_of_fifty_repeat_buyers_fit_or_say_why(
    cdnow: pl.DataFrame, bgnbd: BetaGeoModel
) -> None:
    repeat = cdnow.filter(pl.col("frequency") > 0)
    once = cdnow.filter(pl.col("frequency") == 0)
    full_r = bgnbd.param_intervals()["r"]
    fitted = 0
    refusals: list[str] = []
    for seed in range(5):
        small = pl.concat([repeat.sample(50, seed=seed), once.sample(75, seed=seed)])
        try:
            model = BetaGeoModel().fit(small["frequency"], small["recency"], small["T"])
        except FitError as exc:
            # the typed, plain refusal when a sample cannot identify the dropout process
            refusals.append(exc.message)
            continue
        fitted += 1
        r = model.param_intervals()["r"]
        # honest uncertainty: wider than on 2,357 customers (unbounded when the information
        # matrix is singular), and covering the full-sample answer
        width = math.inf if r.lower == 0 else r.upper / r.lower
        assert width > full_r.upper / full_r.lower
        assert r.lower < bgnbd.params_["r"] < r.upper
    assert fitted >= 3
    assert all("cannot identify" in message for message in refusals)


def test_customers_with_thousands_of_orders_do_not_overflow(
    cdnow: pl.DataFrame, bgnbd: BetaGeoModel, paretonbd: ParetoNBDModel
) -> None:
    x = np.append(cdnow["frequency"].to_numpy(), [3000, 5000]).astype(float)
    t_x = np.append(cdnow["recency"].to_numpy(), [38.85, 38.855])
    big_t = np.append(cdnow["T"].to_numpy(), [38.86, 38.86])
    refit = BetaGeoModel().fit(x, t_x, big_t)
    assert np.isfinite(refit.log_likelihood_)
    for model in (bgnbd, paretonbd):
        ll = model.log_likelihood(x[-2:], t_x[-2:], big_t[-2:])
        alive = model.p_alive(x[-2:], t_x[-2:], big_t[-2:])
        expected = model.conditional_expected_purchases(10, x[-2:], t_x[-2:], big_t[-2:])
        assert np.all(np.isfinite(ll))
        assert np.all(np.isfinite(expected))
        assert np.all((alive > 0.0) & (alive <= 1.0))
        # ~100 purchases a week while alive: about a thousand in the next ten weeks
        assert np.all(expected > 500)


def test_refunds_and_zero_spend_are_left_out_of_gamma_gamma() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(1, 6, size=300).astype(float)
    m = rng.gamma(6.0, 5.0, size=300)
    base = GammaGammaModel().fit(x, m)
    odd = GammaGammaModel().fit(np.append(x, [2.0, 3.0]), np.append(m, [0.0, -40.0]))
    assert odd.n_customers_ == base.n_customers_ == 300
    assert odd.params_ == base.params_
    # a customer whose refunds outweigh purchases is predicted as if their mean were 0
    spend = odd.conditional_expected_spend([3.0, 3.0, 0.0], [-40.0, 0.0, 0.0])
    p, q, gamma = odd.params_["p"], odd.params_["q"], odd.params_["gamma"]
    assert spend[0] == spend[1] == pytest.approx(p * gamma / (3 * p + q - 1))
    assert spend[2] == pytest.approx(odd.population_mean_spend())


def test_inconsistent_summaries_are_refused() -> None:
    with pytest.raises(InvalidInput, match="recency"):
        BetaGeoModel().fit([1.0], [12.0], [10.0])
    with pytest.raises(InvalidInput, match="whole number"):
        BetaGeoModel().fit([1.5], [1.0], [10.0])
    with pytest.raises(InvalidInput, match="missing or infinite"):
        BetaGeoModel().fit([1.0], [np.nan], [10.0])


def test_the_whole_report_on_an_empty_shop_and_on_one_refunded_order() -> None:
    spend = pl.DataFrame({"month": [D0], "spend": [10.0]})
    sessions = pl.DataFrame({"day": [D0], "sessions": [5]})
    empty = analyze_orders(_log([]), calibration_end=D0, marketing_spend=spend, sessions=sessions)
    data = empty.to_dict()
    assert (data["kpis"]["customers"], data["kpis"]["repeat_purchase_rate"]) == (0, 0.0)
    assert (data["models"], data["clv"], data["clv_to_cac"]) == ({}, None, None)
    assert data["conversion"] == {"sessions": 5, "orders": 0, "rate": 0.0}
    assert data["problems"][-1] == "CLV:CAC: left out, there is no predicted CLV"

    one = analyze_orders(_log([(1, D0, -5.0)]), calibration_end=D0)
    assert one.to_dict()["kpis"]["revenue"] == -5.0
    assert one.to_dict()["segments"][0]["customers"] == 1
    assert "this data has 0 (of 1 customers)" in one.problems[0]
