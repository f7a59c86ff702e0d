"""Members' tiers over a replayed history: one sequential pass, member by member.

It replays what `tiering` does live, with the order's payment time as "now":

- an order earns at the tier the member holds when it is paid (its tier multiplier);
- then the qualification value of the current period (points earned, tier points included,
  or spend; `tiers.period_start`) is compared with the next threshold: upgrade at once
  (`tiers.upgraded`), held from the order's time and reviewed at `tiers.next_review`;
- at a review, the value of the period that ended (`[start, review)`) keeps the highest level
  at most the current one whose `retain` it reached (`tiers.reviewed`); the base level is never
  reviewed. Reviews between a member's orders and after the last one (up to the end of the
  history) are applied in time order.

The value of a member's window is a difference of prefix sums over the member's orders seen
so far (on spend, one per currency, converted as `tiers.spend_value` does), so the pass is
O(orders + reviews). The per-order loop is plain Python over lists:
the tier multiplier makes an order's points depend on the tier, which depends on earlier
points, so the recurrence cannot be vectorised for the points metric (bench: ~1 µs/order).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from trofast.program import tiers as policy
from trofast.program.document import Tiers
from trofast.program.expiry import add_months

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHANGE_SCHEMA: dict[str, pl.DataType] = {
    "member": pl.Int64(),  # index into the sorted orders' member codes
    "at": pl.Int64(),  # µs since the epoch, UTC
    "from_level": pl.Int64(),  # rank; -1 for "not a member yet"
    "to_level": pl.Int64(),
    "reason": pl.String(),  # joined, qualified, review
    "value": pl.Int64(),
}


@dataclass(frozen=True)
class TierRun:
    """Per order (in the input's order): its tier-multiplier points and the level's rank."""

    tier_points: np.ndarray
    level: np.ndarray
    changes: pl.DataFrame  # CHANGE_SCHEMA: joins, upgrades and downgrades


def to_us(at: datetime) -> int:
    return (at - EPOCH) // timedelta(microseconds=1)


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def window_starts(tiers: Tiers, at: pl.Expr) -> pl.Expr:
    """`tiers.period_start` vectorised (µs); 0 for lifetime (no order is before 1970)."""
    if tiers.period == "calendar_year":
        return at.dt.truncate("1y").dt.epoch("us")
    if tiers.period == "rolling_12_months":
        # offset_by clamps the day to the month's length, as `expiry.add_months` does.
        return at.dt.offset_by("-12mo").dt.epoch("us")
    return pl.lit(0, pl.Int64)


def simulate(
    tiers: Tiers,
    member: np.ndarray,
    paid_us: np.ndarray,
    start_us: np.ndarray,
    base: np.ndarray,
    spend: np.ndarray,
    spend_code: np.ndarray,
    spend_factors: list[tuple[int, int]],
    tier_points: dict[int, np.ndarray],
    end_us: int,
) -> TierRun:
    """Orders sorted by member then time; `tier_points[rank]`: what each order would get at
    that level's multiplier (levels without one are absent). `spend` is in minor units of
    the order's currency, `spend_code` that currency's index in `spend_factors` (its exact
    conversion, `tiers.spend_factors`; -1: not counted)."""
    n = len(member)
    levels = tiers.levels
    thresholds = [level.threshold for level in levels]
    top = len(levels) - 1
    by_points = tiers.metric == "points"
    reviewed = tiers.period != "lifetime"
    members, times, starts = member.tolist(), paid_us.tolist(), start_us.tolist()
    bases, spends, codes = base.tolist(), spend.tolist(), spend_code.tolist()
    factors = [(1, 1)] if by_points else spend_factors
    extra = [tier_points[r].tolist() if r in tier_points else None for r in range(len(levels))]
    out_points = [0] * n
    out_level = [0] * n
    changes: list[tuple[int, int, int, int, str, int]] = []
    reviewer = _Reviewer(tiers)

    k = 0
    while k < n:
        who = members[k]
        changes.append((who, times[k], -1, 0, "joined", 0))
        level, review = 0, -1  # -1: no review scheduled
        seen: list[int] = []
        sums = _Sums(factors)
        lo = 0
        while k < n and members[k] == who:
            t = times[k]
            while review >= 0 and review <= t:
                level, review = reviewer.review(who, level, review, seen, sums, changes)
            column = extra[level]
            points = column[k] if column is not None else 0
            out_points[k] = points
            out_level[k] = level
            seen.append(t)
            if by_points:
                sums.add(0, bases[k] + points)
            else:
                sums.add(codes[k], spends[k])
            start = starts[k]
            while seen[lo] < start:
                lo += 1
            value = sums.value(lo, len(seen))
            if level < top and value >= thresholds[level + 1]:
                target = policy.upgraded(tiers, levels[level], value)
                assert target is not None
                new = reviewer.ranks[target.id]
                changes.append((who, t, level, new, "qualified", value))
                level = new
                review = reviewer.next_review(t) if reviewed else -1
            k += 1
        while 0 <= review < end_us:
            level, review = reviewer.review(who, level, review, seen, sums, changes)

    frame = pl.DataFrame(changes, schema=CHANGE_SCHEMA, orient="row")
    return TierRun(
        tier_points=np.asarray(out_points, dtype=np.int64),
        level=np.asarray(out_level, dtype=np.int64),
        changes=frame,
    )


class _Sums:
    """A member's orders so far as prefix sums, one per counted currency: the value of any
    run of them is a difference of two prefixes per currency, each converted exactly."""

    def __init__(self, factors: list[tuple[int, int]]) -> None:
        self.factors = factors
        self.prefix: list[list[int]] = [[0] for _ in factors]

    def add(self, code: int, amount: int) -> None:
        for c, prefix in enumerate(self.prefix):
            prefix.append(prefix[-1] + amount if c == code else prefix[-1])

    def value(self, lo: int, hi: int) -> int:
        """The value of orders lo..hi-1 (in the order they were added)."""
        total = 0
        for (numerator, denominator), prefix in zip(self.factors, self.prefix, strict=True):
            total += (prefix[hi] - prefix[lo]) * numerator // denominator
        return total


class _Reviewer:
    """Reviews are rare next to orders, so they use the policy's datetime functions as is."""

    def __init__(self, tiers: Tiers) -> None:
        self.tiers = tiers
        self.ranks = {level.id: i for i, level in enumerate(tiers.levels)}  # `policy.rank`, O(1)

    def next_review(self, at_us: int) -> int:
        nxt = policy.next_review(self.tiers, from_us(at_us))
        return -1 if nxt is None else to_us(nxt)

    def review(
        self,
        who: int,
        level: int,
        at_us: int,
        seen: list[int],
        sums: _Sums,
        changes: list[tuple[int, int, int, int, str, int]],
    ) -> tuple[int, int]:
        """Apply the review due at `at_us`; returns the level kept and the next review."""
        at = from_us(at_us)
        # The period that ends at the review: a calendar year ends on the next 1 January.
        if self.tiers.period == "calendar_year":
            start = datetime(at.year - 1, 1, 1, tzinfo=UTC)
        else:
            start = add_months(at, -12)
        value = sums.value(bisect_left(seen, to_us(start)), bisect_left(seen, at_us))
        kept = self.ranks[policy.reviewed(self.tiers, self.tiers.levels[level], value).id]
        if kept != level:
            changes.append((who, at_us, level, kept, "review", value))
        return kept, (self.next_review(at_us) if kept > 0 else -1)
