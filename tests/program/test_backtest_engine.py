"""The backtest earns what the engine earns, over years: random orders sent through
ingestion in time order, each at its own time, with the daily jobs (settle, expire, tier
review) run just before some of them and not others, then the same orders read back from
the database and backtested under the same programme, give the same points per rule: spend
(two currencies with a rate and one without, one rule for one store), multipliers by
category and brand, a campaign window, first order, sustainable products and the tier
multipliers, with members moving up tiers on points or on spend (EUR converted at the tiers'
rate, SEK not counted) and down at reviews, over lines with discounts, VAT and gift cards and
orders with a discount of their own; some orders are paid hours after they were
placed. The same points expire, in the same months, under each expiry policy (per lot,
rounded or exact, or the whole balance after inactivity); the tier history moves up and down
in the same months; the members end on the same levels.

Ingestion's clock is the event's time, as if each event arrived when it happened; the jobs
run once more just before the backtest's end, which counts what happened before it. That
the outcome does not depend on when the jobs ran is part of the property: an event applies
the member's due tier reviews itself, and a purchase never revives a balance that lapsed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from trofast.ingest import service as ingest_service
from trofast.ingest.schemas import CanonicalEvent
from trofast.ingest.service import apply_events
from trofast.ledger import jobs
from trofast.models import (
    LedgerAccount,
    LedgerLot,
    LedgerPosting,
    LedgerTransaction,
    MemberTier,
    TierChange,
)
from trofast.program import backtest, service, tiering
from trofast.program.backtest_repository import load_history

_EVENT: TypeAdapter[Any] = TypeAdapter(CanonicalEvent)
START = datetime(2023, 10, 9, 9, tzinfo=UTC)
THRESHOLDS = {"points": (300, 900), "spend": (30_000, 90_000)}


EXPIRY = {
    "none": "{policy: none}",
    "lot": "{policy: lot, months: 12}",
    "lot_exact": "{policy: lot, months: 3, round_to_month_end: false}",
    "inactivity": "{policy: inactivity, months: 6}",
}


def programme(metric: str, period: str, start: datetime, expiry: str = "none") -> str:
    silver, gold = THRESHOLDS[metric]
    # Double points for the orders placed from 3 hours to 30 days after the first one.
    campaign = [(start + timedelta(hours=h)).isoformat() for h in (3, 24 * 30)]
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
        # Days (and an hour) since the order before: the history spans up to four years,
        # past return windows, expiry dates, year ends and tier reviews.
        "gap_days": st.integers(0, 240),
        # Whether the daily jobs ran just before the order's events, or not since the last
        # time: the outcome must not depend on it.
        "jobs_first": st.booleans(),
    }
)


def _kroner(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def _events(placed: datetime, n: int, order: dict[str, Any]) -> list[tuple[datetime, Any]]:
    """The order's events with their times: placed and paid, or placed, then paid later."""
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


def _timeline(start: datetime, orders: list[dict[str, Any]]) -> list[tuple[datetime, Any, bool]]:
    """Every order's events in time order, each with whether the jobs run just before it."""
    placed, timed = start, []
    for n, order in enumerate(orders):
        placed += timedelta(days=order["gap_days"], hours=1) if n else timedelta(0)
        timed += [(at, event, order["jobs_first"]) for at, event in _events(placed, n, order)]
    return sorted(timed, key=lambda each: each[0])


def _run_jobs(session: Session, at: datetime) -> None:
    """What the daily jobs have done by `at`: settle, expire, review tiers."""
    for job in (jobs.SETTLE, jobs.EXPIRE, tiering.REVIEW):
        job.run_all(session, at)


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
            expiring[f"{_utc(expires_at):%Y-%m}"] += points
    return dict(earned), dict(expiring)


def _expired(session: Session) -> int:
    """Points the expiry job moved to the system's expired account."""
    total = session.scalar(
        select(func.sum(LedgerPosting.amount))
        .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
        .where(LedgerAccount.kind == "expired")
    )
    return abs(int(total or 0))


def _moves(session: Session) -> dict[str, tuple[int, int]]:
    """Upgrades and downgrades per month, as the tier history holds them."""
    moves: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for direction, at in session.execute(select(TierChange.direction, TierChange.occurred_at)):
        moves[f"{_utc(at):%Y-%m}"][direction == "down"] += 1
    return {month: (up, down) for month, (up, down) in moves.items()}


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)  # SQLite hands back naive UTC


def _levels(session: Session, members: int) -> dict[str, int]:
    """Members per level as the engine holds them; a member never evaluated is on base."""
    held = Counter(session.scalars(select(MemberTier.level)))
    held["base"] += members - sum(held.values())
    return {level: held[level] for level in ("base", "silver", "gold")}


@given(
    orders=st.lists(_order, min_size=2, max_size=8),
    metric=st.sampled_from(["points", "spend"]),
    period=st.sampled_from(["calendar_year", "rolling_12_months", "lifetime"]),
    expiry=st.sampled_from(["lot", "inactivity", "lot_exact", "none"]),
)
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_a_backtest_of_the_database_earns_what_the_engine_earned(
    engine: Engine, orders: list[dict[str, Any]], metric: str, period: str, expiry: str
) -> None:
    start = START
    with engine.connect() as connection, patch.object(ingest_service, "utc_now") as clock:
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        try:
            version = service.apply(session, programme(metric, period, start, expiry)).row.version
            # Each event is applied at its own time, as live; the daily jobs run before some.
            for at, event, jobs_first in _timeline(start, orders):
                if jobs_first:
                    _run_jobs(session, at)
                clock.return_value = at
                apply_events(session, [_EVENT.validate_python(event)], None, currency="NOK")

            rules = service.programme_of(session, version)
            history = load_history(session, prices_include_tax=rules.prices_include_tax)
            report = backtest.run(rules, history)
            # The backtest counts what happened before its end; so do the jobs run just before.
            _run_jobs(session, report.end - timedelta(microseconds=1))
            earned, expiring = _earned(session)

            assert report.orders == len(orders)
            assert {r.rule: r.points for r in report.rules if r.points} == earned
            assert report.expired == _expired(session)
            by_month = {r["month"]: r["expired"] for r in report.months if r["expired"]}
            for month, points in report.expiry_scheduled:
                by_month[month] = by_month.get(month, 0) + points
            assert by_month == expiring
            assert {
                r["month"]: (r["upgrades"], r["downgrades"])
                for r in report.months
                if r["upgrades"] or r["downgrades"]
            } == _moves(session)
            assert report.months[-1]["members"] == _levels(
                session, len({o["member"] for o in orders})
            )
        finally:
            session.close()
            outer.rollback()
