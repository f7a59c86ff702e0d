"""Redeeming rewards: points out, a coupon (or a fulfilment) in, in one transaction.

`redeem` claims the member's idempotency key first (a UNIQUE row), then debits the points
through the ledger (which locks the member: the balance cannot go below zero, however many
redemptions race), then takes the member's use and a unit of stock with conditional UPDATEs,
then issues what the reward's kind issues. Any refusal raises and the unit of work rolls
everything back, the claimed key included. Services only flush.

Cancelling gives the points back through `ledger.restore` (new lots, original expiry) and
puts the unit back in stock; it is refused once the coupon has been used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from trofast.coupon import origins
from trofast.coupon import service as coupons
from trofast.kit.time import utc_now
from trofast.ledger import queries as ledger_queries
from trofast.ledger import service as ledger
from trofast.ledger.core import Reasons, request_hash
from trofast.ledger.errors import IdempotencyConflict, MemberNotFound
from trofast.models import Coupon, CouponRedemption, RewardRedemption
from trofast.program import repository as programmes
from trofast.program import tiers
from trofast.program.catalogue import Reward
from trofast.program.service import Active, active, require_active
from trofast.reward import eligibility, kinds, repository
from trofast.reward.errors import (
    NotCustomReward,
    RedemptionFulfilled,
    RedemptionNotFound,
    RedemptionUsed,
    RewardNotFound,
    RewardUnavailable,
)


@dataclass(frozen=True)
class Redeemed:
    redemption: RewardRedemption
    coupon: Coupon | None
    replayed: bool


@dataclass(frozen=True)
class Offer:
    """A reward of the catalogue as one member sees it now."""

    reward: Reward
    reason: str | None  # None: the member can redeem it now
    points_missing: int


def _standing(session: Session, program: Active, customer_id: int) -> eligibility.Standing:
    customer = programmes.customer(session, customer_id)
    if customer is None:
        raise MemberNotFound(f"no customer {customer_id}", detail={"customer_id": customer_id})
    rank = 0
    if program.programme.tiers is not None:
        row = programmes.member_tier(session, customer_id)
        level = tiers.level_of(program.programme.tiers, row.level if row else None)
        rank = tiers.rank(program.programme.tiers, level)
    member = program.programme.enrolment == "automatic" or customer.is_member
    return eligibility.Standing(is_member=member, level_rank=rank)


def redeem(
    session: Session,
    customer_id: int,
    reward_id: str,
    key: str,
    *,
    api_key_id: int | None = None,
    now: datetime | None = None,
) -> Redeemed:
    """Exchange the reward's cost in points for the reward; the same key again is a replay."""
    now = now or utc_now()
    program = require_active(session)
    reward = program.programme.reward(reward_id)
    if reward is None:
        raise RewardNotFound(f"the programme has no reward {reward_id!r}")
    standing = _standing(session, program, customer_id)
    digest = request_hash({"reward_id": reward_id})
    new_id = repository.claim_redemption(
        session,
        {
            "customer_id": customer_id,
            "idempotency_key": key,
            "request_hash": digest,
            "reward_id": reward.id,
            "reward_name": reward.name,
            "kind": reward.kind,
            "programme_version": program.version,
            "cost": reward.cost,
            "status": "active",
            "api_key_id": api_key_id,
            "created_at": now,
        },
    )
    if new_id is None:
        return _replay(session, customer_id, key, digest)
    reason = eligibility.refusal(
        reward, eligibility.required_rank(program.programme, reward.id), standing, now
    )
    if reason is not None:
        raise RewardUnavailable(f"this reward cannot be redeemed: {reason}", code=reason)
    entry = ledger.spend(
        session,
        customer_id,
        f"reward_redemption:{new_id}",
        reward.cost,
        reasons=Reasons(programme_version=program.version, rule=f"reward:{reward.id}"),
        now=now,
    )
    # After the member's lock (taken by the spend), in the documented order.
    if not repository.take_member_use(session, reward.id, customer_id, reward.limits.per_member):
        raise RewardUnavailable(
            "the member holds this reward as often as allowed", code="member_limit_reached"
        )
    if not repository.take_stock(session, reward.id, reward.stock, reward.limits.total):
        taken = repository.stock(session, [reward.id]).get(reward.id, (0, 0))[0]
        sold_out = reward.stock is not None and taken >= reward.stock
        reason = "out_of_stock" if sold_out else "limit_reached"
        raise RewardUnavailable(f"this reward cannot be redeemed: {reason}", code=reason)
    row = repository.redemption(session, new_id)
    assert row is not None
    row.ledger_transaction_id = entry.transaction_id
    issued = kinds.issue(session, reward, row, program.programme.currency, now)
    row.coupon_id = issued.coupon.id if issued.coupon is not None else None
    row.fulfilment = issued.fulfilment
    session.flush()
    return Redeemed(row, issued.coupon, replayed=False)


def _replay(session: Session, customer_id: int, key: str, digest: str) -> Redeemed:
    first = repository.redemption_by_key(session, customer_id, key)
    assert first is not None
    if first.request_hash != digest:
        raise IdempotencyConflict(
            "this idempotency key was used for a different redemption",
            detail={"idempotency_key": key, "redemption_id": first.id},
        )
    return Redeemed(first, coupon_of(session, first), replayed=True)


def coupon_of(session: Session, row: RewardRedemption) -> Coupon | None:
    return coupons.get(session, row.coupon_id) if row.coupon_id is not None else None


def get(session: Session, customer_id: int, redemption_id: int) -> RewardRedemption:
    row = repository.redemption(session, redemption_id)
    if row is None or row.customer_id != customer_id:
        raise RedemptionNotFound(f"member {customer_id} has no redemption {redemption_id}")
    return row


def history(
    session: Session, customer_id: int, *, before_id: int | None = None, limit: int = 50
) -> list[tuple[RewardRedemption, Coupon | None]]:
    """Newest first, each with its coupon."""
    if programmes.customer(session, customer_id) is None:
        raise MemberNotFound(f"no customer {customer_id}", detail={"customer_id": customer_id})
    rows = repository.redemptions_of(session, customer_id, before_id, limit)
    return [(row, coupon_of(session, row)) for row in rows]


def cancel(
    session: Session,
    customer_id: int,
    redemption_id: int,
    *,
    reason: str = "member",
    now: datetime | None = None,
) -> RewardRedemption:
    """Return the points of an unused redemption and disable its coupon; idempotent."""
    now = now or utc_now()
    row = get(session, customer_id, redemption_id)
    if row.status == "cancelled":
        return row
    # The coupon row first (see the lock order in `repository`): a checkout taking its use
    # at this moment either wins, and the cancellation is refused, or finds it disabled.
    if row.coupon_id is not None and not coupons.disable_unused(session, row.coupon_id):
        raise RedemptionUsed("the reward's coupon has been used; it can no longer be cancelled")
    _give_back(session, row, reason, now)
    return row


def fulfil(
    session: Session, redemption_id: int, status: str, *, now: datetime | None = None
) -> RewardRedemption:
    """Move a custom reward's fulfilment: `fulfilled`, or `cancelled` (the points return)."""
    now = now or utc_now()
    row = repository.redemption(session, redemption_id)
    if row is None:
        raise RedemptionNotFound(f"no redemption {redemption_id}")
    if row.kind != "custom":
        raise NotCustomReward("only custom rewards have a fulfilment; cancel coupon rewards")
    if status == "cancelled":
        if row.fulfilment != "cancelled":
            _give_back(session, row, "fulfilment_cancelled", now)
        return row
    if row.fulfilment != "fulfilled" and not repository.mark_fulfilled(session, row.id, now):
        session.refresh(row)
        raise RedemptionFulfilled(
            f"this redemption is {row.fulfilment or row.status}; it cannot be fulfilled"
        )
    session.refresh(row)
    return row


def _give_back(session: Session, row: RewardRedemption, reason: str, now: datetime) -> None:
    """Cancel the redemption, restore its points, give its unit and place back."""
    if not repository.mark_cancelled(session, row.id, reason, now):
        session.refresh(row)
        if row.status == "cancelled":
            return  # a concurrent cancellation did it
        raise RedemptionFulfilled("the reward has been handed over; it can no longer be cancelled")
    assert row.ledger_transaction_id is not None
    entry = ledger.restore(
        session,
        row.customer_id,
        f"reward_redemption:{row.id}:restore",
        row.ledger_transaction_id,
        reasons=Reasons(programme_version=row.programme_version, rule=f"reward:{row.reward_id}"),
        now=now,
    )
    repository.give_back(session, row.reward_id, row.customer_id)
    session.refresh(row)
    row.restore_transaction_id = entry.transaction_id
    session.flush()


def offers(session: Session, customer_id: int, *, now: datetime | None = None) -> list[Offer]:
    """Every reward of the programme in force, with why the member cannot redeem it (if so)."""
    now = now or utc_now()
    program = active(session)
    if program is None:
        if programmes.customer(session, customer_id) is None:
            raise MemberNotFound(f"no customer {customer_id}", detail={"customer_id": customer_id})
        return []
    standing = _standing(session, program, customer_id)
    _, balance = ledger_queries.pending_and_available(session, customer_id)
    return offers_for(session, program, customer_id, standing, balance, now)


def offers_for(
    session: Session,
    program: Active,
    customer_id: int,
    standing: eligibility.Standing,
    balance: int,
    now: datetime,
) -> list[Offer]:
    """`offers` for a caller that has already read the member's standing and available
    balance in this unit of work (the till's lookup shows both beside the rewards)."""
    rewards = program.programme.rewards
    ids = [r.id for r in rewards]
    counters = repository.stock(session, ids)
    uses = repository.member_uses(session, customer_id, ids)
    result = []
    for reward in rewards:
        taken, redeemed = counters.get(reward.id, (0, 0))
        seen = eligibility.Standing(
            is_member=standing.is_member,
            level_rank=standing.level_rank,
            balance=balance,
            member_uses=uses.get(reward.id, 0),
            taken=taken,
            redeemed=redeemed,
        )
        needed = eligibility.required_rank(program.programme, reward.id)
        reason = eligibility.refusal(reward, needed, seen, now)
        result.append(Offer(reward, reason, max(reward.cost - balance, 0)))
    return result


@origins.on_release("reward_redemption")
def _coupon_released(session: Session, coupon: Coupon, _use: CouponRedemption) -> None:
    """The order that used a reward coupon was cancelled: the programme says what returns.

    `returns.released_reward: coupon` (the default): nothing more, the code is usable again.
    `points`: the coupon is disabled and the redemption cancelled, returning its points.
    """
    program = active(session)
    if program is None or program.programme.returns.released_reward == "coupon":
        return
    row = repository.redemption_of_coupon(session, coupon.id)
    if row is None or row.status == "cancelled":
        return
    coupons.disable(session, coupon.id)
    _give_back(session, row, "order_cancelled", utc_now())
