"""Whether a member may have a reward now, and if not, why. Pure: no database.

The reasons are checked in a fixed order, so a member sees the first thing to fix. Stock and
limits here serve the catalogue listing; at redemption the database decides them with
conditional UPDATEs (`repository.take_stock`), never with these figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from trofast.program.catalogue import Reward
from trofast.program.document import Programme

REASONS = (
    "not_a_member",
    "not_yet_available",
    "no_longer_available",
    "tier_required",
    "out_of_stock",
    "limit_reached",
    "member_limit_reached",
    "insufficient_points",
)


@dataclass(frozen=True, slots=True)
class Standing:
    """What the member and the reward's counters look like now."""

    is_member: bool
    level_rank: int  # 0 without tiers
    balance: int | None = None  # None: not checked (the ledger decides at redemption)
    member_uses: int | None = None
    taken: int | None = None
    redeemed: int | None = None


def required_rank(programme: Programme, reward_id: str) -> int | None:
    """The lowest level that lists the reward: it and every level above may redeem it.
    None: not tier-only."""
    if programme.tiers is None:
        return None
    ranks = [i for i, level in enumerate(programme.tiers.levels) if reward_id in level.rewards]
    return min(ranks) if ranks else None


def refusal(
    reward: Reward, needed_rank: int | None, standing: Standing, at: datetime
) -> str | None:
    """The first reason the member cannot redeem `reward` at `at`, or None."""
    if not standing.is_member:
        return "not_a_member"
    if reward.available_from is not None and at < reward.available_from:
        return "not_yet_available"
    if reward.available_until is not None and at >= reward.available_until:
        return "no_longer_available"
    if needed_rank is not None and standing.level_rank < needed_rank:
        return "tier_required"
    if reward.stock is not None and standing.taken is not None and standing.taken >= reward.stock:
        return "out_of_stock"
    total = reward.limits.total
    if total is not None and standing.redeemed is not None and standing.redeemed >= total:
        return "limit_reached"
    per_member = reward.limits.per_member
    uses = standing.member_uses
    if per_member is not None and uses is not None and uses >= per_member:
        return "member_limit_reached"
    if standing.balance is not None and standing.balance < reward.cost:
        return "insufficient_points"
    return None
