"""CLV:CAC, conversion, NPS/CSAT and the data status of `GET /v1/analytics/kpis`; the
marketing spend and sessions CSVs through the API and `trofast analytics inputs`; the edge
cases of issue 5 on the API path."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.insight.factories import add_customer, add_orders, order_row
from trofast.insight import repository
from trofast.insight.service import SURVEYS_NOT_RECORDED
from trofast.models import CustomerMetric
from trofast.models.insight import DailySessions, MarketingSpend

NOW = datetime(2026, 4, 1, 6, tzinfo=UTC)
KPIS = "/v1/analytics/kpis"
SPEND_CSV = "month,spend\n2026-01,600.00\n2026-02,400.00\n"
SESSIONS_CSV = "day,sessions\n2026-01-10,100\n2026-02-05,300\n2026-02-06,0\n"


def _put(client: TestClient, path: str, text: str, headers: dict[str, str]) -> Any:
    return client.put(
        f"/v1/analytics/{path}",
        content=text.encode(),
        headers={**headers, "Content-Type": "text/csv"},
    )


def _fit_with_clv(session: Session, clv_minor: dict[int, int]) -> int:
    """A refresh row with CLV (margin 0.5) and its customers' metrics, written directly."""
    fit = repository.insert_fit(
        session,
        {
            "fitted_at": NOW, "calibration_end": date(2026, 3, 31), "unit": "week",
            "status": "ok", "message": None, "customers": len(clv_minor),
            "repeat_customers": 1, "orders": 4, "min_repeat_customers": 50, "thin": False,
            "transaction_model": None, "spend_model": None,
            "clv": {"months": 12, "margin": 0.5, "monthly_discount_rate": 0.01,
                    "total_minor": sum(clv_minor.values())},
            "problems": [], "seconds": 0.1,
        },
    )  # fmt: skip
    for customer_id, clv in clv_minor.items():
        session.add(
            CustomerMetric(
                customer_id=customer_id, fit_id=fit.id, recency_days=1, orders=1,
                monetary_minor=0, r_score=3, f_score=3, m_score=3, segment="Need Attention",
                clv_minor=clv,
            )
        )  # fmt: skip
    session.flush()
    return fit.id


@pytest.fixture
def shop(db_session: Session) -> dict[str, int]:
    """a joins in January (120,000 so far), b in February (50,000), c in December; a guest
    order on January 10."""
    a, b, c = add_customer(db_session), add_customer(db_session), add_customer(db_session)
    add_orders(
        db_session,
        [
            order_row(a, date(2026, 1, 10), 100_000),
            order_row(a, date(2026, 3, 10), 20_000),
            order_row(b, date(2026, 2, 5), 50_000),
            order_row(c, date(2025, 12, 1), 30_000),
            order_row(None, date(2026, 1, 10), 10_000),
            order_row(b, date(2026, 2, 5), 70_000, status="cancelled"),
        ],
    )
    return {"a": a, "b": b, "c": c}


def test_clv_to_cac_and_conversion_from_the_merchants_csvs(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session,
    shop: dict[str, int],
) -> None:  # fmt: skip
    r = _put(app_client, "marketing-spend", SPEND_CSV, admin_headers)
    assert (r.status_code, r.json()) == (200, {"months": 2, "days": 0})
    r = _put(app_client, "sessions", SESSIONS_CSV, admin_headers)
    assert (r.status_code, r.json()) == (200, {"months": 0, "days": 3})
    fit_id = _fit_with_clv(db_session, {shop["a"]: 30_000, shop["b"]: 10_000, shop["c"]: 99_999})

    body = app_client.get(KPIS, params={"at": "2026-04-30"}, headers=admin_headers).json()

    # CAC: 100,000 minor for a and b; their CLV: 0.5 x 170,000 so far + 40,000 predicted
    assert body["clv_to_cac"] == {
        "months": 2, "marketing_spend_minor": 100_000, "new_customers": 2, "cac_minor": 50_000.0,
        "realised_value_minor": 85_000, "predicted_clv_minor": 40_000,
        "average_clv_minor": 62_500.0, "ratio": 1.25, "refresh_id": fit_id, "clv_months": 12,
    }  # fmt: skip
    # a's and the guest's orders on January 10, b's on February 5; the cancelled one not
    assert body["conversion"] == {"days": 3, "sessions": 400, "orders": 3, "rate": 0.0075}
    assert (body["nps"], body["csat"]) == (None, None)
    assert body["unavailable"] == [
        {"kpi": "nps", "code": "surveys_not_recorded", "detail": SURVEYS_NOT_RECORDED},
        {"kpi": "csat", "code": "surveys_not_recorded", "detail": SURVEYS_NOT_RECORDED},
    ]


def test_a_later_file_replaces_its_months_and_keeps_the_others(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session
) -> None:
    _put(app_client, "marketing-spend", SPEND_CSV, admin_headers)
    _put(app_client, "marketing-spend", "month,spend\n2026-02,450.5\n", admin_headers)
    rows = db_session.execute(
        select(MarketingSpend.month, MarketingSpend.spend_minor).order_by(MarketingSpend.month)
    ).all()
    assert [tuple(r) for r in rows] == [(date(2026, 1, 1), 60_000), (date(2026, 2, 1), 45_050)]


def test_a_bad_csv_is_a_422_naming_the_cell_and_stores_nothing(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session
) -> None:
    r = _put(app_client, "sessions", "day,sessions\n2026-01-01,5\n2026-01-02,many\n",
             admin_headers)  # fmt: skip
    assert r.status_code == 422
    assert r.json() == {
        "error": "sessions: row 3, column 'sessions': 'many' is not a whole number of sessions "
        "(below 10^12)",
        "code": "invalid_csv",
        "detail": {"row": 3, "column": "sessions", "value": "many"},
    }
    r = _put(app_client, "marketing-spend", "month,spend\n2026-01,\xff\n", admin_headers)
    assert (r.status_code, r.json()["code"]) == (422, "invalid_csv")
    bad_utf8 = app_client.put(
        "/v1/analytics/sessions", content=b"day,sessions\n\xff\n",
        headers={**admin_headers, "Content-Type": "text/csv"},
    )  # fmt: skip
    assert (bad_utf8.status_code, bad_utf8.json()["code"]) == (422, "invalid_csv")
    assert db_session.scalars(select(DailySessions)).all() == []


def test_only_admin_keys_may_store_inputs(
    app_client: TestClient, ingest_headers: dict[str, str]
) -> None:
    r = _put(app_client, "sessions", SESSIONS_CSV, ingest_headers)
    assert (r.status_code, r.json()["code"]) == (403, "insufficient_scope")


def test_clv_to_cac_says_why_it_is_missing_without_a_refresh(
    app_client: TestClient, admin_headers: dict[str, str], shop: dict[str, int]
) -> None:
    _put(app_client, "marketing-spend", SPEND_CSV, admin_headers)
    body = app_client.get(KPIS, params={"at": "2026-04-30"}, headers=admin_headers).json()
    assert body["clv_to_cac"] is None
    missing = {u["kpi"]: u for u in body["unavailable"]}
    assert missing["clv_to_cac"]["code"] == "clv_not_predicted"
    assert "no analytics refresh has run" in missing["clv_to_cac"]["detail"]
    assert missing["conversion"]["code"] == "no_sessions"


def test_empty_shop_is_200_with_zero_kpis_and_a_no_orders_status(
    app_client: TestClient, admin_headers: dict[str, str]
) -> None:
    r = app_client.get(KPIS, params={"at": "2026-03-31"}, headers=admin_headers)
    assert r.status_code == 200
    body = r.json()
    assert body["data"] == {
        "status": "no_orders", "customers": 0, "repeat_customers": 0,
        "message": "No orders up to 2026-03-31: every ratio is 0.",
    }  # fmt: skip
    assert body["repeat"]["repeat_purchase_rate"] == 0.0
    assert [g["orders"] for g in body["members_vs_non_members"]] == [0, 0]
    assert (body["nps"], body["csat"], body["clv_to_cac"], body["conversion"]) == (
        None, None, None, None,
    )  # fmt: skip
    assert [(u["kpi"], u["code"]) for u in body["unavailable"]] == [
        ("nps", "surveys_not_recorded"), ("csat", "surveys_not_recorded"),
        ("clv_to_cac", "no_marketing_spend"), ("conversion", "no_sessions"),
    ]  # fmt: skip


def test_one_customer_with_one_zero_value_order(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session
) -> None:
    only = add_customer(db_session, is_member=True)
    add_orders(db_session, [order_row(only, date(2026, 3, 1), 0)])
    body = app_client.get(KPIS, params={"at": "2026-03-31"}, headers=admin_headers).json()
    assert body["data"]["status"] == "thin"
    assert body["data"]["customers"] == 1
    assert body["repeat"]["orders"] == 1
    assert body["repeat"]["average_order_value_minor"] == 0.0
    assert body["membership"]["revenue_share"] == 0.0  # no revenue: zero, not a division error
    assert body["membership"]["customer_share"] == 1.0


def test_refunds_making_spend_negative(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session
) -> None:
    member, other = add_customer(db_session, is_member=True), add_customer(db_session)
    add_orders(
        db_session,
        [
            # refunded more than was paid (a goodwill refund): net -5,000
            order_row(member, date(2026, 3, 1), 10_000, refunded_minor=15_000),
            order_row(other, date(2026, 3, 2), 20_000),
        ],
    )
    body = app_client.get(KPIS, params={"at": "2026-03-31"}, headers=admin_headers).json()
    assert body["membership"]["revenue_minor"] == 15_000
    assert body["membership"]["member_revenue_minor"] == -5_000
    assert body["membership"]["revenue_share"] == pytest.approx(-1 / 3)
    members = body["members_vs_non_members"][0]
    assert (members["orders"], members["revenue_minor"]) == (1, -5_000)


def test_a_customer_with_thousands_of_orders(
    app_client: TestClient, admin_headers: dict[str, str], db_session: Session
) -> None:
    heavy = add_customer(db_session, is_member=True)
    start = date(2020, 1, 1)
    add_orders(db_session, [order_row(heavy, start + timedelta(days=i), 100) for i in range(3000)])
    body = app_client.get(KPIS, params={"at": "2028-12-31"}, headers=admin_headers).json()
    assert body["data"] == {
        "status": "thin", "customers": 1, "repeat_customers": 1,
        "message": "Thin data: 1 of 1 customers bought more than once (fewer than 50); "
        "read the ratios with their counts.",
    }  # fmt: skip
    assert body["repeat"]["orders"] == 3000
    assert body["repeat"]["revenue_minor"] == 300_000
    assert body["repeat"]["purchase_frequency"] == 3000.0
    assert body["members_vs_non_members"][0]["retention"] == 1.0
