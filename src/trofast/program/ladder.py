"""The member's ladder: balance, tier, progress to the next tier, recent tier changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from trofast.kit.time import utc_now
from trofast.ledger import queries
from trofast.ledger.schemas import BalanceOut
from trofast.program import repository, tiering, tiers
from trofast.program.document import Level
from trofast.program.schemas import LevelOut, MemberOut, TierChangeOut, TierOut
from trofast.program.service import Active, active, is_member


def member(session: Session, customer_id: int, now: datetime | None = None) -> MemberOut:
    now = now or utc_now()
    balance = queries.balance_summary(session, customer_id, now)  # 404 for an unknown member
    customer = repository.customer(session, customer_id)
    assert customer is not None
    program = active(session)
    tier = None
    rules = program.programme.tiers if program else None
    if program is not None and rules is not None:
        standing = tiering.standing(session, program.programme, customer_id, now)
        tier = TierOut(
            level=_level(standing.level),
            since=standing.since,
            review_at=standing.review_at,
            metric=rules.metric,
            period=rules.period,
            # The programme's currency, which `value` and `to_next` are in on spend.
            currency=program.programme.currency if rules.metric == "spend" else None,
            value=standing.value,
            next_level=_level(standing.next_level) if standing.next_level else None,
            to_next=standing.to_next,
        )
    return MemberOut(
        customer_id=customer_id,
        # Under automatic enrolment every customer is a member, flag or not.
        is_member=is_member(program.programme, customer) if program else customer.is_member,
        enrolled_at=customer.enrolled_at,
        balance=BalanceOut.build(balance),
        tier=tier,
        tier_history=[
            TierChangeOut.build(row) for row in repository.tier_history(session, customer_id, 20)
        ],
        programme_version=program.version if program else None,
    )


def _level(level: Level) -> LevelOut:
    return LevelOut(
        id=level.id,
        name=level.name,
        threshold=level.threshold,
        multiplier=str(level.multiplier),
        free_shipping=level.free_shipping,
        rewards=list(level.rewards),
    )


def current_level(session: Session, program: Active | None, customer_id: int) -> Level | None:
    """The member's level now, without the qualification sums `member` computes (the till
    asks this on every lookup); None when the programme has no tiers."""
    rules = program.programme.tiers if program else None
    if rules is None:
        return None
    row = repository.member_tier(session, customer_id)
    return tiers.level_of(rules, row.level if row else None)
