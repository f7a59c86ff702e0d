"""Parameter recovery: data simulated from known parameters give them back.

The simulator rounds purchase times to days and merges same-day purchases, as real data do,
so the check is that the truth lies inside the 99 % interval the fit reports.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from trofast.analytics import BetaGeoModel, GammaGammaModel, ParetoNBDModel, summarize
from trofast.analytics._mle import ParamInterval
from trofast.analytics.simulate import SpendParams, simulate_bgnbd, simulate_paretonbd

START, END = date(2020, 1, 1), date(2022, 12, 31)
SPEND = SpendParams(p=6.0, q=4.0, gamma=15.0)


def _assert_recovered(intervals: dict[str, ParamInterval], truth: dict[str, float]) -> None:
    for name, value in truth.items():
        iv = intervals[name]
        assert iv.lower < value < iv.upper, (name, value, iv)


def test_bgnbd_and_gammagamma_recover_known_parameters() -> None:
    orders = simulate_bgnbd(
        8000, r=0.5, alpha=5.0, a=0.8, b=2.5, spend=SPEND,
        start=START, end=END, acquisition_days=180, unit_days=7, seed=0,
    )  # fmt: skip
    s = summarize(orders, calibration_end=END, unit="week")
    model = BetaGeoModel().fit(s["frequency"], s["recency"], s["T"])
    _assert_recovered(model.param_intervals(0.99), {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5})
    spend = GammaGammaModel().fit(s["frequency"], s["monetary_value"])
    _assert_recovered(spend.param_intervals(0.99), {"p": 6.0, "q": 4.0, "gamma": 15.0})


@pytest.mark.slow
def test_paretonbd_recovers_known_parameters() -> None:
    orders = simulate_paretonbd(
        3000, r=0.5, alpha=5.0, s=0.6, beta=12.0, spend=SPEND,
        start=START, end=END, acquisition_days=180, unit_days=7, seed=0,
    )  # fmt: skip
    s = summarize(orders, calibration_end=END, unit="week")
    model = ParetoNBDModel().fit(s["frequency"], s["recency"], s["T"])
    truth = {"r": 0.5, "alpha": 5.0, "s": 0.6, "beta": 12.0}
    _assert_recovered(model.param_intervals(0.99), truth)


def test_simulator_is_deterministic_for_a_seed() -> None:
    def run() -> pl.DataFrame:
        return simulate_bgnbd(
            500, r=0.5, alpha=5.0, a=0.8, b=2.5, spend=SPEND,
            start=START, end=END, acquisition_days=180, unit_days=7, seed=3,
        )  # fmt: skip

    first, again = run(), run()
    assert first.equals(again)
    assert first["customer_id"].n_unique() == 500
