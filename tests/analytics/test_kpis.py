"""Every programme KPI on small hand-made data with exact expected values, and on no data."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from tests.analytics.test_cohorts import orders
from trofast.analytics import kpis
from trofast.analytics.errors import InvalidInput


def customers() -> pl.DataFrame:
    return pl.DataFrame({"customer_id": [1, 2, 3, 4], "is_member": [True, True, False, False]})


def ledger() -> pl.DataFrame:
    rows = [
        (1, date(2024, 1, 5), "earn", 100),
        (1, date(2024, 2, 10), "earn", 200),
        (1, date(2024, 3, 1), "redeem", -150),
        (2, date(2023, 1, 20), "earn", 400),
        (2, date(2024, 1, 20), "expire", -100),
        (2, date(2024, 3, 2), "adjust", 10),
    ]
    return pl.DataFrame(rows, schema=["customer_id", "timestamp", "kind", "points"], orient="row")


def test_membership_share() -> None:
    share = kpis.membership_share(customers(), orders())
    assert share == kpis.MembershipShare(
        customers=4,
        members=2,
        customer_share=0.5,
        revenue=360.0,
        member_revenue=150.0,
        revenue_share=150.0 / 360.0,
    )


def test_participation_counts_members_active_in_the_window() -> None:
    p = kpis.participation(customers(), ledger(), at=date(2024, 3, 31), window_days=365)
    # customer 2 last earned in January 2023, outside the window
    assert p == kpis.Participation(
        members=2, active_earners=1, active_redeemers=1, earner_share=0.5, redeemer_share=0.5
    )


def test_points_kpis() -> None:
    k = kpis.points_kpis(ledger(), value_per_point=0.1)
    assert (k.earned, k.redeemed, k.expired, k.outstanding) == (700, 150, 100, 460)
    assert k.redemption_rate == pytest.approx(150 / 700)
    assert k.breakage_rate == pytest.approx(0.4)
    assert k.liability == pytest.approx(46.0)
    assert k.liability_net_of_breakage == pytest.approx(27.6)


def test_members_vs_non_members() -> None:
    members, others = kpis.members_vs_non_members(customers(), orders())
    assert members == kpis.GroupBehaviour("members", 2, 5, 150.0, 30.0, 2.5, 1.0)
    assert others == kpis.GroupBehaviour("non-members", 2, 3, 210.0, 70.0, 1.5, 0.5)


def test_nps_and_csat() -> None:
    assert kpis.nps([10, 9, 8, 7, 6, 0, 10, 3]) == kpis.SurveyScore(8, 0.0)
    assert kpis.nps([10, 10, 9, 5]) == kpis.SurveyScore(4, 50.0)
    assert kpis.csat([5, 4, 3, 1]) == kpis.SurveyScore(4, 50.0)


def test_survey_answers_out_of_range_are_refused() -> None:
    with pytest.raises(InvalidInput):
        kpis.nps([11])
    with pytest.raises(InvalidInput):
        kpis.csat([0])


def test_clv_to_cac() -> None:
    spend = pl.DataFrame({"month": [date(2024, 1, 1), date(2024, 2, 15)], "spend": [100.0, 300.0]})
    assert kpis.clv_to_cac(orders(), spend, average_clv=250.0) == kpis.ClvCac(
        marketing_spend=400.0, new_customers=4, cac=100.0, average_clv=250.0, ratio=2.5
    )


def test_conversion_rate_from_sessions_per_day() -> None:
    sessions = pl.DataFrame(
        {"day": [date(2024, 2, 2), date(2024, 2, 3), date(2024, 2, 10)], "sessions": [50, 30, 20]}
    )
    assert kpis.conversion_rate(sessions, orders()) == kpis.Conversion(100, 3, 0.03)


def test_every_kpi_is_zero_safe_on_an_empty_shop() -> None:
    no_customers = customers().clear()
    no_orders = orders().clear()
    no_ledger = ledger().clear()
    assert kpis.membership_share(no_customers, no_orders) == kpis.MembershipShare(
        0, 0, 0.0, 0.0, 0.0, 0.0
    )
    assert kpis.participation(no_customers, no_ledger, at=date(2024, 1, 1)) == (
        kpis.Participation(0, 0, 0, 0.0, 0.0)
    )
    assert kpis.points_kpis(no_ledger, value_per_point=0.1) == kpis.PointsKpis(
        0, 0, 0, 0, 0.0, 0.0, 0.0, 0.0
    )
    assert [g.orders for g in kpis.members_vs_non_members(no_customers, no_orders)] == [0, 0]
    assert kpis.nps([]) == kpis.SurveyScore(0, 0.0)
    assert kpis.csat([]) == kpis.SurveyScore(0, 0.0)
    no_spend = pl.DataFrame(schema={"month": pl.Date, "spend": pl.Float64})
    assert kpis.clv_to_cac(no_orders, no_spend, average_clv=0.0).ratio == 0.0
    no_sessions = pl.DataFrame(schema={"day": pl.Date, "sessions": pl.Int64})
    assert kpis.conversion_rate(no_sessions, no_orders) == kpis.Conversion(0, 0, 0.0)


def test_acquired_customer_value_is_margin_so_far_plus_predicted_clv() -> None:
    spend = pl.DataFrame({"month": [date(2024, 1, 1)], "spend": [300.0]})
    clv = pl.DataFrame(
        {"customer_id": [1, 2, 3], "clv": [100.0, None, 500.0]},
        schema={"customer_id": pl.Int64, "clv": pl.Float64},
    )
    # January's new customers are 1 (60 so far) and 2 (90, no prediction); 3 came in February
    value = kpis.acquired_customer_value(orders(), spend, clv, margin=0.5)
    assert value == kpis.AcquiredValue(
        customers=2, realised=75.0, predicted=100.0, average_clv=87.5
    )
    cac = kpis.clv_to_cac(orders(), spend, average_clv=value.average_clv)
    assert cac == kpis.ClvCac(300.0, 2, 150.0, 87.5, 87.5 / 150.0)


def test_acquired_customer_value_without_new_customers_is_zero() -> None:
    spend = pl.DataFrame({"month": [date(2023, 6, 1)], "spend": [300.0]})
    clv = pl.DataFrame(schema={"customer_id": pl.Int64, "clv": pl.Float64})
    assert kpis.acquired_customer_value(orders(), spend, clv, margin=1.0) == (
        kpis.AcquiredValue(0, 0.0, 0.0, 0.0)
    )


def test_conversion_rate_from_daily_order_counts() -> None:
    sessions = pl.DataFrame({"day": [date(2024, 2, 2), date(2024, 2, 3)], "sessions": [50, 30]})
    counts = pl.DataFrame(
        {"timestamp": [date(2024, 2, 2), date(2024, 2, 4)], "orders": [4, 9]}
    )  # the 4th has no sessions: its orders do not count
    assert kpis.conversion_rate(sessions, counts) == kpis.Conversion(80, 4, 0.05)
