"""CLV, per-customer predictions, intervals and JSON persistence."""

from __future__ import annotations

import json
import math
from datetime import date

import numpy as np
import polars as pl
import pytest

from trofast.analytics import (
    BetaGeoModel,
    ClvSettings,
    GammaGammaModel,
    ParetoNBDModel,
    clv_interval,
    customer_lifetime_value,
    predict_customers,
)
from trofast.analytics.errors import FitError, InvalidInput

from .conftest import CALIBRATION_END


def test_clv_is_the_discounted_sum_of_monthly_expected_purchases(
    cdnow: pl.DataFrame, bgnbd: BetaGeoModel, gammagamma: GammaGammaModel
) -> None:
    settings = ClvSettings(months=12, margin=0.3, monthly_discount_rate=0.01,
                           periods_per_month=52 / 12)  # fmt: skip
    row = cdnow.filter(pl.col("frequency") == 5).head(1)
    args = (row["frequency"], row["recency"], row["T"])
    clv = customer_lifetime_value(bgnbd, gammagamma, *args, row["monetary_value"], settings)
    months = [bgnbd.conditional_expected_purchases(k * 52 / 12, *args)[0] for k in range(13)]
    spend = gammagamma.conditional_expected_spend(row["frequency"], row["monetary_value"])[0]
    by_hand = sum(0.3 * spend * (months[k] - months[k - 1]) / 1.01**k for k in range(1, 13))
    assert clv[0] == pytest.approx(by_hand, rel=1e-10)


def test_clv_of_every_customer_matches_the_month_by_month_sum(
    cdnow: pl.DataFrame, bgnbd: BetaGeoModel, gammagamma: GammaGammaModel
) -> None:
    # The curve is evaluated per distinct (x, T) and gathered: every customer must still get
    # their own months, with the differences taken month by month.
    settings = ClvSettings(months=6, margin=1.0, monthly_discount_rate=0.02,
                           periods_per_month=52 / 12)  # fmt: skip
    args = (cdnow["frequency"], cdnow["recency"], cdnow["T"])
    clv = customer_lifetime_value(bgnbd, gammagamma, *args, cdnow["monetary_value"], settings)
    months = [bgnbd.conditional_expected_purchases(k * 52 / 12, *args) for k in range(7)]
    spend = gammagamma.conditional_expected_spend(cdnow["frequency"], cdnow["monetary_value"])
    by_hand = sum(spend * (months[k] - months[k - 1]) / 1.02**k for k in range(1, 7))
    np.testing.assert_allclose(clv, by_hand, rtol=1e-12)


def test_predict_customers_columns_and_bands(
    cdnow: pl.DataFrame, bgnbd: BetaGeoModel, gammagamma: GammaGammaModel
) -> None:
    pred = predict_customers(cdnow, bgnbd, gammagamma, calibration_end=CALIBRATION_END, unit="week")
    assert pred.columns == [
        "customer_id", "p_alive", "expected_orders_30d", "expected_orders_90d",
        "expected_orders_365d", "next_order_date", "expected_spend", "clv", "churn_risk",
    ]  # fmt: skip
    assert pred.height == cdnow.height
    # longer horizons never expect fewer orders
    assert (pred["expected_orders_30d"] <= pred["expected_orders_90d"]).all()
    assert (pred["expected_orders_90d"] <= pred["expected_orders_365d"]).all()
    bands = pred.select(
        ((pl.col("p_alive") < 0.3) == (pl.col("churn_risk") == "high")).all()
    ).item()
    assert bands
    assert (pred["next_order_date"].drop_nulls() > CALIBRATION_END).all()


def test_clv_interval_brackets_the_point_estimate(
    cdnow: pl.DataFrame, bgnbd: BetaGeoModel, gammagamma: GammaGammaModel
) -> None:
    rows = cdnow.head(40)
    settings = ClvSettings(periods_per_month=52 / 12)
    args = (rows["frequency"], rows["recency"], rows["T"], rows["monetary_value"])
    point = customer_lifetime_value(bgnbd, gammagamma, *args, settings)
    ci = clv_interval(bgnbd, gammagamma, *args, settings, n_draws=100, level=0.95)
    assert np.all(ci.lower <= point)
    assert np.all(point <= ci.upper)
    assert ci.total_lower < point.sum() < ci.total_upper


@pytest.mark.parametrize("fixture", ["bgnbd", "paretonbd", "gammagamma"])
def test_json_round_trip_keeps_parameters_and_intervals(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    model = request.getfixturevalue(fixture)
    text = model.to_json()
    data = json.loads(text)
    assert data["model"] == model.model_name
    assert data["params"] == model.params_
    restored = type(model).from_json(text)
    assert restored.params_ == model.params_
    assert restored.log_likelihood_ == model.log_likelihood_
    assert restored.param_intervals() == model.param_intervals()


def test_json_of_another_model_is_refused(bgnbd: BetaGeoModel) -> None:
    with pytest.raises(InvalidInput, match="expected a paretonbd model"):
        ParetoNBDModel.from_json(bgnbd.to_json())


def test_predicting_before_fitting_fails_loudly() -> None:
    with pytest.raises(FitError, match="call fit"):
        BetaGeoModel().p_alive([1], [1.0], [2.0])


def test_models_agree_on_who_is_likely_alive(
    cdnow: pl.DataFrame, bgnbd: BetaGeoModel, paretonbd: ParetoNBDModel
) -> None:
    # BG/NBD puts every customer without a repeat purchase at P(alive) = 1 by assumption,
    # so the two models are compared on the repeat buyers
    repeat = cdnow.filter(pl.col("frequency") > 0)
    args = (repeat["frequency"], repeat["recency"], repeat["T"])
    corr = np.corrcoef(bgnbd.p_alive(*args), paretonbd.p_alive(*args))[0, 1]
    assert corr > 0.8


def test_calibration_end_is_a_date() -> None:
    assert isinstance(CALIBRATION_END, date)


def test_intervals_on_a_ridge_are_unbounded_not_an_overflow(bgnbd: BetaGeoModel) -> None:
    # a, b -> infinity on a small sample: log-scale variances so large that exp overflows
    ridge = bgnbd.with_params(np.array([0.3, 7.0, 4.25e5, 1.39e6]))
    ridge.covariance_ = np.diag([0.01, 0.01, 4e5, 4e5])
    intervals = ridge.param_intervals()
    assert (intervals["a"].lower, intervals["a"].upper) == (0.0, math.inf)
    assert 0 < intervals["r"].lower < 0.3 < intervals["r"].upper < math.inf
