"""Expiry policies: the pure dates, and lots versus inactivity through the engine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.ingest.factories import order_body
from tests.program.conftest import Ingest
from trofast.ingest import service as ingest_service
from trofast.ledger import queries
from trofast.ledger.jobs import expire_due
from trofast.models import Customer, LedgerLot, LedgerTransaction
from trofast.program import service
from trofast.program.expiry import add_months, expires_after, month_end


def _at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (_at(2026, 1, 31, 10), 1, _at(2026, 2, 28, 10)),  # clamped to the month's last day
        (_at(2028, 1, 31), 1, _at(2028, 2, 29)),  # a leap year
        (_at(2026, 3, 31), -1, _at(2026, 2, 28)),
        (_at(2026, 12, 15), 1, _at(2027, 1, 15)),  # over a year end
        (_at(2026, 1, 15), -13, _at(2024, 12, 15)),
        (_at(2028, 2, 29), 12, _at(2029, 2, 28)),
    ],
)
def test_add_months_clamps_the_day(start: datetime, months: int, expected: datetime) -> None:
    assert add_months(start, months) == expected


def test_month_end_is_the_first_instant_of_the_next_month_in_utc() -> None:
    assert month_end(_at(2026, 3, 1, 10)) == _at(2026, 4, 1)
    assert month_end(_at(2026, 12, 31, 23, 59)) == _at(2027, 1, 1)
    # 31 March 23:30 in Brazil is already 1 April in UTC.
    brazil = timezone(timedelta(hours=-2))
    assert month_end(datetime(2026, 3, 31, 23, 30, tzinfo=brazil)) == _at(2026, 5, 1)


def test_expires_after_months_rounded_to_month_end_or_not() -> None:
    earned = _at(2026, 3, 1, 10)

    assert expires_after(earned, 12, round_to_month_end=True) == _at(2027, 4, 1)
    assert expires_after(earned, 12, round_to_month_end=False) == _at(2027, 3, 1, 10)
    assert expires_after(_at(2026, 8, 31, 12), 6, round_to_month_end=False) == _at(2027, 2, 28, 12)
    oslo = timezone(timedelta(hours=1))
    new_year = datetime(2027, 1, 1, 0, 30, tzinfo=oslo)  # still December 2026 in UTC
    assert expires_after(new_year, 1, round_to_month_end=True) == _at(2027, 2, 1)


# --- through the engine ---------------------------------------------------------------

PROGRAMME = """
name: Expiry
currency: NOK
pending: {{return_window_days: 14}}
expiry: {{policy: {policy}, months: 6}}
earning:
  - {{id: base, kind: spend, rates: {{NOK: 1}}}}
"""

Buy = Callable[[str, str, int], None]


@pytest.fixture
def buy(ingest: Ingest, monkeypatch: pytest.MonkeyPatch) -> Buy:
    def run(order_id: str, on: str, kroner: int) -> None:
        monkeypatch.setattr(ingest_service, "utc_now", lambda: datetime.fromisoformat(on))
        line = {"id": "L1", "sku": "S", "quantity": 1, "unit_price": str(kroner)}
        ingest(order_body(order_id, placed_at=on, updated_at=on, lines=[line]))

    return run


def _lots(session: Session) -> list[tuple[int, datetime | None]]:
    rows = session.execute(
        select(LedgerLot.points, LedgerLot.expires_at).order_by(LedgerLot.id)
    ).all()
    return [(points, expires_at) for points, expires_at in rows]


def _member(session: Session) -> int:
    session.flush()  # the profile (e-mail) of the last event may still be unflushed
    return session.scalars(select(Customer.id).where(Customer.email == "kari@example.no")).one()


JANUARY, APRIL = "2026-01-10T10:00:00+00:00", "2026-04-20T10:00:00+00:00"


def test_lot_expiry_gives_each_lot_its_own_date(db_session: Session, buy: Buy) -> None:
    service.apply(db_session, PROGRAMME.format(policy="lot"))

    buy("1", JANUARY, 300)
    buy("2", APRIL, 200)

    # 10 January + 6 months → end of July; 20 April + 6 months → end of October.
    assert _lots(db_session) == [(300, _at(2026, 8, 1)), (200, _at(2026, 11, 1))]


def test_inactivity_expiry_moves_every_open_lot_to_the_last_purchase(
    db_session: Session, buy: Buy
) -> None:
    service.apply(db_session, PROGRAMME.format(policy="inactivity"))
    buy("1", JANUARY, 300)
    assert _lots(db_session) == [(300, _at(2026, 8, 1))]

    buy("2", APRIL, 200)

    assert _lots(db_session) == [(300, _at(2026, 11, 1)), (200, _at(2026, 11, 1))]
    # Six months without a purchase: the whole balance expires at once, not before.
    member = _member(db_session)
    assert expire_due(db_session, now=_at(2026, 10, 31, 23)) == 0
    assert expire_due(db_session, now=_at(2026, 11, 1)) == 2
    summary = queries.balance_summary(db_session, member, _at(2026, 11, 2))
    assert (summary.available, summary.lifetime_earned) == (0, 500)


@pytest.mark.parametrize("job_first", [True, False])
def test_a_purchase_after_the_balance_lapsed_does_not_save_it_whenever_the_job_runs(
    db_session: Session, buy: Buy, job_first: bool
) -> None:
    """January's balance lapses at the end of July. A purchase an hour into August comes too
    late for it, whether the daily expiry job ran before the purchase arrived or after."""
    service.apply(db_session, PROGRAMME.format(policy="inactivity"))
    buy("1", JANUARY, 300)
    job = _at(2026, 8, 1, 3)

    if job_first:
        assert expire_due(db_session, now=job) == 1
    buy("2", "2026-08-01T01:00:00+00:00", 200)
    if not job_first:
        assert expire_due(db_session, now=job) == 1

    assert _lots(db_session) == [(300, _at(2026, 8, 1)), (200, _at(2027, 3, 1))]
    summary = queries.balance_summary(db_session, _member(db_session), job)
    assert (summary.available, summary.pending, summary.lifetime_earned) == (0, 200, 500)


def test_inactivity_expiry_of_an_older_order_delivered_late_follows_the_last_purchase(
    db_session: Session, buy: Buy
) -> None:
    service.apply(db_session, PROGRAMME.format(policy="inactivity"))
    buy("2", APRIL, 200)

    buy("1", JANUARY, 300)  # e.g. a till that was offline sends its queue

    # The last purchase is still April's: nothing may expire before the end of October.
    assert _lots(db_session) == [(200, _at(2026, 11, 1)), (300, _at(2026, 11, 1))]
    assert (
        db_session.scalar(select(LedgerTransaction.id).where(LedgerTransaction.kind == "expire"))
        is None
    )
