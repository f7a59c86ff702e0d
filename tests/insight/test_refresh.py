"""`analytics refresh` on small hand-made databases, with exact expected values."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import polars as pl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.insight.factories import add_customer, add_orders, load_simulated, order_row
from trofast.analytics import BetaGeoModel, GammaGammaModel, predict_customers, summarize
from trofast.analytics.clv import ClvSettings
from trofast.analytics.simulate import SpendParams, simulate_bgnbd
from trofast.insight import loader
from trofast.insight.refresh import RefreshOptions, refresh
from trofast.models import AnalyticsFit, CustomerMetric

AT = date(2026, 3, 31)
NOW = datetime(2026, 4, 1, 6, tzinfo=UTC)


@pytest.fixture
def five_customers(db_session: Session) -> list[int]:
    """Five customers whose RFM scores are each other's ranks (n = 5: score = min rank)."""
    c = [add_customer(db_session) for _ in range(6)]
    add_orders(
        db_session,
        [
            order_row(c[0], date(2026, 3, 30), 10_000),
            order_row(c[0], date(2026, 3, 1), 20_000),
            order_row(c[0], date(2026, 1, 15), 5_000),
            order_row(c[0], date(2026, 3, 31), 99_900, shell=True),  # not an order yet
            order_row(c[1], date(2026, 3, 20), 10_000, refunded_minor=3_000),
            order_row(c[2], date(2026, 2, 1), 50_000),
            order_row(c[2], date(2026, 2, 1), 10_000),  # same day: one purchase occasion
            order_row(c[3], date(2025, 12, 1), 2_000),
            order_row(c[4], date(2025, 6, 1), 8_000),
            order_row(c[4], date(2026, 3, 30), 50_000, status="cancelled"),
            order_row(c[5], date(2026, 4, 1), 7_000),  # after the calibration end
            order_row(None, date(2026, 3, 1), 9_000),  # a guest order
        ],
    )
    return c


def _metrics(session: Session) -> dict[int, CustomerMetric]:
    return {m.customer_id: m for m in session.scalars(select(CustomerMetric))}


def test_rfm_is_written_exactly_and_thin_data_is_said_plainly(
    db_session: Session, five_customers: list[int]
) -> None:
    c = five_customers
    result = refresh(db_session, RefreshOptions(at=AT), now=NOW)

    assert (result.status, result.customers, result.repeat_customers, result.orders) == (
        "insufficient_data", 5, 1, 8,
    )  # fmt: skip
    assert result.message is not None
    assert result.message.startswith("Too little data to predict: BG/NBD needs at least 50")
    rows = _metrics(db_session)
    got = {
        cid: (m.recency_days, m.orders, m.monetary_minor, m.r_score, m.f_score, m.m_score,
              m.segment, m.p_alive, m.clv_minor, m.fit_id)
        for cid, m in rows.items()
    }  # fmt: skip
    fit = result.fit_id
    assert got == {
        c[0]: (1, 3, 35_000, 5, 5, 4, "Champions", None, None, fit),
        c[1]: (11, 1, 7_000, 4, 1, 2, "Potential Loyalists", None, None, fit),
        c[2]: (58, 2, 60_000, 3, 4, 5, "Loyal Customers", None, None, fit),
        c[3]: (120, 1, 2_000, 2, 1, 1, "Hibernating", None, None, fit),
        c[4]: (303, 1, 8_000, 1, 1, 3, "Lost", None, None, fit),
    }
    stored = db_session.get(AnalyticsFit, fit)
    assert stored is not None
    assert (stored.status, stored.calibration_end, stored.transaction_model, stored.clv) == (
        "insufficient_data", AT, None, None,
    )  # fmt: skip
    assert (stored.customers, stored.repeat_customers, stored.min_repeat_customers) == (5, 1, 50)


def test_a_second_refresh_replaces_every_row(
    db_session: Session, five_customers: list[int]
) -> None:
    first = refresh(db_session, RefreshOptions(at=date(2026, 1, 31)), now=NOW)
    assert len(_metrics(db_session)) == 3  # c4 and c5 and c0 had ordered by then
    second = refresh(db_session, RefreshOptions(at=AT), now=NOW)

    rows = _metrics(db_session)
    assert len(rows) == 5
    assert {m.fit_id for m in rows.values()} == {second.fit_id}
    assert second.fit_id != first.fit_id
    assert db_session.scalar(select(func.count()).select_from(AnalyticsFit)) == 2


def test_empty_shop_stores_a_no_orders_fit_and_no_rows(db_session: Session) -> None:
    add_customer(db_session)
    result = refresh(db_session, RefreshOptions(at=AT), now=NOW)
    assert (result.status, result.customers, result.orders) == ("no_orders", 0, 0)
    assert _metrics(db_session) == {}


def test_loader_reads_net_amounts_of_counted_orders_on_or_before_the_day(
    db_session: Session, five_customers: list[int]
) -> None:
    c = five_customers
    late = datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC)
    add_orders(db_session, [order_row(c[3], AT, 1_234, placed_at=late)])
    orders = loader.load_orders(db_session, until=AT).sort("customer_id", "timestamp", "amount")
    assert orders.schema == loader.ORDER_SCHEMA
    assert orders.rows() == [
        (c[0], date(2026, 1, 15), 5_000),
        (c[0], date(2026, 3, 1), 20_000),
        (c[0], date(2026, 3, 30), 10_000),
        (c[1], date(2026, 3, 20), 7_000),
        (c[2], date(2026, 2, 1), 10_000),
        (c[2], date(2026, 2, 1), 50_000),
        (c[3], date(2025, 12, 1), 2_000),
        (c[3], AT, 1_234),
        (c[4], date(2025, 6, 1), 8_000),
    ]
    assert loader.load_orders(db_session).height == 10  # without a cut-off: c5's order too


SIM_END = date(2025, 12, 31)


@pytest.fixture
def simulated(db_session: Session) -> pl.DataFrame:
    log = simulate_bgnbd(
        400, r=0.8, alpha=20.0, a=0.8, b=4.0, spend=SpendParams(p=6.0, q=4.0, gamma=150.0),
        start=date(2025, 1, 1), end=SIM_END, acquisition_days=180, seed=3,
    )  # fmt: skip
    return load_simulated(db_session, log)


def test_fitted_refresh_stores_the_library_results(
    db_session: Session, simulated: pl.DataFrame
) -> None:
    result = refresh(db_session, RefreshOptions(at=SIM_END, unit="week"), now=NOW)

    summary = summarize(simulated, calibration_end=SIM_END, unit="week")
    x, t_x, big_t = summary["frequency"], summary["recency"], summary["T"]
    bg = BetaGeoModel(min_repeat_customers=50, unit="week").fit(x, t_x, big_t)
    gg = GammaGammaModel(min_repeat_customers=50, unit="week").fit(x, summary["monetary_value"])
    assert (result.status, result.customers, result.orders) == ("ok", 400, simulated.height)
    assert result.repeat_customers == int((x > 0).sum())
    fit = db_session.get(AnalyticsFit, result.fit_id)
    assert fit is not None
    assert fit.transaction_model is not None
    assert fit.spend_model is not None
    assert fit.transaction_model["params"] == pytest.approx(bg.params_, rel=1e-9)
    assert fit.transaction_model["log_likelihood"] == pytest.approx(bg.log_likelihood_)
    assert fit.spend_model["params"] == pytest.approx(gg.params_, rel=1e-9)
    assert set(fit.transaction_model["intervals_95"]) == {"r", "alpha", "a", "b"}

    expected = predict_customers(
        summary, bg, gg, calibration_end=SIM_END, unit="week",
        settings=ClvSettings(periods_per_month=365.25 / 12 / 7),
    )  # fmt: skip
    rows = _metrics(db_session)
    assert len(rows) == 400
    for row in expected.head(25).iter_rows(named=True):
        got = rows[row["customer_id"]]
        assert got.p_alive == pytest.approx(row["p_alive"], rel=1e-12)
        assert got.expected_orders_90d == pytest.approx(row["expected_orders_90d"], rel=1e-12)
        assert got.churn_risk == row["churn_risk"]
        assert got.next_order_date == row["next_order_date"]
        assert got.clv_minor == round(row["clv"])
        assert got.clv_lower_minor is not None
        assert got.clv_upper_minor is not None
        assert got.clv_minor is not None
        assert got.clv_lower_minor <= got.clv_minor <= got.clv_upper_minor
    assert result.clv is not None
    assert result.clv["total_minor"] == int(np.round(expected["clv"].to_numpy()).sum())
    low, high = result.clv["total_interval_minor"]
    assert low < result.clv["total_minor"] < high
    assert result.clv["per_customer_intervals"] is True
