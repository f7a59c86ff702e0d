"""The backtest earns what the engine earns: random orders sent through ingestion in time
order, then the same orders read back from the database and backtested under the same
programme, give the same points per rule: spend (two currencies with a rate and one without,
one rule for one store), multipliers by category and brand, a campaign window, first order,
sustainable products and the tier multipliers, with members moving up tiers on points or on
spend (EUR converted at the tiers' rate, SEK not counted) along the way, over lines with
discounts, VAT and gift cards and orders with a discount of their own; some orders are paid
hours after they were placed, so they earn in another order than they were placed. The
points expire in the same months, under each expiry policy, and the members end on the
same levels.

The engine qualifies a member as of now (the period that holds now), the backtest as of
each payment, so the orders are placed and paid in the last twelve hours: the same period
for both, and no tier review comes due (the engine moves a member down only when its review
job runs, which this test does not drive).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from trofast.ingest.schemas import CanonicalEvent
from trofast.ingest.service import apply_events
from trofast.kit.time import utc_now
from trofast.models import LedgerLot, LedgerTransaction, MemberTier
from trofast.program import backtest, service
from trofast.program.backtest_repository import load_history

_EVENT: TypeAdapter[Any] = TypeAdapter(CanonicalEvent)
THRESHOLDS = {"points": (300, 900), "spend": (30_000, 90_000)}


EXPIRY = {
    "none": "{policy: none}",
    "lot": "{policy: lot, months: 12}",
    "lot_exact": "{policy: lot, months: 3, round_to_month_end: false}",
    "inactivity": "{policy: inactivity, months: 6}",
}


def programme(metric: str, period: str, start: datetime, expiry: str = "none") -> str:
    silver, gold = THRESHOLDS[metric]
    # Double points for the orders placed 3 to 6 hours after the first one.
    campaign = [(start + timedelta(hours=h)).isoformat() for h in (3, 6)]
    return f"""
name: Same
currency: NOK
expiry: {EXPIRY[expiry]}
earning:
  - {{id: base, kind: spend, rates: {{NOK: 1, EUR: 10}}}}
  - {{id: in_store, kind: spend, channels: [store], stores: [OSLO1], rates: {{NOK: "0.5"}}}}
  - {{id: shoes, kind: multiplier, factor: "1.5", categories: [shoes]}}
  - {{id: acme, kind: multiplier, factor: 2, brands: [Acme]}}
  - {{id: double, kind: campaign, factor: 2, starts_at: "{campaign[0]}",
      ends_at: "{campaign[1]}"}}
  - {{id: welcome, kind: first_order, points: 50}}
  - {{id: green, kind: sustainable_product, points: 5}}
tiers:
  metric: {metric}
  period: {period}
  rates: {'{EUR: "11.5"}' if metric == "spend" else "{}"}
  levels:
    - {{id: base, name: Base, threshold: 0}}
    - {{id: silver, name: Silver, threshold: {silver}, multiplier: "1.25"}}
    - {{id: gold, name: Gold, threshold: {gold}, multiplier: 2}}
"""


# Products keep one brand and one sustainability flag (the catalogue holds them, and the
# backtest reads the catalogue as it is at the end); the category travels with each line.
PRODUCTS = {"SKU-A": ("Acme", False), "SKU-B": (None, True), "SKU-C": (None, False)}
_line = st.fixed_dictionaries(
    {
        "sku": st.sampled_from(sorted(PRODUCTS)),
        "category": st.sampled_from(["shoes", "hats", None]),
        "quantity": st.integers(1, 3),
        "unit_price": st.integers(100, 50_000),  # øre
        "discount_share": st.sampled_from([0, 0, 10, 33]),  # % of the line
        "taxed": st.booleans(),  # 20 % VAT inside the price
        "gift_card": st.sampled_from([False, False, False, True]),
    }
)
_order = st.fixed_dictionaries(
    {
        "member": st.sampled_from(["a", "b", "c"]),
        "currency": st.sampled_from(["NOK", "NOK", "EUR", "SEK"]),
        "store": st.sampled_from([None, None, "OSLO1", "BERGEN1"]),  # None: on the web
        "lines": st.lists(_line, min_size=1, max_size=3),
        "order_discount_share": st.sampled_from([0, 0, 5, 17]),  # % of what the lines leave
        # Paid at once, or hours later (an invoice): half past, so no two orders tie.
        "paid_after": st.sampled_from([None, None, None, 1, 3]),
    }
)


def _kroner(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def _events(start: datetime, n: int, order: dict[str, Any]) -> list[tuple[datetime, Any]]:
    """The order's events with their times: placed and paid, or placed, then paid later."""
    placed = start + timedelta(hours=n)
    placement = _placed(placed, n, order)
    if order["paid_after"] is None:
        return [(placed, placement)]
    placement["order"]["financial_status"] = "pending"
    paid = placed + timedelta(hours=order["paid_after"], minutes=30)
    payment = {"idempotency_key": f"paid:{n}", "type": "order.paid",
               "occurred_at": paid.isoformat(), "order_id": str(n)}  # fmt: skip
    return [(placed, placement), (paid, payment)]


def _placed(at: datetime, n: int, order: dict[str, Any]) -> dict[str, Any]:
    placed = at.isoformat()
    lines, left = [], 0
    for i, line in enumerate(order["lines"]):
        gross = line["quantity"] * line["unit_price"]
        discount = gross * line["discount_share"] // 100
        left += gross - discount
        brand, sustainable = PRODUCTS[line["sku"]]
        tax = (gross - discount) // 5 if line["taxed"] else 0  # 20 % of the price net of VAT
        lines.append(
            {"id": f"L{i}", "sku": line["sku"], "quantity": line["quantity"],
             "unit_price": _kroner(line["unit_price"]), "discount": _kroner(discount),
             "tax": _kroner(tax), "category": line["category"], "brand": brand,
             "sustainable": sustainable, "gift_card": line["gift_card"]}
        )  # fmt: skip
    return {
        "idempotency_key": f"order:{n}",
        "type": "order.placed",
        "occurred_at": placed,
        "order": {
            "id": str(n),
            "currency": order["currency"],
            "channel": "web" if order["store"] is None else "store",
            "store": order["store"],
            "placed_at": placed,
            "financial_status": "paid",
            "customer": {"email": f"{order['member']}@example.no"},
            "lines": lines,
            "discount": _kroner(left * order["order_discount_share"] // 100),
            "shipping": "49.00",
        },
    }


def _earned(session: Session) -> tuple[dict[str, int], dict[str, int]]:
    """Points per rule, and per month in which they expire (no point is spent here)."""
    earned: dict[str, int] = defaultdict(int)
    expiring: dict[str, int] = defaultdict(int)
    rows = session.execute(
        select(LedgerTransaction.rule, LedgerLot.points, LedgerLot.expires_at).join(
            LedgerLot, LedgerLot.transaction_id == LedgerTransaction.id
        )
    )
    for rule, points, expires_at in rows:
        earned[str(rule)] += points
        if expires_at is not None:
            expiring[f"{expires_at:%Y-%m}"] += points
    return dict(earned), dict(expiring)


def _levels(session: Session, members: int) -> dict[str, int]:
    """Members per level as the engine holds them; a member never evaluated is on base."""
    held = Counter(session.scalars(select(MemberTier.level)))
    held["base"] += members - sum(held.values())
    return {level: held[level] for level in ("base", "silver", "gold")}


@given(
    orders=st.lists(_order, min_size=1, max_size=8),
    metric=st.sampled_from(["points", "spend"]),
    period=st.sampled_from(["lifetime", "calendar_year", "rolling_12_months"]),
    expiry=st.sampled_from(sorted(EXPIRY)),
)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_a_backtest_of_the_database_earns_what_the_engine_earned(
    engine: Engine, orders: list[dict[str, Any]], metric: str, period: str, expiry: str
) -> None:
    start = utc_now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=12)
    # In the first hours of a year the orders and now are in two calendar years.
    assume(period != "calendar_year" or start.year == utc_now().year)
    with engine.connect() as connection:
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        try:
            version = service.apply(session, programme(metric, period, start, expiry)).row.version
            timed = sorted(
                (e for n, o in enumerate(orders) for e in _events(start, n, o)),
                key=lambda pair: pair[0],
            )
            events = [_EVENT.validate_python(event) for _, event in timed]
            apply_events(session, events, None, currency="NOK")
            earned, expiring = _earned(session)

            rules = service.programme_of(session, version)
            history = load_history(session, prices_include_tax=rules.prices_include_tax)
            report = backtest.run(rules, history)

            assert report.orders == len(orders)
            assert {r.rule: r.points for r in report.rules if r.points} == earned
            # Nothing expires within the twelve hours: all of it is scheduled after the end.
            assert report.expired == 0
            assert dict(report.expiry_scheduled) == expiring
            # And the members stand on the same levels.
            assert report.months[-1]["members"] == _levels(
                session, len({o["member"] for o in orders})
            )
        finally:
            session.close()
            outer.rollback()
