"""The vectorised backtest earning equals `earning.evaluate`, order by order and rule by rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from trofast.program.backtest_earning import order_points
from trofast.program.backtest_expiry import expires_after as vectorised_expiry
from trofast.program.backtest_history import from_rows
from trofast.program.backtest_tiers import window_starts
from trofast.program.document import Programme, Tiers, validate
from trofast.program.earning import LineFacts, OrderFacts, evaluate
from trofast.program.expiry import expires_after
from trofast.program.tiers import period_start

T0 = datetime(2024, 1, 1, tzinfo=UTC)
CATEGORIES = ["a", "b"]
SKUS = ["s1", "s2"]
BRANDS = ["x", "y"]
STORES = ["S1", "S2"]
CURRENCIES = ["NOK", "SEK", "JPY", "KWD"]


def _decimal(low: int, high: int, places: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: str(Decimal(n).scaleb(-places)))


def _scope() -> st.SearchStrategy[dict[str, Any]]:
    scoped = st.fixed_dictionaries(
        {},
        optional={
            "channels": st.lists(st.sampled_from(["web", "store"]), min_size=1, unique=True),
            "stores": st.lists(st.sampled_from(STORES), min_size=1, unique=True),
        },
    )
    # Mostly unscoped, so that the rules after a spend rule usually have a base to work on.
    return st.one_of(st.just({}), st.just({}), scoped)


@st.composite
def _rule(draw: st.DrawFn, i: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(["spend", "spend", "multiplier", "campaign", "first", "green"]))
    rule: dict[str, Any] = {"id": f"r{i}", **draw(_scope())}
    factor = _decimal(1, 40000, 4)  # 0.0001 .. 4: below 1 gives negative shares
    if kind == "spend":
        rates = draw(
            st.dictionaries(st.sampled_from(CURRENCIES), _decimal(0, 3_000_000, 6), min_size=1)
        )
        return {**rule, "kind": "spend", "rates": rates}
    if kind == "multiplier":
        matches = {
            "categories": draw(st.lists(st.sampled_from(CATEGORIES), unique=True)),
            "skus": draw(st.lists(st.sampled_from(SKUS), unique=True)),
            "brands": draw(st.lists(st.sampled_from(BRANDS), min_size=1, unique=True)),
        }
        return {**rule, "kind": "multiplier", "factor": draw(factor), **matches}
    if kind == "campaign":
        start = T0 + timedelta(hours=draw(st.integers(0, 60)))
        end = start + timedelta(hours=draw(st.integers(1, 60)))
        categories = draw(st.lists(st.sampled_from(CATEGORIES), unique=True))
        return {
            **rule,
            "kind": "campaign",
            "factor": draw(factor),
            "starts_at": start.isoformat(),
            "ends_at": end.isoformat(),
            "categories": categories,
        }
    points = draw(st.integers(1, 500))
    return {
        **rule,
        "kind": "first_order" if kind == "first" else "sustainable_product",
        "points": points,
    }


@st.composite
def _programme(draw: st.DrawFn) -> Programme:
    count = draw(st.integers(0, 5))
    # A spend rule first in most programmes, with the currency most orders use.
    first = {"id": "base", "kind": "spend", "rates": {"NOK": draw(_decimal(1, 3_000_000, 6))}}
    rules = ([first] if draw(st.integers(0, 4)) else []) + [draw(_rule(i)) for i in range(count)]
    multipliers = draw(st.lists(_decimal(5000, 30000, 4), min_size=0, max_size=3))
    levels = [{"id": "l0", "name": "L0", "threshold": 0}]
    levels += [
        {"id": f"l{i + 1}", "name": f"L{i + 1}", "threshold": 100 * (i + 1), "multiplier": m}
        for i, m in enumerate(multipliers)
    ]
    tiers = {"metric": "points", "period": "lifetime", "levels": levels}
    return validate({"name": "P", "currency": "NOK", "earning": rules, "tiers": tiers})


_line = st.fixed_dictionaries(
    {
        "quantity": st.integers(0, 3),
        "value": st.just(0) | st.integers(0, 200_000),
        "sku": st.none() | st.sampled_from(SKUS),
        "category": st.none() | st.sampled_from(CATEGORIES),
        "brand": st.none() | st.sampled_from(BRANDS),
        "sustainable": st.booleans(),
    }
)
_order = st.fixed_dictionaries(
    {
        "member": st.sampled_from(["m1", "m2", "m3"]),
        "hours": st.integers(0, 120),
        "currency": st.sampled_from(["NOK", "NOK", *CURRENCIES]),
        "channel": st.sampled_from(["web", "store"]),
        "store": st.none() | st.sampled_from(STORES),
        "lines": st.lists(_line, min_size=1, max_size=4),
    }
)


def _facts(order: dict[str, Any], first: bool, level: Any) -> OrderFacts:
    return OrderFacts(
        currency=order["currency"],
        channel=order["channel"],
        store=order["store"],
        placed_at=T0 + timedelta(hours=order["hours"]),
        lines=[LineFacts(line_id=i, **line) for i, line in enumerate(order["lines"])],
        first_order=first,
        tier=level,
    )


@settings(max_examples=300, deadline=None)
@given(programme=_programme(), orders=st.lists(_order, min_size=1, max_size=6))
def test_vectorised_points_equal_evaluate_per_order(
    programme: Programme, orders: list[dict[str, Any]]
) -> None:
    history = from_rows(
        [
            {
                "order": n,
                "member": o["member"],
                "placed_at": T0 + timedelta(hours=o["hours"]),
                "currency": o["currency"],
                "channel": o["channel"],
                "store": o["store"],
            }
            for n, o in enumerate(orders)
        ],
        [{"order": n, **line} for n, o in enumerate(orders) for line in o["lines"]],
    )
    result = order_points(programme, history)
    rows = {row["order"]: row for row in result.frame.to_dicts()}
    # The engine's first order: the earliest, and of equal times the one recorded first.
    first_of: dict[Any, tuple[Any, int]] = {}
    for n, o in enumerate(orders):
        first_of[o["member"]] = min(first_of.get(o["member"], (o["hours"], n)), (o["hours"], n))
    assert programme.tiers is not None
    for n, order in enumerate(orders):
        first = first_of[order["member"]][1] == n
        row = rows[n]
        for level in programme.tiers.levels:
            awards = {a.rule: a.points for a in evaluate(programme, _facts(order, first, level))}
            expected = {c.rule: awards.get(c.rule, 0) for c in result.rules}
            assert {c.rule: row[c.column] for c in result.rules} == expected
            if level.id in result.tiers:
                column = result.tiers[level.id]
                assert row[column.column] == awards.get(column.rule, 0)
            else:
                assert f"tier:{level.id}" not in awards


@settings(max_examples=200, deadline=None)
@given(
    at=st.datetimes(
        min_value=datetime(2000, 1, 1),  # noqa: DTZ001 (hypothesis wants naive bounds)
        max_value=datetime(2040, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    months=st.integers(1, 120),
    round_to_month_end=st.booleans(),
    period=st.sampled_from(["calendar_year", "rolling_12_months"]),
)
def test_vectorised_dates_equal_the_policies(
    at: datetime, months: int, round_to_month_end: bool, period: str
) -> None:
    frame = pl.DataFrame({"at": [at]}, schema={"at": pl.Datetime("us", "UTC")})
    got = frame.select(
        vectorised_expiry(pl.col("at"), months, round_to_month_end=round_to_month_end)
    ).item()
    assert got == expires_after(at, months, round_to_month_end=round_to_month_end)
    tiers = Tiers.model_validate(
        {"metric": "points", "period": period, "levels": [{"id": "b", "name": "B", "threshold": 0}]}
    )
    start_us = frame.select(window_starts(tiers, pl.col("at"))).item()
    start = period_start(tiers, at)
    assert start is not None
    assert start_us == (start - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
