"""A plain model of referrals for the programme state machine, from docs/programme.md.

- A customer who arrives with a member's code is referred once, by the first code: a new
  customer is `pending` and gets the welcome points at once (available, expiring like any
  lot earned then); a customer already known, or the member's own code, is `blocked` and
  gets nothing. A second code changes nothing.
- The first paid, not cancelled order of a pending friend that an event is applied to is
  the first order. Cancelled or refunded before the referrer is rewarded: `blocked`, and
  nobody is rewarded (the welcome points stay, as the programme says today).
- When the first order's return window (from delivery, else payment) has closed, the
  referrals job rewards the referrer once with `referrer` points, available at once, counted
  for tiers at the moment the window closed; at most one rewarded referral per referrer and
  week of that moment (Monday to Sunday, UTC), the next one in that week is `blocked`.
- An admin blocks any referral not completed (`blocked_by_admin`, no longer approved), and
  approves any referral not completed whose first order was not cancelled or returned: it
  is pending again and `approved`, the friend gets the welcome points if they had none (at
  the approval's clock, from the programme in force), the friend's earliest paid, not
  cancelled order is its first order if it had none, and the weekly cap no longer applies
  (nor counts it). An approval that would end with a first order that was cancelled or
  returned is refused as a whole: nothing changes, no welcome is given.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tests.ledger.model import Lot
from tests.program.model import RETURN_WINDOW, Club, Customer, Order, expires_at

WEEKLY_CAP = 1


@dataclass
class Referral:
    referrer: int  # index in `Club.members`
    friend: int
    status: str
    reason: str | None
    welcome: int = 0  # points given to the friend
    welcome_version: int = 0  # the programme version that gave them
    first: Order | None = None
    rewarded: int = 0  # points given to the referrer
    reward_version: int = 0
    approved: bool = False  # by an admin: the weekly cap does not apply

    @property
    def due_at(self) -> datetime | None:
        if self.first is None:
            return None
        paid_at = self.first.paid_at
        assert paid_at is not None
        return (self.first.delivered_at or paid_at) + RETURN_WINDOW


def _week(at: datetime) -> date:
    day = at.date()
    return day - timedelta(days=day.weekday())


class Referrals:
    """What the referral flow should have done, beside the club's ledger model."""

    def __init__(self, club: Club) -> None:
        self.club = club
        self.all: list[Referral] = []  # in the order they were recorded (their ids)
        self.weeks: Counter[tuple[int, date]] = Counter()

    def of_friend(self, friend: int) -> Referral | None:
        return next((r for r in self.all if r.friend == friend), None)

    def arrive(self, referrer: int, friend: int, *, new: bool, engine_now: datetime) -> None:
        """`friend` came with `referrer`'s code; `new`: unknown before this event."""
        if self.of_friend(friend) is not None:
            return
        if referrer == friend:
            self.all.append(Referral(referrer, friend, "blocked", "self_referral"))
            return
        if not new:
            self.all.append(Referral(referrer, friend, "blocked", "friend_not_new"))
            return
        points, version = self.club.rules.welcome, self.club.rules.version
        self.all.append(Referral(referrer, friend, "pending", None, points, version))
        self._credit(self.club.members[friend], points, engine_now, engine_now)

    def order_changed(self, order: Order) -> None:
        """An event about `order` was applied (at the real clock, before any window closes)."""
        referral = self.of_friend(order.member)
        if referral is None or referral.status != "pending":
            return
        if referral.first is None:
            if order.paid_at is None or order.cancelled_at is not None:
                return
            referral.first = order
        if referral.first is not order:
            return
        if order.cancelled_at is not None:
            referral.status, referral.reason = "blocked", "first_order_cancelled"
        elif order.refunds:
            referral.status, referral.reason = "blocked", "first_order_returned"

    def complete_due(self, now: datetime) -> None:
        """The referrals job at `now`: reward every referral whose first order came due."""
        for referral in self.all:
            due_at = referral.due_at
            if referral.status != "pending" or due_at is None or due_at > now:
                continue
            if not referral.approved:
                week = (referral.referrer, _week(due_at))
                if self.weeks[week] >= WEEKLY_CAP:
                    referral.status, referral.reason = "blocked", "velocity_cap"
                    continue
                self.weeks[week] += 1
            self._reward(referral, now)

    def _reward(self, referral: Referral, now: datetime) -> None:
        assert referral.due_at is not None
        referral.status = "completed"
        referral.rewarded = self.club.rules.referrer
        referral.reward_version = self.club.rules.version
        referrer = self.club.members[referral.referrer]
        self._credit(referrer, referral.rewarded, now, referral.due_at)
        self.club._evaluate(referrer, now, returned=False)

    # --- an admin's decisions -----------------------------------------------------------

    def block(self, referral: Referral) -> None:
        assert referral.status != "completed"  # refused: `referral_completed`
        referral.status, referral.reason, referral.approved = "blocked", "blocked_by_admin", False

    def approval_refused(self, referral: Referral) -> str | None:
        """The error code an approval gets, or None when it is accepted."""
        if referral.status == "completed":
            return "referral_completed"
        # A referral blocked as `first_order_cancelled` or `first_order_returned` has such a
        # first order; one blocked by an admin may have one too, or its earliest paid order
        # (which the approval makes its first order) may have been refunded.
        first = referral.first or self._earliest_paid(referral.friend)
        if first is not None and (first.cancelled_at is not None or first.refunds):
            return "first_order_returned"
        return None

    def approve(self, referral: Referral, at: datetime) -> None:
        """An accepted approval at `at` (the real clock: the admin's request)."""
        assert self.approval_refused(referral) is None
        referral.status, referral.reason, referral.approved = "pending", None, True
        if not referral.welcome:
            rules = self.club.rules
            referral.welcome, referral.welcome_version = rules.welcome, rules.version
            self._credit(self.club.members[referral.friend], referral.welcome, at, at)
        referral.first = referral.first or self._earliest_paid(referral.friend)
        due_at = referral.due_at
        if due_at is not None and due_at <= at:
            self._reward(referral, at)

    def _earliest_paid(self, friend: int) -> Order | None:
        paid = [
            o
            for o in self.club.orders
            if o.member == friend and o.paid_at is not None and o.cancelled_at is None
        ]
        return min(paid, key=lambda o: o.placed_at, default=None)

    def _credit(self, member: Customer, points: int, at: datetime, effective_at: datetime) -> None:
        """Points earned at `at`, available at once, repaying debt first."""
        self.club.seq += 1
        lot = Lot(self.club.seq, points, points, "available", at, at, expires_at(at), 0)
        member.lots.append(lot)
        member.credit(lot)
        member.earned += points
        member.qualifying.append((effective_at, points))
