"""The analytics API: exact bodies on hand-made data, zero-safe on an empty shop, admin only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.insight.factories import add_customer, add_orders, order_row
from trofast.insight.refresh import RefreshOptions, refresh
from trofast.ledger import jobs, service
from trofast.program import service as program_service

AT = date(2026, 3, 31)
NOW = datetime(2026, 4, 1, 6, tzinfo=UTC)
ENDPOINTS = (
    "/v1/analytics/rfm",
    "/v1/analytics/cohorts",
    "/v1/analytics/kpis",
    "/v1/analytics/customers/1/predictions",
)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_only_admin_keys_may_read_analytics(
    app_client: TestClient,
    ingest_headers: dict[str, str],
    storefront_headers: dict[str, str],
    path: str,
) -> None:
    assert app_client.get(path).json()["code"] == "missing_api_key"
    for headers in (ingest_headers, storefront_headers):
        r = app_client.get(path, headers=headers)
        assert (r.status_code, r.json()["code"]) == (403, "insufficient_scope")


def test_empty_shop_is_all_zeros(app_client: TestClient, admin_headers: dict[str, str]) -> None:
    rfm = app_client.get("/v1/analytics/rfm", params={"at": "2026-03-31"}, headers=admin_headers)
    assert rfm.status_code == 200
    body = rfm.json()
    assert (body["customers"], body["segments"], body["movement"]) == (0, [], None)
    assert len(body["grid"]) == 25
    assert {cell["customers"] for cell in body["grid"]} == {0}
    assert body["grid"][0] == {"r_score": 5, "fm_score": 1, "segment": "New Customers",
                               "customers": 0}  # fmt: skip

    cohorts = app_client.get("/v1/analytics/cohorts", headers=admin_headers).json()
    assert cohorts["cohorts"] == []
    assert cohorts["repeat"]["customers"] == 0
    assert cohorts["repeat"]["churn_rate"] == 0.0

    kpis = app_client.get("/v1/analytics/kpis", headers=admin_headers).json()
    assert kpis["membership"] == {
        "customers": 0, "members": 0, "customer_share": 0.0, "revenue_minor": 0,
        "member_revenue_minor": 0, "revenue_share": 0.0,
    }  # fmt: skip
    assert kpis["points"] == {
        "earned": 0, "redeemed": 0, "expired": 0, "outstanding": 0, "redemption_rate": 0.0,
        "breakage_rate": 0.0, "liability_minor": 0, "liability_net_of_breakage_minor": 0,
    }  # fmt: skip
    assert kpis["participation"]["active_earners"] == 0


@pytest.fixture
def shop(db_session: Session) -> dict[str, int]:
    """Two members (A earns 1000 and spends 300; B's 500 points expire) and one non-member."""
    a = add_customer(db_session, is_member=True)
    b = add_customer(db_session, is_member=True)
    c = add_customer(db_session)
    add_orders(
        db_session,
        [
            order_row(a, date(2026, 1, 10), 100_000),
            order_row(a, date(2026, 3, 10), 20_000),
            order_row(c, date(2026, 2, 5), 50_000),
        ],
    )
    t = datetime(2026, 1, 10, 12, tzinfo=UTC)
    service.earn(db_session, a, "earn-a", 1000, now=t)
    service.spend(db_session, a, "spend-a", 300, now=t + timedelta(days=30))
    service.earn(db_session, b, "earn-b", 500, expires_at=t + timedelta(days=40), now=t)
    jobs.expire_due(db_session, now=t + timedelta(days=41))
    db_session.flush()
    return {"a": a, "b": b, "c": c}


def test_kpis_from_orders_and_ledger(
    app_client: TestClient, admin_headers: dict[str, str], shop: dict[str, int]
) -> None:
    r = app_client.get("/v1/analytics/kpis", params={"at": "2026-04-30"}, headers=admin_headers)
    assert r.status_code == 200
    body = r.json()
    assert body["membership"] == {
        "customers": 3, "members": 2, "customer_share": pytest.approx(2 / 3),
        "revenue_minor": 170_000, "member_revenue_minor": 120_000,
        "revenue_share": pytest.approx(120 / 170),
    }  # fmt: skip
    assert body["participation"] == {
        "members": 2, "active_earners": 2, "active_redeemers": 1, "earner_share": 1.0,
        "redeemer_share": 0.5,
    }  # fmt: skip
    # liability at 1 minor unit per point; breakage 500 / (300 + 500) leaves 37.5 % of 700
    assert body["points"] == {
        "earned": 1500, "redeemed": 300, "expired": 500, "outstanding": 700,
        "redemption_rate": 0.2, "breakage_rate": 0.625, "liability_minor": 700,
        "liability_net_of_breakage_minor": 262,
    }  # fmt: skip
    members, others = body["members_vs_non_members"]
    assert (members["group"], members["orders"], members["revenue_minor"]) == (
        "members", 2, 120_000,
    )  # fmt: skip
    assert (members["average_order_value_minor"], members["retention"]) == (60_000.0, 1.0)
    assert (others["customers"], others["orders"], others["retention"]) == (1, 1, 0.0)


def test_rfm_with_movement_and_cohorts(
    app_client: TestClient, admin_headers: dict[str, str], shop: dict[str, int]
) -> None:
    r = app_client.get(
        "/v1/analytics/rfm", params={"at": "2026-03-31", "since": "2026-01-31"},
        headers=admin_headers,
    )  # fmt: skip
    assert r.status_code == 200
    body = r.json()
    # With n = 2 the scores are 1 + floor(5 (rank - 1) / 2): rank 1 -> 1, rank 2 -> 3.
    # a: 21 days, 2 orders, 120000 -> R 3, F 3, M 3 -> (3, 3) Need Attention
    # c: 54 days, 1 order, 50000 -> R 1, F 1, M 1 -> Lost; on Jan 31 a alone was (1, 1) Lost
    assert body["segments"] == [
        {"segment": "Lost", "customers": 1, "revenue_minor": 50_000},
        {"segment": "Need Attention", "customers": 1, "revenue_minor": 120_000},
    ]
    assert body["movement"] == [
        {"from_segment": "(not yet a customer)", "to_segment": "Lost", "customers": 1},
        {"from_segment": "Lost", "to_segment": "Need Attention", "customers": 1},
    ]
    cell = next(g for g in body["grid"] if (g["r_score"], g["fm_score"]) == (3, 3))
    assert cell == {"r_score": 3, "fm_score": 3, "segment": "Need Attention", "customers": 1}
    bad = app_client.get(
        "/v1/analytics/rfm", params={"at": "2026-01-01", "since": "2026-01-01"},
        headers=admin_headers,
    )  # fmt: skip
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_input")

    cohorts = app_client.get(
        "/v1/analytics/cohorts", params={"at": "2026-03-31"}, headers=admin_headers
    ).json()
    assert cohorts["cohorts"] == [
        {"cohort": "2026-01-01", "period": 0, "cohort_size": 1, "active_customers": 1,
         "retention": 1.0, "orders": 1, "revenue_minor": 100_000},
        {"cohort": "2026-01-01", "period": 2, "cohort_size": 1, "active_customers": 1,
         "retention": 1.0, "orders": 1, "revenue_minor": 20_000},
        {"cohort": "2026-02-01", "period": 0, "cohort_size": 1, "active_customers": 1,
         "retention": 1.0, "orders": 1, "revenue_minor": 50_000},
    ]  # fmt: skip
    assert cohorts["repeat"]["repeat_purchase_rate"] == 0.5
    assert cohorts["repeat"]["mean_days_between_orders"] == 59.0


def test_predictions_need_a_refresh_and_a_known_customer(
    app_client: TestClient,
    admin_headers: dict[str, str],
    db_session: Session,
    shop: dict[str, int],
) -> None:
    path = f"/v1/analytics/customers/{shop['a']}/predictions"
    r = app_client.get(path, headers=admin_headers)
    assert (r.status_code, r.json()["code"]) == (404, "analytics_not_refreshed")

    fit_id = refresh(db_session, RefreshOptions(at=AT), now=NOW).fit_id
    r = app_client.get(path, headers=admin_headers)
    assert r.status_code == 200
    body = r.json()
    assert body["refresh"]["id"] == fit_id
    assert body["refresh"]["status"] == "insufficient_data"
    assert (body["segment"], body["orders"], body["monetary_minor"], body["p_alive"]) == (
        "Need Attention", 2, 120_000, None,
    )  # fmt: skip

    r = app_client.get(
        f"/v1/analytics/customers/{shop['b']}/predictions", headers=admin_headers
    )  # b never ordered
    assert (r.status_code, r.json()["code"]) == (404, "customer_metrics_not_found")


def test_the_liability_uses_the_point_value_of_the_programme_in_force(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session
) -> None:
    member = add_customer(db_session, is_member=True)
    service.earn(db_session, member, "k1", 1000, now=NOW)
    program_service.apply(db_session, "name: Club\ncurrency: NOK\npoint_value_minor: 10\n")

    kpis = app_client.get(
        "/v1/analytics/kpis", params={"at": "2026-04-30"}, headers=admin_headers
    ).json()

    assert kpis["point_value_minor"] == 10
    assert kpis["points"]["outstanding"] == 1000
    assert kpis["points"]["liability_minor"] == 10_000
