"""Points outside orders: action events with caps and budgets, opt-in enrolment, birthdays."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.ingest.factories import order_body
from tests.program.conftest import Ingest
from trofast.ledger import queries
from trofast.models import Customer, LedgerTransaction, RuleBudget
from trofast.program import actions, service

PROGRAMME = """
name: Actions
currency: NOK
enrolment: {enrolment}
earning:
  - {{id: base, kind: spend, rates: {{NOK: 1}}}}
  - {{id: review, kind: action, action: product_review, points: 50, {cap}}}
  - {{id: survey, kind: action, action: survey_answered, points: 40, budget: 100}}
  - {{id: bday, kind: birthday, points: 250}}
"""


def _apply(
    session: Session, cap: str = "count: 1, period: lifetime", enrolment: str = "automatic"
) -> None:
    service.apply(session, PROGRAMME.format(cap=f"cap: {{{cap}}}", enrolment=enrolment))


def _action(
    action: str, reference: str, at: str, email: str = "kari@example.no", key: str | None = None
) -> dict[str, Any]:
    return {
        "idempotency_key": key or f"{action}:{reference}:{email}",
        "type": "action.completed",
        "occurred_at": at,
        "customer": {"email": email},
        "action": action,
        "reference": reference,
    }


def _customer(session: Session, email: str = "kari@example.no") -> int:
    session.flush()  # the profile (e-mail) of the last event may still be unflushed
    return session.scalars(select(Customer.id).where(Customer.email == email)).one()


def _earned(session: Session, rule: str) -> list[int]:
    """Points of each earn transaction of `rule`, in order."""
    rows = session.scalars(
        select(LedgerTransaction.id)
        .where(LedgerTransaction.kind == "earn", LedgerTransaction.rule == rule)
        .order_by(LedgerTransaction.id)
    ).all()
    return [queries.transaction_view(session, tx).member_change for tx in rows]


def test_an_action_event_awards_its_rule_once_per_reference(
    db_session: Session, ingest: Ingest
) -> None:
    _apply(db_session, cap="count: 10, period: lifetime")

    results = ingest(
        _action("product_review", "review-1", "2026-03-02T09:00:00Z"),
        # The same review sent again under another key (a retry with a new id): no points.
        _action("product_review", "review-1", "2026-03-02T09:00:00Z", key="retry"),
        _action("product_review", "review-2", "2026-03-02T10:00:00Z"),
        _action("newsletter_optin", "n-1", "2026-03-02T10:00:00Z"),  # no rule for it
    )

    assert [(r["status"], r["points"]) for r in results] == [
        ("applied", 50),
        ("applied", 0),
        ("applied", 50),
        ("applied", 0),
    ]
    assert _earned(db_session, "review") == [50, 50]
    transaction = db_session.scalars(
        select(LedgerTransaction).where(LedgerTransaction.rule == "review")
    ).first()
    assert transaction is not None
    assert transaction.effective_at == datetime(2026, 3, 2, 9, tzinfo=UTC)
    assert transaction.event_id is not None
    summary = queries.balance_summary(db_session, _customer(db_session))
    assert (summary.available, summary.pending) == (100, 0)


CAPS = {
    # 2 March 2026 is a Monday.
    "count: 2, period: day": [
        ("2026-03-02T00:00:00Z", 50),
        ("2026-03-02T12:00:00Z", 50),
        ("2026-03-02T23:59:59Z", 0),
        ("2026-03-03T00:00:00Z", 50),
    ],
    "count: 1, period: week": [
        ("2026-03-02T08:00:00Z", 50),
        ("2026-03-08T23:59:59Z", 0),
        ("2026-03-09T00:00:00Z", 50),
    ],
    "count: 1, period: month": [
        ("2026-03-01T00:00:00Z", 50),
        ("2026-03-31T23:59:59Z", 0),
        ("2026-04-01T00:00:00Z", 50),
    ],
    "count: 1, period: year": [
        ("2026-01-01T00:00:00Z", 50),
        ("2026-12-31T23:59:59Z", 0),
        ("2027-01-01T00:00:00Z", 50),
    ],
    "count: 1, period: lifetime": [
        ("2026-03-02T08:00:00Z", 50),
        ("2030-03-02T08:00:00Z", 0),
    ],
}


@pytest.mark.parametrize("cap", list(CAPS))
def test_caps_per_member_per_period(db_session: Session, ingest: Ingest, cap: str) -> None:
    _apply(db_session, cap=cap)

    results = ingest(
        *[_action("product_review", f"r{i}", at) for i, (at, _) in enumerate(CAPS[cap])]
    )

    assert [r["points"] for r in results] == [points for _, points in CAPS[cap]]
    assert _earned(db_session, "review") == [p for _, p in CAPS[cap] if p]


def test_a_cap_counts_only_its_own_period_when_events_arrive_out_of_order(
    db_session: Session, ingest: Ingest
) -> None:
    _apply(db_session, cap="count: 1, period: day")

    results = ingest(
        _action("product_review", "late", "2026-03-03T10:00:00Z"),
        _action("product_review", "early", "2026-03-02T10:00:00Z"),  # the day before
    )

    assert [r["points"] for r in results] == [50, 50]


def test_caps_are_per_member(db_session: Session, ingest: Ingest) -> None:
    _apply(db_session, cap="count: 1, period: lifetime")

    results = ingest(
        _action("product_review", "r1", "2026-03-02T08:00:00Z"),
        _action("product_review", "r1", "2026-03-02T08:00:00Z", email="ola@example.no"),
    )

    assert [r["points"] for r in results] == [50, 50]


def test_a_global_budget_stops_awards_when_exhausted_and_writes_nothing(
    db_session: Session, ingest: Ingest
) -> None:
    _apply(db_session)
    ingest(
        _action("survey_answered", "s1", "2026-03-02T08:00:00Z"),
        _action("survey_answered", "s1", "2026-03-02T08:00:00Z", email="ola@example.no"),
    )
    kari = _customer(db_session)
    before = db_session.scalar(select(func.count()).select_from(LedgerTransaction))

    # 40 + 40 of the budget of 100 are used: another 40 would overspend it.
    awards = actions.record_action(
        db_session,
        kari,
        "survey_answered",
        "s2",
        occurred_at=datetime(2026, 3, 3, tzinfo=UTC),
        event_id=None,
        now=datetime(2026, 3, 3, tzinfo=UTC),
    )

    assert awards == [actions.ActionAward("survey", 0, "budget_exhausted")]
    assert db_session.scalar(select(func.count()).select_from(LedgerTransaction)) == before
    assert db_session.get(RuleBudget, "survey").used == 80  # type: ignore[union-attr]
    assert queries.balance_summary(db_session, kari).available == 40


def test_opt_in_programme_gives_non_members_nothing_until_an_order_enrols_them(
    db_session: Session, ingest: Ingest
) -> None:
    _apply(db_session, cap="count: 10, period: lifetime", enrolment="opt_in")

    first = ingest(
        _action("product_review", "r1", "2026-03-01T08:00:00Z"),
        order_body("1001"),
    )
    kari = _customer(db_session)
    assert [r.get("points", 0) for r in first] == [0, 0]
    assert db_session.scalar(select(func.count()).select_from(LedgerTransaction)) == 0
    assert db_session.get(Customer, kari).is_member is False  # type: ignore[union-attr]

    second = ingest(
        order_body("1002", loyalty_opt_in=True, placed_at="2026-03-05T10:00:00Z",
                   updated_at="2026-03-05T10:00:00Z"),
        _action("product_review", "r2", "2026-03-06T08:00:00Z"),
    )  # fmt: skip

    customer = db_session.get(Customer, kari)
    assert customer is not None
    assert (customer.is_member, customer.enrolled_at) == (
        True,
        datetime(2026, 3, 5, 10, tzinfo=UTC),
    )
    # The enrolling order earns (1,178 NOK of merchandise); the earlier order does not.
    assert [r["points"] for r in second] == [1178, 50]
    assert _earned(db_session, "base") == [1178]


def test_an_action_for_a_non_member_reports_not_member(db_session: Session, ingest: Ingest) -> None:
    _apply(db_session, enrolment="opt_in")
    ingest(_action("product_review", "r0", "2026-03-01T08:00:00Z"))

    awards = actions.record_action(
        db_session,
        _customer(db_session),
        "product_review",
        "r1",
        occurred_at=datetime(2026, 3, 2, tzinfo=UTC),
        event_id=None,
        now=datetime(2026, 3, 2, tzinfo=UTC),
    )

    assert awards == [actions.ActionAward("review", 0, "not_member")]


# --- birthdays ------------------------------------------------------------------------


def _born(session: Session, ingest: Ingest, email: str, birthday: str) -> None:
    ingest(
        {
            "idempotency_key": f"customer:{email}",
            "type": "customer.upserted",
            "occurred_at": "2026-01-01T00:00:00Z",
            "customer": {"email": email, "birthday": birthday},
        }
    )
    session.flush()  # the job reads birthdays with its own query


def test_a_birthday_bonus_is_given_once_a_year(db_session: Session, ingest: Ingest) -> None:
    _apply(db_session)
    _born(db_session, ingest, "kari@example.no", "1990-03-15")

    assert actions.award_birthdays(db_session, date(2026, 3, 14)) == 0
    assert actions.award_birthdays(db_session, date(2026, 3, 15)) == 1
    assert actions.award_birthdays(db_session, date(2026, 3, 15)) == 0  # the job ran twice
    assert actions.award_birthdays(db_session, date(2027, 3, 15)) == 1

    assert _earned(db_session, "bday") == [250, 250]


def test_the_29th_of_february_is_celebrated_on_the_28th_in_other_years(
    db_session: Session, ingest: Ingest
) -> None:
    _apply(db_session)
    _born(db_session, ingest, "leap@example.no", "2000-02-29")
    _born(db_session, ingest, "kari@example.no", "1990-02-28")

    assert actions.award_birthdays(db_session, date(2027, 2, 28)) == 2
    assert actions.award_birthdays(db_session, date(2028, 2, 28)) == 1  # only the 28th
    assert actions.award_birthdays(db_session, date(2028, 2, 29)) == 1
    assert actions.award_birthdays(db_session, date(2028, 3, 1)) == 0

    leap = _customer(db_session, "leap@example.no")
    assert queries.balance_summary(db_session, leap).available == 500


def test_the_birthday_job_gives_the_bonuses_of_the_utc_day_it_runs(
    db_session: Session, ingest: Ingest
) -> None:
    _apply(db_session)
    _born(db_session, ingest, "kari@example.no", "1990-03-15")
    _born(db_session, ingest, "ola@example.no", "1990-03-16")

    late = datetime(2026, 3, 15, 23, 59, tzinfo=UTC)
    assert actions.BIRTHDAYS.run_all(db_session, late) == 1
    assert actions.BIRTHDAYS.run_all(db_session, datetime(2026, 3, 15, 8, tzinfo=UTC)) == 0

    kari, ola = _customer(db_session), _customer(db_session, "ola@example.no")
    assert queries.balance_summary(db_session, kari).available == 250
    assert queries.balance_summary(db_session, ola).available == 0


def test_no_birthday_bonus_for_non_members_of_an_opt_in_programme(
    db_session: Session, ingest: Ingest
) -> None:
    _apply(db_session, enrolment="opt_in")
    _born(db_session, ingest, "kari@example.no", "1990-03-15")

    assert actions.award_birthdays(db_session, date(2026, 3, 15)) == 0
    assert db_session.scalar(select(func.count()).select_from(LedgerTransaction)) == 0
