"""Backtest golden tests: tiny hand-made histories whose every figure is worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from trofast.program import backtest
from trofast.program.backtest_history import BacktestError, from_rows
from trofast.program.document import load

GOLDEN = """
name: Golden
currency: NOK
point_value_minor: "0.5"
pending: {return_window_days: 30}
expiry: {policy: lot, months: 12}
earning:
  - {id: base, kind: spend, rates: {NOK: "1"}}
  - {id: shoes, kind: multiplier, factor: "2", categories: [shoes]}
  - id: weekend
    kind: campaign
    factor: "3"
    starts_at: "2024-03-02T00:00:00+00:00"
    ends_at: "2024-03-04T00:00:00+00:00"
  - {id: welcome, kind: first_order, points: 100}
  - {id: green, kind: sustainable_product, points: 20}
  - {id: review, kind: action, action: review, points: 10}
tiers:
  metric: points
  period: calendar_year
  levels:
    - {id: base, name: Base, threshold: 0}
    - {id: silver, name: Silver, threshold: 1000, retain: 500, multiplier: "1.5"}
"""


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def golden_history() -> Any:
    """Values in øre. A: 900 + 640 (→ silver) + 150 in 2024, 450 in 2025 (→ base at the 2026
    review); B: 225 in 2024 and 10 in 2026; one order without a customer earns nothing."""
    orders = [
        {"order": 0, "member": "A", "placed_at": at("2024-01-10T12:00"), "currency": "NOK"},
        {"order": 1, "member": "A", "placed_at": at("2024-03-02T09:00"), "currency": "NOK"},
        {"order": 2, "member": None, "placed_at": at("2024-04-01T10:00"), "currency": "NOK"},
        {"order": 3, "member": "B", "placed_at": at("2024-05-20T10:00"), "currency": "NOK"},
        {"order": 4, "member": "A", "placed_at": at("2024-06-15T10:00"), "currency": "NOK"},
        {"order": 5, "member": "A", "placed_at": at("2025-02-01T00:00"), "currency": "NOK"},
        {"order": 6, "member": "B", "placed_at": at("2026-01-15T10:00"), "currency": "NOK"},
    ]
    lines = [
        {"order": 0, "value": 40000, "category": "shoes"},  # 400 + shoes 400 + welcome 100
        {"order": 1, "value": 20000, "quantity": 2, "sustainable": True},  # 200 + 400 + 40
        {"order": 2, "value": 9999},
        {"order": 3, "value": 5050, "category": "shoes"},  # 75 + shoes 50 + welcome 100
        {"order": 3, "value": 2525},
        {"order": 4, "value": 10001},  # at silver: 100 + tier floor(50.005) = 150
        {"order": 5, "value": 30000},  # at silver: 300 + 150
        {"order": 6, "value": 1000},  # at base: 10
    ]
    return from_rows(orders, lines)


def one_line_orders(orders: list[tuple[str, str, int]], currencies: str = "") -> Any:
    """(member, placed at, value in minor units) per order, each order one line; in NOK, or
    in the currencies given, one per order (space-separated)."""
    codes = currencies.split() or ["NOK"] * len(orders)
    return from_rows(
        [
            {"order": n, "member": m, "placed_at": at(t), "currency": c}
            for n, ((m, t, _), c) in enumerate(zip(orders, codes, strict=True))
        ],
        [{"order": n, "value": v} for n, (_, _, v) in enumerate(orders)],
    )


def test_golden_points_per_rule_expiry_and_liability() -> None:
    report = backtest.run(load(GOLDEN), golden_history())

    assert report.end == at("2026-02-01T00:00")
    assert (report.orders, report.member_orders, report.members) == (7, 6, 2)
    assert report.revenue_minor == {"NOK": 40000 + 20000 + 9999 + 7575 + 10001 + 30000 + 1000}
    assert [(r.rule, r.kind, r.points) for r in report.rules] == [
        ("base", "spend", 400 + 200 + 75 + 100 + 300 + 10),
        ("shoes", "multiplier", 400 + 50),
        ("weekend", "campaign", 400),
        ("welcome", "first_order", 200),
        ("green", "sustainable_product", 40),
        ("tier:silver", "tier_multiplier", 50 + 150),
    ]
    assert report.issued == 2375
    assert [r.share for r in report.rules][:2] == [Fraction(1085, 2375), Fraction(450, 2375)]
    assert report.not_replayed == ["review"]
    # Lots expire 12 months later at month end: all of 2024's (900 + 640 + 225 + 150).
    assert report.expired == 1915
    assert report.expiry_scheduled == [("2026-03", 450), ("2027-02", 10)]
    assert (report.pending, report.available, report.redeemed) == (10, 450, 0)
    assert report.liability_minor == Decimal("230.0")
    assert report.liability == Decimal("2.300")


def test_golden_tiers_upgrade_at_once_and_downgrade_at_review() -> None:
    report = backtest.run(load(GOLDEN), golden_history())
    months = {row["month"]: row for row in report.months}

    assert len(report.months) == 25  # 2024-01 .. 2026-01
    assert months["2024-01"]["members"] == {"base": 1, "silver": 0}
    assert (months["2024-03"]["members"], months["2024-03"]["upgrades"]) == (
        {"base": 0, "silver": 1},
        1,
    )
    assert months["2024-05"]["members"] == {"base": 1, "silver": 1}
    # 2024 earned A 1690 ≥ retain 500: kept on 1 January 2025.
    assert (months["2025-01"]["members"], months["2025-01"]["downgrades"]) == (
        {"base": 1, "silver": 1},
        0,
    )
    # 2025 earned A 450 < 500: back to base on 1 January 2026.
    assert (months["2026-01"]["members"], months["2026-01"]["downgrades"]) == (
        {"base": 2, "silver": 0},
        1,
    )
    assert sum(row["upgrades"] for row in report.months) == 1
    assert {m: r["expired"] for m, r in months.items() if r["expired"]} == {
        "2025-02": 900,
        "2025-04": 640,
        "2025-06": 225,
        "2025-07": 150,
    }
    assert months["2024-03"]["issued"] == 640
    assert months["2024-04"]["orders"] == 1


def test_golden_redemption_rate_spends_a_share_of_each_available_lot() -> None:
    report = backtest.run(load(GOLDEN), golden_history(), redemption_rate=Fraction(1, 10))

    # floor(10 %) of every lot available before the end; B's last lot is still pending.
    assert report.redeemed == 90 + 64 + 22 + 15 + 45
    assert report.expired == 810 + 576 + 203 + 135
    assert (report.pending, report.available) == (10, 405)


def test_an_earlier_end_cuts_the_history() -> None:
    report = backtest.run(load(GOLDEN), golden_history(), end=at("2024-06-01T00:00"))

    assert (report.orders, report.member_orders, report.issued) == (4, 3, 900 + 640 + 225)
    assert report.expired == 0
    assert (report.pending, report.available) == (225, 1540)
    assert [row["month"] for row in report.months][-1] == "2024-05"


INACTIVE = """
name: Inactive
currency: NOK
expiry: {policy: inactivity, months: 6, round_to_month_end: false}
earning:
  - {id: base, kind: spend, rates: {NOK: 1}}
tiers:
  metric: spend
  period: rolling_12_months
  levels:
    - {id: base, name: Base, threshold: 0}
    - {id: gold, name: Gold, threshold: 100000, retain: 50000, multiplier: 2}
"""


def test_rolling_spend_tiers_keep_a_level_on_retain_and_inactivity_expires_the_balance() -> None:
    orders = [
        ("C", "2024-01-15T10:00", 60000),  # 600
        ("C", "2024-02-20T10:00", 50000),  # 500; 1,100 NOK in 12 months → gold
        ("C", "2024-07-01T10:00", 20000),  # at gold: 200 + 200
        ("C", "2025-03-10T10:00", 10000),  # after the lapse of 2025-01-01: 100 + 100
        ("D", "2025-06-30T10:00", 5000),  # 50, pending at the end
    ]
    history = one_line_orders(orders)
    report = backtest.run(load(INACTIVE), history)

    assert report.end == at("2025-07-01T00:00")
    assert [(r.rule, r.points) for r in report.rules] == [("base", 1450), ("tier:gold", 300)]
    # No purchase within 6 months of 2024-07-01: the whole 1,500 expire on 2025-01-01.
    assert report.expired == 1500
    assert {r["month"]: r["expired"] for r in report.months if r["expired"]} == {"2025-01": 1500}
    assert report.expiry_scheduled == [("2025-09", 200), ("2025-12", 50)]
    assert (report.pending, report.available) == (50, 200)
    months = {row["month"]: row for row in report.months}
    assert months["2024-02"]["members"] == {"base": 0, "gold": 1}
    # Reviewed on 2025-02-20 with 700 NOK in the year before: below 1,000, above retain 500.
    assert months["2025-02"]["downgrades"] == 0
    assert months["2025-06"]["members"] == {"base": 1, "gold": 1}


CURRENCIES = """
name: Currencies
currency: NOK
earning:
  - {id: base, kind: spend, rates: {NOK: 1, EUR: 11}}
tiers:
  metric: spend
  period: rolling_12_months
  rates: {EUR: "11.5"}
  levels:
    - {id: base, name: Base, threshold: 0}
    - {id: gold, name: Gold, threshold: 100000, retain: 100000, multiplier: 2}
"""


def test_spend_tiers_convert_other_currencies_at_their_rate_and_skip_unrated_ones() -> None:
    orders = [
        ("C", "2025-01-10T10:00", 6000),  # 60 EUR: 660 points; 690 NOK of spend
        ("C", "2025-02-10T10:00", 500000),  # 5,000 SEK, no rate anywhere: no points, no spend
        ("C", "2025-03-10T10:00", 40000),  # 400 points; 1,090 NOK → gold
        ("C", "2025-04-10T10:00", 10000),  # at gold: 100 + 100
    ]
    history = one_line_orders(orders, "EUR SEK NOK NOK")

    report = backtest.run(load(CURRENCIES), history)

    assert [(r.rule, r.points) for r in report.rules] == [("base", 1160), ("tier:gold", 100)]
    months = {row["month"]: row for row in report.months}
    assert months["2025-02"]["members"] == {"base": 1, "gold": 0}
    assert (months["2025-03"]["upgrades"], months["2025-03"]["members"]["gold"]) == (1, 1)


PAID_LATER = """
name: Paid later
currency: NOK
expiry: {policy: lot, months: 12}
earning:
  - {id: base, kind: spend, rates: {NOK: 1}}
  - {id: january, kind: campaign, factor: 2, starts_at: "2025-01-01T00:00:00Z",
     ends_at: "2025-02-01T00:00:00Z"}
  - {id: welcome, kind: first_order, points: 50, channels: [store]}
"""


def test_an_order_paid_later_earns_then_but_its_campaign_is_when_it_was_placed() -> None:
    """Placed on 31 January, paid on 3 February (an invoice): January's campaign applies, the
    points are February's and expire at the end of February 2026. The order placed after it
    but paid before it, in a store, is the member's first: the store-only bonus is its."""
    history = from_rows(
        [
            {
                "order": 0,
                "member": "C",
                "placed_at": at("2025-01-31T20:00"),
                "paid_at": at("2025-02-03T09:00"),
                "currency": "NOK",
            },
            {
                "order": 1,
                "member": "C",
                "placed_at": at("2025-02-01T10:00"),
                "currency": "NOK",
                "channel": "store",
                "store": "OSLO1",
            },
        ],
        [{"order": 0, "value": 10000}, {"order": 1, "value": 5000}],
    )

    report = backtest.run(load(PAID_LATER), history)

    assert report.end == at("2025-03-01T00:00")
    assert [(r.rule, r.points) for r in report.rules] == [
        ("base", 150), ("january", 100), ("welcome", 50),
    ]  # fmt: skip
    # Expiring at the end of February 2026, the first instant of March.
    assert report.expiry_scheduled == [("2026-03", 300)]
    months = {row["month"]: row for row in report.months}
    assert (months["2025-01"]["orders"], months["2025-01"]["issued"]) == (1, 0)
    assert (months["2025-02"]["orders"], months["2025-02"]["issued"]) == (1, 300)


LIFETIME = """
name: Lifetime
currency: NOK
earning:
  - {id: base, kind: spend, rates: {NOK: 1}}
tiers:
  metric: points
  period: lifetime
  levels:
    - {id: base, name: Base, threshold: 0}
    - {id: gold, name: Gold, threshold: 1000, multiplier: 2}
"""


def test_lifetime_tiers_count_every_point_and_never_review() -> None:
    """Lifetime qualification (the backtest fell over on it with more than one order)."""
    orders = [
        ("E", "2024-01-15T10:00", 60000),  # 600
        ("E", "2024-06-01T10:00", 50000),  # 500; 1,100 points in all → gold at once
        ("E", "2026-03-01T10:00", 10000),  # years later, still gold: 100 + 100
        ("F", "2024-02-01T10:00", 90000),  # 900: stays base
    ]
    history = one_line_orders(orders)
    report = backtest.run(load(LIFETIME), history)

    assert [(r.rule, r.points) for r in report.rules] == [("base", 2100), ("tier:gold", 100)]
    months = {row["month"]: row for row in report.months}
    assert (months["2024-06"]["members"], months["2024-06"]["upgrades"]) == (
        {"base": 1, "gold": 1},
        1,
    )
    assert months["2026-03"]["members"] == {"base": 1, "gold": 1}
    assert sum(row["downgrades"] for row in report.months) == 0


def test_no_tiers_and_no_expiry_keep_every_point() -> None:
    programme = load("name: Plain\ncurrency: NOK\nearning: [{id: b, kind: spend, rates: {NOK: 2}}]")
    report = backtest.run(programme, golden_history())

    # Floored per order after doubling: 75.75 NOK gives 151, 100.01 NOK gives 200.
    assert report.issued == 800 + 400 + 151 + 200 + 600 + 20
    assert report.expired == 0
    assert report.outstanding == report.issued
    assert report.levels == []
    assert "members" not in report.months[0]


def test_bad_options_are_refused() -> None:
    with pytest.raises(BacktestError) as raised:
        backtest.run(load(GOLDEN), golden_history(), redemption_rate=Fraction(3, 2))
    assert raised.value.code == "invalid_rate"
    with pytest.raises(BacktestError) as raised:
        backtest.run(load(GOLDEN), golden_history(), end=datetime(2025, 1, 1))  # noqa: DTZ001
    assert raised.value.code == "invalid_end"
