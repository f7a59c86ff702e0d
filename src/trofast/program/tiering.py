"""Members' tiers: evaluate after points or spend change, review at the end of a period.

The caller holds the member's ledger lock (every ledger write takes it), so two events of
one member cannot both upgrade. Each change is a `tier_changes` row: the history, and
the `tier.changed` event later flows read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from trofast.db import Job
from trofast.kit.time import utc_now
from trofast.ledger.core import member_accounts
from trofast.models import MemberTier
from trofast.program import repository, tiers
from trofast.program.document import Level, Programme, Tiers
from trofast.program.service import Active, active


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a member stands: level, qualification value, and the next level's distance."""

    level: Level
    since: datetime | None
    review_at: datetime | None
    value: int
    next_level: Level | None
    to_next: int | None


def qualification(
    session: Session,
    programme: Programme,
    customer_id: int,
    start: datetime | None,
    end: datetime | None,
) -> int:
    """The member's value in [start, end) under the programme's tiers (which it must have)."""
    rules = programme.tiers
    assert rules is not None
    if rules.metric == "points":
        return repository.qualification_points(session, customer_id, start, end)
    spend = repository.qualification_spend(session, customer_id, start, end)
    return tiers.spend_value(rules, programme.currency, spend)


def standing(session: Session, programme: Programme, customer_id: int, now: datetime) -> Standing:
    rules = programme.tiers
    assert rules is not None
    row = repository.member_tier(session, customer_id)
    level = tiers.level_of(rules, row.level if row else None)
    value = qualification(session, programme, customer_id, tiers.period_start(rules, now), None)
    above = rules.levels[tiers.rank(rules, level) + 1 :]
    next_level = above[0] if above else None
    return Standing(
        level=level,
        since=row.since if row else None,
        review_at=row.review_at if row else None,
        value=value,
        next_level=next_level,
        to_next=max(next_level.threshold - value, 0) if next_level else None,
    )


def evaluate(
    session: Session, program: Active, customer_id: int, now: datetime, *, returned: bool = False
) -> None:
    """Upgrade at once when the current period's value reaches a higher level.

    After a return (`returned`), a level won in the current period that the value no longer
    reaches is taken back at once: the order that won it was returned. Older levels wait
    for their review, as the programme promises.
    """
    rules = program.programme.tiers
    if rules is None:
        return
    catch_up(session, program, customer_id, now)
    row = repository.member_tier(session, customer_id, locked=True)
    current = tiers.level_of(rules, row.level if row else None)
    if row is not None and not returned and current.id == rules.levels[-1].id:
        return  # at the top with nothing returned: no value can change the level
    start = tiers.period_start(rules, now)
    value = qualification(session, program.programme, customer_id, start, None)
    target = tiers.upgraded(rules, current, value)
    reason = "qualified"
    if target is None and returned and row is not None and (start is None or row.since >= start):
        fallen = tiers.qualified(rules, value)
        if tiers.rank(rules, fallen) < tiers.rank(rules, current):
            target, reason = fallen, "returned"
    if target is not None:
        _change(session, program, customer_id, row, target, value, reason, now)
    elif row is None:
        repository.save_tier(session, None, _tier_row(program, rules, customer_id, current, now))


def catch_up(session: Session, program: Active, customer_id: int, now: datetime) -> int:
    """Apply the member's reviews that fell due by `now`, every ended period in turn (each
    review moves `review_at` on); returns how many. The job does this for every due member;
    an event does it for its member first, so what it does never depends on when the job
    ran. The caller holds the member's lock; when none is due this reads only the tier row
    the event reads anyway."""
    rules = program.programme.tiers
    done = 0
    while rules is not None and _review(session, program, rules, customer_id, now):
        done += 1
    return done


def review_due(session: Session, now: datetime | None = None) -> int:
    """Apply every due review (downgrades at the end of a period); returns reviews done.

    All in the caller's transaction; `trofast program review-tiers` runs `REVIEW` in batches."""
    return REVIEW.run_all(session, now or utc_now())


def review_members(session: Session, customer_ids: Sequence[int], now: datetime) -> int:
    """Review these members: every period of theirs that has ended by `now`, oldest first."""
    program = active(session)
    if program is None or program.programme.tiers is None:
        return 0
    done = 0
    for customer_id in sorted(customer_ids):
        # The member's lock, as for every tier change; ascending ids, as every job locks.
        member_accounts(session, customer_id, now)
        done += catch_up(session, program, customer_id, now)
    return done


def _due(session: Session, now: datetime) -> list[int]:
    program = active(session)
    if program is None or program.programme.tiers is None:
        return []
    return repository.due_reviews(session, now)


REVIEW = Job("review-tiers", _due, review_members)


def _review(
    session: Session, program: Active, rules: Tiers, customer_id: int, now: datetime
) -> bool:
    """One due review of the member (locked by the caller); False when none is due."""
    row = repository.member_tier(session, customer_id, locked=True)
    if row is None or row.review_at is None or row.review_at > now:
        return False
    current = tiers.level_of(rules, row.level)
    ended_at = row.review_at
    started_at = _period_before(rules, ended_at)
    value = qualification(session, program.programme, customer_id, started_at, ended_at)
    kept = tiers.reviewed(rules, current, value)
    if kept.id != current.id:
        _change(session, program, customer_id, row, kept, value, "review", ended_at)
    else:
        repository.save_tier(
            session,
            row,
            {
                "customer_id": customer_id,
                # The next period's end, even when it is already past (the job missed it):
                # the caller reviews the member again, so every ended period is reviewed.
                "review_at": tiers.next_review(rules, ended_at),
                "updated_at": now,
            },
        )
    return True


def _period_before(rules: Tiers, end: datetime) -> datetime | None:
    """Start of the period that ends at `end` (a calendar year ends on the next 1 January)."""
    if rules.period == "calendar_year":
        return tiers.period_start(rules, end - timedelta(microseconds=1))
    return tiers.period_start(rules, end)


def _change(
    session: Session,
    program: Active,
    customer_id: int,
    row: MemberTier | None,
    new: Level,
    value: int,
    reason: str,
    at: datetime,
) -> None:
    rules = program.programme.tiers
    assert rules is not None
    old = row.level if row else None
    old_rank = tiers.rank(rules, tiers.level_of(rules, old))
    repository.save_tier(session, row, _tier_row(program, rules, customer_id, new, at))
    repository.add_tier_change(
        session,
        {
            "customer_id": customer_id,
            "from_level": old,
            "to_level": new.id,
            "direction": "up" if tiers.rank(rules, new) > old_rank else "down",
            "reason": reason,
            "value": value,
            "programme_version": program.version,
            "occurred_at": at,
        },
    )


def _tier_row(
    program: Active, rules: Tiers, customer_id: int, level: Level, at: datetime
) -> dict[str, object]:
    return {
        "customer_id": customer_id,
        "level": level.id,
        "since": at,
        # The base level has nothing to lose, so it is never reviewed.
        "review_at": None if level.id == rules.levels[0].id else tiers.next_review(rules, at),
        "programme_version": program.version,
        "updated_at": at,
    }
