"""Rules of the programme state machine for what an ingested order spends, and its cancel.

An order that arrives through ingestion with a reward's code in `discount_codes` redeems it
(`coupon/orders.py`): at the order's placement time, for the order's customer, against its
goods without gift cards; a code Trofast refuses is logged and the order still applies.
Every later snapshot of the order tries again (a code the order could not take may have come
free), and a replayed one takes nothing twice. Points pay for an ingested order at checkout
(`payments.pay`, order `api:<id>`).

The `order.cancelled` event gives both back (see `appliers._cancelled` and `_sync`): first the
code's use, as `released_reward` says (the code usable again, or the reward cancelled and its
points restored), then the points payment (restored to new lots with the original expiry),
then the programme reverses what the order earned. Both releases run at the real clock, which
their rows record. A second `order.cancelled` for the order, under another key, changes
nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.ledger.model import Lot
from tests.program.machine_spending import VOUCHER_MINOR, OrderKey, Spent, Voucher
from tests.program.model import Club, Customer, Line, Order
from tests.program.strategies import LINES
from trofast.ledger.errors import InsufficientPoints
from trofast.models import CouponRedemption, LedgerTransaction, PointsPayment
from trofast.reward import payments

INGESTED = "api"  # the source of orders sent to the canonical events API


class OrderSpendingRules:
    """The rules; the machine holds the state they name."""

    session: Session
    now: datetime
    club: Club
    seq: int
    spent: list[Spent]
    vouchers: dict[int, Voucher]
    released: dict[OrderKey, Voucher]
    carried: dict[str, Voucher]  # ingested order → the voucher whose code it carries
    points_paid: set[str]  # ingested orders that paid with points

    # The machine's and the spending rules'.
    _ingest: Callable[[dict[str, Any]], dict[str, Any]]
    _place: Callable[..., Order]
    _synced: Callable[[Order, str], None]
    _cancel: Callable[[Order], None]
    _refusal: Callable[[Voucher, Customer, datetime], str | None]
    _use_released: Callable[[Voucher], None]
    _restore: Callable[[Customer, list[tuple[Lot, int]], datetime], None]
    _take: Callable[[Customer, int], list[tuple[Lot, int]]]
    _affordable: Callable[[Customer], int]

    @precondition(lambda self: self.vouchers)
    @rule(
        data=st.data(),
        lines=LINES,
        paid=st.booleans(),
        # One time in four any voucher (used, expired, cancelled), else a usable one: most
        # orders take their code, so that cancellations have uses to give back.
        anyone=st.integers(0, 3).map(lambda n: n == 3),
        # One time in five by another member, whose order must not take the code.
        stranger=st.integers(0, 4).map(lambda n: n == 4),
    )
    def order_with_voucher(
        self, data: st.DataObject, lines: list[Line], paid: bool, anyone: bool, stranger: bool
    ) -> None:
        soon = self.now + timedelta(minutes=1)  # when `_place` places the order
        vouchers = list(self.vouchers.values())
        usable = [v for v in vouchers if self._refusal(v, v.member, soon) is None]
        voucher = data.draw(st.sampled_from(vouchers if anyone or not usable else usable))
        m = self.club.members.index(voucher.member)
        if stranger:
            m = data.draw(st.integers(0, len(self.club.members) - 1))
        order = self._place(m, lines, paid=paid, voucher=voucher)
        taken = self.session.execute(
            select(
                CouponRedemption.coupon_id,
                CouponRedemption.order_id,
                CouponRedemption.discount_minor,
            ).where(
                CouponRedemption.order_source == INGESTED,
                CouponRedemption.order_ref == order.ext,
            )
        ).all()
        # The voucher takes off at most the goods: gift cards are money, not goods.
        expected = (voucher.coupon_id, order.db_id, min(VOUCHER_MINOR, order.merchandise))
        assert [tuple(r) for r in taken] == (
            [expected] if voucher.order == (INGESTED, order.ext) else []
        )

    def _codes_applied(self, order: Order) -> None:
        """A snapshot of `order` was applied: its code is redeemed, or released if cancelled.

        Called before the programme's model follows the event, as `coupon/orders.py` runs
        before the engine."""
        voucher = self.carried.get(order.ext)
        key = (INGESTED, order.ext)
        if voucher is None or voucher.order == key or key in self.released:
            return  # no code, a replay, or a use released for good
        if order.cancelled_at is None:
            member = self.club.members[order.member]
            if self._refusal(voucher, member, order.placed_at) is None:
                voucher.order = key

    def _order_cancelled(self, order: Order) -> None:
        """`order.cancelled` was applied: the code's use, then the points payment, come back."""
        voucher = self.carried.get(order.ext)
        if voucher is not None and voucher.order == (INGESTED, order.ext):
            self._use_released(voucher)
        ref = payments.OrderRef(INGESTED, order.ext)
        spent = next((s for s in self.spent if s[0] == "payment" and s[2] == ref), None)
        if spent is None:
            return  # paid nothing with points, or given back already
        self.spent.remove(spent)
        at = self.session.scalar(
            select(PointsPayment.released_at).where(
                PointsPayment.order_source == INGESTED, PointsPayment.order_ref == order.ext
            )
        )
        assert at is not None
        self._restore(spent[1], spent[3], at)

    def _payable(self) -> list[Order]:
        return [
            o
            for o in self.club.orders
            if o.cancelled_at is None
            and o.ext not in self.points_paid
            and self._affordable(self.club.members[o.member])
        ]

    @precondition(lambda self: self._payable())
    @rule(data=st.data())
    def pay_order_with_points(self, data: st.DataObject) -> None:
        """The member pays part of an ingested order with points; the same request again is
        a replay that takes nothing more."""
        order = data.draw(st.sampled_from(self._payable()))
        member = self.club.members[order.member]
        affordable = self._affordable(member)
        points = data.draw(st.integers(1, affordable + 50))
        ref = payments.OrderRef(INGESTED, order.ext)
        try:
            first = self._pay(member, ref, points)
        except InsufficientPoints:
            assert points > affordable
            return
        assert points <= affordable
        self.points_paid.add(order.ext)
        self.spent.append(("payment", member, ref, self._take(member, points)))
        again = self._pay(member, ref, points)
        assert (again.replayed, again.payment.id) == (True, first.payment.id)

    def _pay(self, member: Customer, ref: payments.OrderRef, points: int) -> payments.Paid:
        with self.session.begin_nested():
            return payments.pay(
                self.session, member.id, ref, order_total_minor=10**9, currency="NOK",
                channel="web", points=points, now=self.now,
            )  # fmt: skip

    def _spent_on(self) -> list[Order]:
        return [
            o
            for o in self.club.orders
            if o.cancelled_at is None and (o.ext in self.carried or o.ext in self.points_paid)
        ]

    # The machine's `cancel` picks any order; this one an order that carries a code or paid
    # with points, so that their release by the cancellation happens in most runs.
    @precondition(lambda self: self._spent_on())
    @rule(data=st.data())
    def cancel_what_it_spent(self, data: st.DataObject) -> None:
        self._cancel(data.draw(st.sampled_from(self._spent_on())))

    @precondition(lambda self: any(o.cancelled_at for o in self.club.orders))
    @rule(data=st.data())
    def cancel_again(self, data: st.DataObject) -> None:
        """The shop sends the cancellation again under another key: it applies, and nothing
        comes back twice (no new ledger transaction; the model does not move)."""
        order = data.draw(st.sampled_from([o for o in self.club.orders if o.cancelled_at]))
        written = self.session.scalar(select(func.count()).select_from(LedgerTransaction))
        self.seq += 1
        key = f"cancel-again:{self.seq}"
        result = self._ingest(
            {
                "idempotency_key": key,
                "type": "order.cancelled",
                "occurred_at": self.now.isoformat(),
                "order_id": order.ext,
            }
        )
        assert (result["status"], result["order_id"]) == ("applied", order.db_id)
        assert self.session.scalar(select(func.count()).select_from(LedgerTransaction)) == written
        self._synced(order, key)
