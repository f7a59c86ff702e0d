"""Rules of the programme state machine that spend points and give them back.

Raw spends, rewards from the catalogue and their cancellation, points as payment and its
release (see test_state_machine.py for the clocks), and the reward coupons at checkout:

A reward's coupon is redeemed against a checkout order (`coupons.redeem`, behind
`POST /v1/coupons/redeem`) and that order is cancelled (`coupons.release`, behind
`POST /v1/coupons/release`). The programme says what comes back: under
`released_reward: coupon` (version 1) the code is usable again and the redemption can still
be cancelled; under `points` (version 2) the coupon is disabled and the redemption
cancelled, its points restored to new lots with the original expiry. The release runs at the
real clock (the shop calls it when the order is cancelled), so it expires nothing. Releasing
again changes nothing; an order that redeemed nothing has nothing to release. Orders that
arrive through ingestion carry codes too (`machine_orders.py`): an order is named by its
source and reference, `web` for the checkout's, `api` for the ingested ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.ledger.model import Lot
from tests.program.model import Club, Customer
from trofast.coupon import service as coupons
from trofast.coupon.discounts import Cart, CartLine
from trofast.coupon.errors import RedemptionNotFound, RedemptionReleased
from trofast.errors import AppError
from trofast.ledger import service as ledger
from trofast.ledger.errors import InsufficientPoints
from trofast.models import Coupon, CouponRedemption, RewardRedemption
from trofast.reward import payments
from trofast.reward import service as rewards
from trofast.reward.errors import RedemptionUsed

COST = 300  # the gift reward's cost in points
VOUCHER_MINOR = 5000  # its amount_minor
VALID_DAYS = 30  # its coupon_valid_days
SPENDING = f"""
rewards:
  - {{id: gift, name: Gift card, kind: fixed_amount, cost: {COST}, amount_minor: {VOUCHER_MINOR},
      coupon_valid_days: {VALID_DAYS}}}
points_payment: {{value_minor: 10, min_points: 1}}
"""
SOURCE = "web"
OrderKey = tuple[str, str]  # (order source, order reference), as a coupon redemption names it

# (kind, member, reference, what the debit took from each model lot): a reward redemption or
# a points payment not yet given back.
Spent = tuple[str, Customer, Any, list[tuple[Lot, int]]]


@dataclass
class Voucher:
    """A reward's coupon: owned by the member, one use, valid `VALID_DAYS`."""

    member: Customer
    redemption_id: int
    coupon_id: int
    code: str
    valid_until: datetime
    order: OrderKey | None = None  # the order holding its one use
    # Why the redemption was cancelled (its coupon is disabled then), None while it stands.
    cancelled: str | None = None


class SpendingRules:
    """The rules; the machine holds the state they name."""

    session: Session
    now: datetime
    club: Club
    seq: int
    spent: list[Spent]
    restored: dict[int, Any]  # id of a restored model lot → its sort position
    vouchers: dict[int, Voucher]  # by redemption id
    released: dict[OrderKey, Voucher]  # order → the voucher whose use it released

    # A member with points, and around what the model says is affordable, so that both
    # outcomes happen often.
    @precondition(lambda self: any(map(self._affordable, self.club.members)))
    @rule(data=st.data())
    def redeem(self, data: st.DataObject) -> None:
        member = data.draw(st.sampled_from([m for m in self.club.members if self._affordable(m)]))
        affordable = self._affordable(member)
        points = data.draw(st.integers(1, affordable + 100))
        self.seq += 1
        try:
            with self.session.begin_nested():
                ledger.spend(self.session, member.id, f"redeem:{self.seq}", points, now=self.now)
        except InsufficientPoints:
            assert points > affordable
            return
        assert points <= affordable
        member.expire(self.now)
        assert member.take(member.spendable(self.now), points) == 0

    @precondition(lambda self: any(map(self._affordable, self.club.members)))
    @rule(data=st.data())
    def redeem_reward(self, data: st.DataObject) -> None:
        # Mostly a member who can afford it, so that coupons exist for the checkout rules.
        rich = [m for m in self.club.members if self._affordable(m) >= COST]
        anyone = data.draw(st.integers(0, 3).map(lambda n: n == 3))
        self._redeem_reward(
            data.draw(st.sampled_from(self.club.members if anyone or not rich else rich))
        )

    def _redeem_reward(self, member: Customer) -> None:
        affordable = self._affordable(member)
        self.seq += 1
        try:
            with self.session.begin_nested():
                done = rewards.redeem(
                    self.session, member.id, "gift", f"reward:{self.seq}", now=self.now
                )
        except InsufficientPoints:
            assert affordable < COST
            return
        assert affordable >= COST
        self.spent.append(("reward", member, done.redemption.id, self._take(member, COST)))
        assert done.coupon is not None
        self._voucher_issued(member, done.redemption.id, done.coupon)

    @precondition(lambda self: any(map(self._affordable, self.club.members)))
    @rule(data=st.data())
    def pay_with_points(self, data: st.DataObject) -> None:
        member = data.draw(st.sampled_from(self.club.members))
        affordable = self._affordable(member)
        points = data.draw(st.integers(1, affordable + 50))
        self.seq += 1
        order = payments.OrderRef("pos", f"till-{self.seq}")
        try:
            with self.session.begin_nested():
                payments.pay(
                    self.session, member.id, order, order_total_minor=10**9, currency="NOK",
                    channel="store", points=points, now=self.now,
                )  # fmt: skip
        except InsufficientPoints:
            assert points > affordable
            return
        assert points <= affordable
        self.spent.append(("payment", member, order, self._take(member, points)))

    @precondition(lambda self: self.spent)
    @rule(data=st.data())
    def give_back(self, data: st.DataObject) -> None:
        """Cancel a redemption or release a points payment: new lots, original expiry."""
        kind, member, ref, takes = data.draw(st.sampled_from(self.spent))
        if kind == "reward" and self.vouchers[ref].order is not None:
            # Its coupon holds an order's use: the points are not given back twice.
            with pytest.raises(RedemptionUsed), self.session.begin_nested():
                rewards.cancel(self.session, member.id, ref, now=self.now)
            return
        self.spent.remove((kind, member, ref, takes))
        with self.session.begin_nested():
            if kind == "reward":
                rewards.cancel(self.session, member.id, ref, now=self.now)
                self.vouchers[ref].cancelled = "member"
            else:
                payments.release(self.session, ref, now=self.now)
        self._restore(member, takes, self.now)

    def _restore(self, member: Customer, takes: list[tuple[Lot, int]], at: datetime) -> None:
        """`ledger.restore` of a debit at `at`: it expires what is due before and after."""
        member.expire(at)
        for lot, points in takes:
            # The expiry and earning time of the lot it came from; the ledger breaks ties by
            # lot id, so it is spent after every lot earned at that same moment and before
            # lots earned later.
            end = self._batch_end(member, lot)
            back = Lot(end, points, points, "available", lot.earned_at, at, lot.expires_at, 0)
            self.restored[id(back)] = end
            member.lots.append(back)
            member.credit(back)
        member.expire(at)

    def _batch_end(self, member: Customer, lot: Lot) -> Any:
        if id(lot) in self.restored:
            return self.restored[id(lot)]
        return max(
            other.seq for other in member.lots
            if id(other) not in self.restored and other.earned_at == lot.earned_at
        ) + 0.5  # fmt: skip

    def _take(self, member: Customer, points: int) -> list[tuple[Lot, int]]:
        member.expire(self.now)
        takes = []
        for lot in member.spendable(self.now):
            n = min(lot.remaining, points)
            if n:
                lot.remaining -= n
                points -= n
                takes.append((lot, n))
        assert points == 0
        return takes

    def _affordable(self, member: Customer) -> int:
        return sum(lot.remaining for lot in member.spendable(self.now))

    # --- reward coupons at checkout -------------------------------------------------------

    def _voucher_issued(self, member: Customer, redemption_id: int, coupon: Coupon) -> None:
        valid_until = self.now + timedelta(days=VALID_DAYS)
        self.vouchers[redemption_id] = Voucher(
            member, redemption_id, coupon.id, coupon.code, valid_until
        )

    def _refusal(self, voucher: Voucher, customer: Customer, at: datetime) -> str | None:
        """Why the coupon cannot be used by `customer` at `at`, as `coupon.rules` says."""
        if voucher.cancelled or customer is not voucher.member:
            return "unknown_or_invalid"  # a disabled code and someone else's look unknown
        if at >= voucher.valid_until:
            return "expired"
        if voucher.order is not None:
            return "already_used"
        return None

    @precondition(lambda self: self.vouchers)
    @rule(
        data=st.data(),
        subtotal=st.integers(100, 2 * VOUCHER_MINOR),
        # One time in five by another member, who must not learn the code exists.
        stranger=st.integers(0, 4).map(lambda n: n == 4),
    )
    def use_voucher(self, data: st.DataObject, subtotal: int, stranger: bool) -> None:
        voucher = data.draw(st.sampled_from(list(self.vouchers.values())))
        customer = voucher.member
        others = [m for m in self.club.members if m is not voucher.member]
        if stranger and others:
            customer = data.draw(st.sampled_from(others))
        self.seq += 1
        order = f"chk-{self.seq}"
        cart = Cart("NOK", "web", [CartLine("SKU-1", "other", 1, subtotal)], 0)
        expected = self._refusal(voucher, customer, self.now)
        if expected is not None:
            with pytest.raises(AppError) as refused, self.session.begin_nested():
                self._redeem(voucher, customer, (SOURCE, order), cart)
            assert refused.value.code == expected
            return
        done = self._redeem(voucher, customer, (SOURCE, order), cart)
        # Never more than the goods: a voucher is not paid out as change.
        discount = min(VOUCHER_MINOR, subtotal)
        assert (done.replayed, done.coupon.uses, done.redemption.discount_minor) == (
            False,
            1,
            discount,
        )
        voucher.order = (SOURCE, order)

    def _redeem(
        self, voucher: Voucher, customer: Customer, order: OrderKey, cart: Cart
    ) -> coupons.Redeemed:
        with self.session.begin_nested():
            return coupons.redeem(
                self.session, voucher.code, cart, customer_id=customer.id,
                order_source=order[0], order_ref=order[1], at=self.now,
            )  # fmt: skip

    @precondition(lambda self: any(v.order for v in self.vouchers.values()))
    @rule(data=st.data())
    def release_voucher(self, data: st.DataObject) -> None:
        """The order was cancelled and the shop says so (`POST /v1/coupons/release`): the
        code or the points come back."""
        voucher = data.draw(st.sampled_from([v for v in self.vouchers.values() if v.order]))
        order = voucher.order
        assert order is not None
        with self.session.begin_nested():
            released = coupons.release(self.session, *order)
        assert [(r.status, c.id) for r, c in released] == [("released", voucher.coupon_id)]
        self._use_released(voucher)

    def _use_released(self, voucher: Voucher) -> None:
        """The model of a release of the voucher's use, as the programme in force says."""
        assert voucher.order is not None
        self.released[voucher.order] = voucher
        voucher.order = None
        if self.club.rules.released_reward == "points":
            spent = next(s for s in self.spent if s[::2] == ("reward", voucher.redemption_id))
            self.spent.remove(spent)
            voucher.cancelled = "order_cancelled"
            # The release runs at the real clock, which the redemption records.
            at = self.session.scalar(
                select(RewardRedemption.cancelled_at).where(
                    RewardRedemption.id == voucher.redemption_id
                )
            )
            assert at is not None
            self._restore(voucher.member, spent[3], at)

    @precondition(lambda self: self.released)
    @rule(data=st.data())
    def release_again(self, data: st.DataObject) -> None:
        """A second release, and a retried checkout of the cancelled order, change nothing."""
        order = data.draw(st.sampled_from(sorted(self.released)))
        voucher = self.released[order]
        with self.session.begin_nested():
            released = coupons.release(self.session, *order)
        assert [(r.status, c.id) for r, c in released] == [("released", voucher.coupon_id)]
        cart = Cart("NOK", "web", [CartLine("SKU-1", "other", 1, VOUCHER_MINOR)], 0)
        with pytest.raises(RedemptionReleased):
            self._redeem(voucher, voucher.member, order, cart)

    @rule()
    def release_unknown(self) -> None:
        """An order that redeemed no code has nothing to release."""
        self.seq += 1
        with pytest.raises(RedemptionNotFound), self.session.begin_nested():
            coupons.release(self.session, SOURCE, f"never-{self.seq}")

    @invariant()
    def coupons_match_the_model(self) -> None:
        if not self.vouchers:
            return
        rows = self.session.execute(
            select(
                RewardRedemption.id,
                RewardRedemption.status,
                RewardRedemption.cancel_reason,
                Coupon.uses,
                Coupon.disabled_at.is_not(None),
            )
            .join(Coupon, Coupon.id == RewardRedemption.coupon_id)
            .order_by(RewardRedemption.id)
        ).all()
        assert [tuple(r) for r in rows] == [
            (
                rid,
                "cancelled" if v.cancelled else "active",
                v.cancelled,
                int(v.order is not None),
                v.cancelled is not None,
            )
            for rid, v in sorted(self.vouchers.items())
        ]
        uses = self.session.execute(
            select(
                CouponRedemption.order_source, CouponRedemption.order_ref, CouponRedemption.status
            )
        ).all()
        held = {v.order: "active" for v in self.vouchers.values() if v.order}
        assert {(s, r): status for s, r, status in uses} == {
            **held,
            **dict.fromkeys(self.released, "released"),
        }
