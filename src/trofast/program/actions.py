"""Points outside orders: actions (sign-up, review, survey, ...) and birthdays.

Each award is keyed by what it rewards (the action's reference, the birthday's year), so a
replayed event earns nothing twice. Caps per member are counted under the member's ledger
lock; a global budget is taken with one conditional UPDATE, so concurrent members can
never overspend it.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from trofast.db import Job
from trofast.kit.time import utc_now
from trofast.ledger import service as ledger
from trofast.ledger.core import Reasons, member_accounts
from trofast.program import repository, tiering
from trofast.program.document import ActionRule, BirthdayRule, Cap
from trofast.program.expiry import add_months
from trofast.program.service import Active, active, is_member


@dataclass(frozen=True, slots=True)
class ActionAward:
    rule: str
    points: int  # 0 when not awarded
    status: str  # awarded, duplicate, cap_reached, budget_exhausted, not_member, no_rule


def record_action(
    session: Session,
    customer_id: int,
    action: str,
    reference: str,
    *,
    occurred_at: datetime,
    event_id: int | None,
    now: datetime,
) -> list[ActionAward]:
    """Award every rule of the programme in force that rewards `action`."""
    program = active(session)
    if program is None:
        return []
    rules = [r for r in program.programme.rules_of("action") if r.action == action]
    customer = repository.customer(session, customer_id)
    assert customer is not None
    if rules and not is_member(program.programme, customer):
        return [ActionAward(rule.id, 0, "not_member") for rule in rules]
    return [
        _award(session, program, rule, customer_id, reference, occurred_at, event_id, now)
        for rule in rules
    ]


def _award(
    session: Session,
    program: Active,
    rule: ActionRule,
    customer_id: int,
    reference: str,
    occurred_at: datetime,
    event_id: int | None,
    now: datetime,
) -> ActionAward:
    key = f"action:{rule.id}:{customer_id}:{reference}"
    member_accounts(session, customer_id, now)  # lock first: the cap count must not race
    if ledger.key_taken(session, key):
        return ActionAward(rule.id, 0, "duplicate")
    if rule.cap is not None:
        since, until = _cap_window(rule.cap, occurred_at)
        awarded = repository.count_rule_awards(session, customer_id, rule.id, since, until)
        if awarded >= rule.cap.count:
            return ActionAward(rule.id, 0, "cap_reached")
    if rule.budget is not None and not repository.use_budget(
        session, rule.id, rule.points, rule.budget
    ):
        return ActionAward(rule.id, 0, "budget_exhausted")
    ledger.earn(
        session,
        customer_id,
        key,
        rule.points,
        reasons=Reasons(event_id, None, program.version, rule.id),
        now=now,
        effective_at=occurred_at,
    )
    tiering.evaluate(session, program, customer_id, now)
    return ActionAward(rule.id, rule.points, "awarded")


def _cap_window(cap: Cap, at: datetime) -> tuple[datetime | None, datetime | None]:
    """The cap's period that holds `at`, [start, end) in UTC (weeks start on Monday).

    Bounded on both sides: events arrive out of order, and an award of a later period must
    not count against an earlier one.
    """
    day = datetime(at.year, at.month, at.day, tzinfo=at.tzinfo)
    if cap.period == "day":
        return day, day + timedelta(days=1)
    if cap.period == "week":
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(weeks=1)
    if cap.period == "month":
        first = day.replace(day=1)
        return first, add_months(first, 1)
    if cap.period == "year":
        first = day.replace(month=1, day=1)
        return first, first.replace(year=first.year + 1)
    return None, None


def award_birthdays(session: Session, today: date | None = None) -> int:
    """Give today's birthday bonuses (once a year per member); returns how many were given.

    All in the caller's transaction; `trofast program birthdays` runs `BIRTHDAYS` in batches."""
    now = utc_now()
    today = today or now.date()
    return _award_birthdays(session, _born_on(session, today), today, now)


def _born_on(session: Session, today: date) -> list[int]:
    days = [today.day]
    # Members born on 29 February celebrate on 28 February in other years.
    if today.month == 2 and today.day == 28 and not calendar.isleap(today.year):
        days.append(29)
    return repository.birthday_members(session, today.month, days)


def _award_birthdays(
    session: Session, customer_ids: Sequence[int], today: date, now: datetime
) -> int:
    program = active(session)
    if program is None:
        return 0
    rules: list[BirthdayRule] = program.programme.rules_of("birthday")
    given = 0
    for customer_id in sorted(customer_ids):
        customer = repository.customer(session, customer_id)
        # None: merged into another customer since the job listed it (only customers without
        # loyalty history are merged away, so there is nothing to give).
        if customer is None or not is_member(program.programme, customer):
            continue
        for rule in rules:
            key = f"birthday:{rule.id}:{customer_id}:{today.year}"
            entry = ledger.earn(
                session,
                customer_id,
                key,
                rule.points,
                reasons=Reasons(None, None, program.version, rule.id),
                now=now,
            )
            given += 0 if entry.replayed else 1
    return given


# The job's day is the UTC date of its run, as for `award_birthdays` without `today`.
BIRTHDAYS = Job(
    "birthdays",
    lambda session, now: _born_on(session, now.date()),
    lambda session, customer_ids, now: _award_birthdays(session, customer_ids, now.date(), now),
)
