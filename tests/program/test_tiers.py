"""Tier policies with exact numbers: the pure rules, then upgrades and reviews on the database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.ingest.factories import order_body, refund_body
from tests.program.conftest import Ingest
from tests.support.sql import sent
from trofast.ingest import service as ingest_service
from trofast.models import (
    Customer,
    LedgerLot,
    LedgerTransaction,
    MemberTier,
    Order,
    TierChange,
)
from trofast.program import document, service, tiering, tiers
from trofast.program.document import Tiers
from trofast.program.errors import InvalidProgramme
from trofast.program.ladder import member


def _tiers(metric: str = "points", period: str = "calendar_year") -> Tiers:
    return Tiers.model_validate(
        {
            "metric": metric,
            "period": period,
            "levels": [
                {"id": "base", "name": "Base", "threshold": 0},
                {"id": "silver", "name": "Silver", "threshold": 1000, "retain": 800},
                {"id": "gold", "name": "Gold", "threshold": 5000},
            ],
        }
    )


# --- the pure policy ------------------------------------------------------------------


def test_the_level_qualified_for_is_the_highest_threshold_reached() -> None:
    ladder = _tiers()

    assert [tiers.qualified(ladder, v).id for v in (0, 999, 1000, 4999, 5000, 10**9)] == [
        "base", "base", "silver", "silver", "gold", "gold",
    ]  # fmt: skip


def test_an_upgrade_is_only_ever_upwards() -> None:
    ladder = _tiers()
    silver = tiers.level_of(ladder, "silver")

    assert tiers.upgraded(ladder, silver, 5000) == tiers.level_of(ladder, "gold")
    assert tiers.upgraded(ladder, silver, 1000) is None
    assert tiers.upgraded(ladder, silver, 0) is None  # a fall waits for the review


def test_spend_in_other_currencies_counts_at_its_rate_rounded_down_per_currency() -> None:
    ladder = Tiers.model_validate(
        {
            "metric": "spend",
            "period": "lifetime",
            "rates": {"EUR": "11.5", "JPY": "0.07", "KWD": "33.333333"},
            "levels": [{"id": "base", "name": "Base", "threshold": 0}],
        }
    )

    # 5 øre; 100.00 EUR → 1,150.00 NOK; ¥1,000 → 70.00 NOK; 1.000 KWD → 33.33 NOK (rounded
    # down from 33.333333); USD has no rate.
    spend = {"NOK": 5, "EUR": 10000, "JPY": 1000, "KWD": 1000, "USD": 10**6}
    assert tiers.spend_value(ladder, "NOK", spend) == 5 + 115000 + 7000 + 3333
    # A currency's spend is converted as a sum: two orders of 0.01 EUR are 23 øre, not 11 + 11.
    assert tiers.spend_value(ladder, "NOK", {"EUR": 2}) == 23
    # A programme in yen reads the rates as yen per unit: 100 EUR → ¥1,150; its own yen as is.
    assert tiers.spend_value(ladder, "JPY", {"JPY": 7, "EUR": 10000}) == 7 + 1150


def test_a_review_keeps_the_highest_level_whose_retention_value_was_reached() -> None:
    ladder = _tiers()
    silver, gold = tiers.level_of(ladder, "silver"), tiers.level_of(ladder, "gold")

    assert tiers.reviewed(ladder, silver, 800).id == "silver"  # retain 800 < threshold 1000
    assert tiers.reviewed(ladder, silver, 799).id == "base"
    assert tiers.reviewed(ladder, gold, 4999).id == "silver"  # gold has no retain: 5000
    assert tiers.reviewed(ladder, gold, 700).id == "base"
    assert tiers.reviewed(ladder, silver, 9000).id == "silver"  # a review never upgrades


def test_a_level_removed_from_the_programme_reads_as_the_base_level() -> None:
    assert tiers.level_of(_tiers(), "platinum").id == "base"
    assert tiers.level_of(_tiers(), None).id == "base"


def test_qualification_windows_and_reviews_of_each_period() -> None:
    oslo = timezone(timedelta(hours=1))
    at = datetime(2026, 1, 1, 0, 30, tzinfo=oslo)  # still 2025 in UTC

    assert tiers.period_start(_tiers(period="lifetime"), at) is None
    assert tiers.next_review(_tiers(period="lifetime"), at) is None
    assert tiers.period_start(_tiers(), at) == datetime(2025, 1, 1, tzinfo=UTC)
    assert tiers.next_review(_tiers(), at) == datetime(2026, 1, 1, tzinfo=UTC)
    leap = datetime(2028, 2, 29, 12, tzinfo=UTC)
    assert tiers.period_start(_tiers(period="rolling_12_months"), leap) == datetime(
        2027, 2, 28, 12, tzinfo=UTC
    )
    assert tiers.next_review(_tiers(period="rolling_12_months"), leap) == datetime(
        2029, 2, 28, 12, tzinfo=UTC
    )


# --- on the database ------------------------------------------------------------------

PROGRAMME = """
name: Tiers
currency: NOK
pending: {{return_window_days: 14}}
earning:
  - {{id: base, kind: spend, rates: {{NOK: 1}}}}
tiers:
  metric: {metric}
  period: {period}
  rates: {rates}
  levels:
    - {{id: base, name: Base, threshold: 0}}
    - {{id: silver, name: Silver, threshold: {silver}, retain: {retain}}}
"""
Buy = Callable[..., None]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> dict[str, datetime]:
    """The time ingestion believes it is (tier windows are counted back from it)."""
    now = {"now": datetime(2026, 3, 10, tzinfo=UTC)}
    monkeypatch.setattr(ingest_service, "utc_now", lambda: now["now"])
    return now


@pytest.fixture
def buy(ingest: Ingest, clock: dict[str, datetime]) -> Buy:
    """An order of `kroner` (whole units of `currency`) of merchandise, plus 49 of shipping,
    paid at `on`."""

    def run(
        order_id: str, on: str, kroner: int, *, now: str | None = None, currency: str = "NOK"
    ) -> None:
        clock["now"] = datetime.fromisoformat(now or on)
        line = {"id": "L1", "sku": "S", "quantity": 1, "unit_price": str(kroner)}
        body = order_body(order_id, placed_at=on, updated_at=on, lines=[line], currency=currency)
        ingest(body)

    return run


def _apply(session: Session, *, metric: str = "points", period: str = "calendar_year",
           silver: int = 1000, retain: int = 800, rates: str = "{}") -> None:  # fmt: skip
    text = PROGRAMME.format(metric=metric, period=period, silver=silver, retain=retain, rates=rates)
    service.apply(session, text)


def _member(session: Session) -> int:
    session.flush()  # the profile (e-mail) of the last event may still be unflushed
    return session.scalars(select(Customer.id).where(Customer.email == "kari@example.no")).one()


def _tier(session: Session) -> tuple[str, datetime | None, datetime | None]:
    row = session.get(MemberTier, _member(session))
    assert row is not None
    session.refresh(row)
    return row.level, _utc(row.since), _utc(row.review_at)


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; they are UTC.
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def _changes(session: Session) -> list[tuple[Any, ...]]:
    rows = session.scalars(select(TierChange).order_by(TierChange.id)).all()
    return [(r.from_level, r.to_level, r.reason, r.value, _utc(r.occurred_at)) for r in rows]


def test_points_upgrade_at_once_in_the_calendar_year(db_session: Session, buy: Buy) -> None:
    _apply(db_session)
    buy("1", "2026-03-01T10:00:00+00:00", 600)
    assert _tier(db_session) == ("base", datetime(2026, 3, 1, 10, tzinfo=UTC), None)

    buy("2", "2026-03-05T10:00:00+00:00", 400)

    # 600 + 400 = 1,000 points this year: Silver now, reviewed when the year ends.
    at = datetime(2026, 3, 5, 10, tzinfo=UTC)
    assert _tier(db_session) == ("silver", at, datetime(2027, 1, 1, tzinfo=UTC))
    assert _changes(db_session) == [("base", "silver", "qualified", 1000, at)]


def test_a_member_at_the_top_earns_without_summing_its_points(
    db_session: Session, buy: Buy
) -> None:
    _apply(db_session)
    buy("1", "2026-03-01T10:00:00+00:00", 1200)
    assert _tier(db_session)[0] == "silver"

    with sent(db_session) as seen:
        buy("2", "2026-03-05T10:00:00+00:00", 300)

    # Nothing is above Silver: the qualification sum over the member's history is skipped.
    assert not [s for s, _ in seen if "ledger_accounts.kind IN" in s]
    assert _tier(db_session) == ("silver", datetime(2026, 3, 1, 10, tzinfo=UTC), _NEXT_YEAR)
    assert len(_changes(db_session)) == 1


_NEXT_YEAR = datetime(2027, 1, 1, tzinfo=UTC)


def test_last_years_points_do_not_count_in_a_calendar_year(db_session: Session, buy: Buy) -> None:
    _apply(db_session)
    buy("1", "2025-12-31T22:00:00+00:00", 600)
    buy("2", "2026-01-02T10:00:00+00:00", 600)

    assert _tier(db_session)[0] == "base"
    assert _changes(db_session) == []


def test_a_downgrade_waits_for_the_review_and_retain_keeps_the_level(
    db_session: Session, buy: Buy
) -> None:
    _apply(db_session)
    buy("1", "2026-03-01T10:00:00+00:00", 1100)  # Silver
    year_end = datetime(2027, 1, 1, tzinfo=UTC)
    assert tiering.review_due(db_session, now=year_end - timedelta(microseconds=1)) == 0

    # 2026: 1,100 ≥ 800 → kept. 2027: 900, under the threshold but over `retain` → kept.
    assert tiering.review_due(db_session, now=year_end) == 1
    assert _tier(db_session)[0::2] == ("silver", datetime(2028, 1, 1, tzinfo=UTC))
    buy("2", "2027-06-01T10:00:00+00:00", 900)
    assert tiering.review_due(db_session, now=datetime(2028, 1, 1, tzinfo=UTC)) == 1
    assert _tier(db_session)[0::2] == ("silver", datetime(2029, 1, 1, tzinfo=UTC))

    # 2028: 799 points, one short of `retain` → Base at the end of the year, never reviewed again.
    buy("3", "2028-06-01T10:00:00+00:00", 799)
    assert _tier(db_session)[0] == "silver"
    assert tiering.review_due(db_session, now=datetime(2029, 1, 5, tzinfo=UTC)) == 1

    down = datetime(2029, 1, 1, tzinfo=UTC)
    assert _tier(db_session) == ("base", down, None)
    assert _changes(db_session)[1:] == [("silver", "base", "review", 799, down)]
    assert tiering.review_due(db_session, now=datetime(2030, 1, 1, tzinfo=UTC)) == 0


def test_a_missed_review_catches_up_period_by_period(db_session: Session, buy: Buy) -> None:
    _apply(db_session)
    buy("1", "2026-03-01T10:00:00+00:00", 1100)

    # The job did not run for a year and a half: 2026 (1,100) keeps Silver, 2027 (nothing)
    # loses it at its own end, as the backtest and a punctual job would have it.
    assert tiering.review_due(db_session, now=datetime(2028, 6, 1, tzinfo=UTC)) == 2

    down = datetime(2028, 1, 1, tzinfo=UTC)
    assert _tier(db_session) == ("base", down, None)
    assert _changes(db_session)[1:] == [("silver", "base", "review", 0, down)]


def test_rolling_twelve_months_counts_back_from_now(db_session: Session, buy: Buy) -> None:
    _apply(db_session, period="rolling_12_months")
    buy("1", "2025-03-09T10:00:00+00:00", 600)  # 12 months and a day before the next
    buy("2", "2026-03-10T10:00:00+00:00", 500)
    assert _tier(db_session)[0] == "base"

    buy("3", "2026-04-01T10:00:00+00:00", 500)

    # 500 + 500 in the 12 months to 1 April 2026; reviewed 12 months after the upgrade.
    at = datetime(2026, 4, 1, 10, tzinfo=UTC)
    assert _tier(db_session) == ("silver", at, datetime(2027, 4, 1, 10, tzinfo=UTC))
    assert _changes(db_session) == [("base", "silver", "qualified", 1000, at)]
    # The review counts the 12 months before it: 1 April 2026 onwards holds 500 < 800.
    assert tiering.review_due(db_session, now=datetime(2027, 4, 2, tzinfo=UTC)) == 1
    assert _changes(db_session)[-1][:4] == ("silver", "base", "review", 500)


def test_spend_over_a_lifetime_is_never_reviewed(db_session: Session, buy: Buy) -> None:
    # Silver at 1,000 NOK of merchandise (in øre), shipping and refunds not counted.
    _apply(db_session, metric="spend", period="lifetime", silver=100000, retain=100000)
    buy("1", "2020-05-01T10:00:00+00:00", 600)
    assert _tier(db_session)[0] == "base"

    buy("2", "2026-03-01T10:00:00+00:00", 400)

    at = datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert _tier(db_session) == ("silver", at, None)
    assert _changes(db_session) == [("base", "silver", "qualified", 100000, at)]
    assert tiering.review_due(db_session, now=datetime(2040, 1, 1, tzinfo=UTC)) == 0


def test_spend_just_short_of_the_threshold_stays_on_base(db_session: Session, buy: Buy) -> None:
    _apply(db_session, metric="spend", period="lifetime", silver=100000, retain=100000)
    buy("1", "2026-03-01T10:00:00+00:00", 999)  # 99,900 øre: the 49 NOK shipping is no spend

    assert _tier(db_session)[0] == "base"
    assert _changes(db_session) == []


def test_spend_in_another_currency_counts_at_the_programmes_rate(
    db_session: Session, buy: Buy
) -> None:
    """The thresholds are NOK; 60 EUR at 11.5 count 690 NOK, SEK has no rate and counts
    nothing, so 400 NOK more make 1,090 NOK: silver. The ladder names the currency."""
    _apply(db_session, metric="spend", period="lifetime", silver=100000, retain=100000,
           rates='{EUR: "11.5"}')  # fmt: skip
    buy("1", "2026-03-01T10:00:00+00:00", 60, currency="EUR")
    buy("2", "2026-03-02T10:00:00+00:00", 5000, currency="SEK")
    assert _tier(db_session)[0] == "base"

    buy("3", "2026-03-03T10:00:00+00:00", 400)

    at = datetime(2026, 3, 3, 10, tzinfo=UTC)
    assert _changes(db_session) == [("base", "silver", "qualified", 109000, at)]
    ladder = member(db_session, _member(db_session), now=at)
    assert ladder.tier is not None
    assert (ladder.tier.currency, ladder.tier.value) == ("NOK", 109000)


def test_the_ladder_of_tiers_on_points_names_no_currency(db_session: Session, buy: Buy) -> None:
    _apply(db_session)
    buy("1", "2026-03-01T10:00:00+00:00", 100)

    ladder = member(db_session, _member(db_session), now=datetime(2026, 3, 2, tzinfo=UTC))
    assert ladder.tier is not None
    assert (ladder.tier.metric, ladder.tier.currency, ladder.tier.value) == ("points", None, 100)


@pytest.mark.parametrize("metric", ["spend", "points"])
def test_an_order_that_earns_nothing_still_counts_as_spend_at_once(
    db_session: Session, ingest: Ingest, clock: dict[str, datetime], metric: str
) -> None:
    """A gift card earns no points, but on spend its 1,200 NOK qualify for silver with this
    order, not with the member's next one; on points nothing moves."""
    _apply(db_session, metric=metric, period="lifetime", silver=100000, retain=100000)
    on = datetime(2026, 3, 1, 10, tzinfo=UTC)
    clock["now"] = on
    card = {"id": "L1", "sku": "GIFT", "quantity": 1, "unit_price": "1200", "gift_card": True}

    results = ingest(order_body("1", placed_at=on.isoformat(), lines=[card]))

    assert "points" not in results[0]
    if metric == "spend":
        assert _tier(db_session) == ("silver", on, None)
        assert _changes(db_session) == [(None, "silver", "qualified", 120000, on)]
    else:
        assert db_session.get(MemberTier, _member(db_session)) is None  # never evaluated
        assert _changes(db_session) == []


@pytest.mark.parametrize("how", ["refunded", "cancelled"])
def test_on_spend_a_returned_order_that_earned_nothing_takes_back_the_level_it_won(
    db_session: Session, ingest: Ingest, clock: dict[str, datetime], how: str
) -> None:
    """The gift card won silver; refunded or cancelled it no longer counts, though no point
    was reversed."""
    _apply(db_session, metric="spend", period="lifetime", silver=100000, retain=100000)
    on = datetime(2026, 3, 1, 10, tzinfo=UTC)
    clock["now"] = on
    card = {"id": "L1", "sku": "GIFT", "quantity": 1, "unit_price": "1200", "gift_card": True}
    ingest(order_body("1", placed_at=on.isoformat(), lines=[card]))
    assert _tier(db_session)[0] == "silver"

    returned = datetime(2026, 3, 5, 9, tzinfo=UTC)
    clock["now"] = returned
    lines = [{"line_id": "L1", "quantity": 1, "amount": "1200.00"}]
    cancel = {"idempotency_key": "cancel:1", "type": "order.cancelled", "order_id": "1",
              "occurred_at": returned.isoformat()}  # fmt: skip
    ingest(refund_body("1", amount="1200.00", lines=lines) if how == "refunded" else cancel)

    assert _tier(db_session)[0] == "base"
    assert _changes(db_session) == [
        (None, "silver", "qualified", 120000, on),
        ("silver", "base", "returned", 0, returned),
    ]


def test_on_spend_a_refund_of_shipping_gives_back_no_spend(
    db_session: Session, ingest: Ingest, buy: Buy, clock: dict[str, datetime]
) -> None:
    """1,000 NOK of merchandise won silver at 960; refunding the 49 NOK of shipping (a
    refund's amount includes its shipping) leaves 1,000 NOK of spend, not 951; 100 NOK of
    merchandise more leaves 900, not 851."""
    _apply(db_session, metric="spend", period="lifetime", silver=96000, retain=96000)
    buy("1", "2026-03-01T10:00:00+00:00", 1000)
    assert _tier(db_session)[0] == "silver"

    clock["now"] = datetime(2026, 3, 5, 9, tzinfo=UTC)
    ingest(refund_body("1", "R1", amount="49.00", shipping="49.00", lines=[]))
    assert _tier(db_session)[0] == "silver"
    ingest(refund_body("1", "R2", amount="100.00", lines=[]))

    assert _tier(db_session)[0] == "base"
    assert _changes(db_session)[-1][2:4] == ("returned", 90000)


def test_an_order_after_a_review_fell_due_earns_at_the_reviewed_level_before_the_job_runs(
    db_session: Session, buy: Buy
) -> None:
    """Silver (×2) since 2025 with 200 points in 2026: the review of 1 January 2027 takes it
    to base. An order an hour into 2027, before the daily job ran, earns at base and applies
    that review itself, as it would had the job run first."""
    text = PROGRAMME.format(
        metric="points", period="calendar_year", silver=1000, retain=800, rates="{}"
    ).replace("retain: 800}", "retain: 800, multiplier: 2}")
    service.apply(db_session, text)
    buy("1", "2025-06-01T10:00:00+00:00", 1200)
    assert tiering.review_due(db_session, now=datetime(2026, 1, 1, 3, tzinfo=UTC)) == 1
    buy("2", "2026-05-01T10:00:00+00:00", 100)  # 100 + 100 at silver

    buy("3", "2027-01-01T01:00:00+00:00", 100)

    new_year = datetime(2027, 1, 1, tzinfo=UTC)
    assert _tier(db_session)[0] == "base"
    assert _changes(db_session)[-1] == ("silver", "base", "review", 200, new_year)
    earned = db_session.execute(
        select(LedgerTransaction.rule, LedgerLot.points)
        .join(LedgerLot, LedgerLot.transaction_id == LedgerTransaction.id)
        .join(Order, Order.id == LedgerTransaction.order_id)
        .where(Order.external_id == "3")
    ).all()
    assert [(rule, points) for rule, points in earned] == [("base", 100)]
    assert tiering.review_due(db_session, now=datetime(2027, 1, 1, 3, tzinfo=UTC)) == 0


def test_the_document_refuses_a_ladder_the_policy_could_not_run() -> None:
    text = PROGRAMME.format(
        metric="points", period="calendar_year", silver=1000, retain=1001, rates="{}"
    )

    with pytest.raises(InvalidProgramme) as caught:
        document.load(text)

    assert caught.value.detail["errors"] == [
        {"path": "tiers.levels[1].retain", "reason": "retain must not exceed threshold"}
    ]


@pytest.mark.parametrize(
    ("metric", "rates", "path", "reason"),
    [
        ("points", "{EUR: 11}", "tiers.rates", "rates convert spend; tiers on points need none"),
        ("spend", "{NOK: 1}", "tiers.rates.NOK",
         "spend in the programme's currency counts as it is; it takes no rate"),
        ("spend", "{XXY: 2}", "tiers.rates.XXY", "unknown ISO 4217 currency XXY"),
        ("spend", "{EUR: -1}", "tiers.rates.EUR", "Input should be greater than or equal to 0"),
    ],
)  # fmt: skip
def test_the_document_refuses_tier_rates_it_could_not_apply(
    metric: str, rates: str, path: str, reason: str
) -> None:
    text = PROGRAMME.format(metric=metric, period="lifetime", silver=1000, retain=1000, rates=rates)

    with pytest.raises(InvalidProgramme) as caught:
        document.load(text)

    assert caught.value.detail["errors"] == [{"path": path, "reason": reason}]
