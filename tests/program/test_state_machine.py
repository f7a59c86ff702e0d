"""A Hypothesis state machine over the programme and the ledger, through real ingestion.

Orders (paid or not), payments, refunds by lines and by amount, cancellations, deliveries,
duplicate deliveries, a programme change, redemptions (raw spends, rewards from the
catalogue and their cancellation, points as payment and its release, reward coupons used at
checkout and released: `machine_spending.py`), ingested orders that carry a reward's code or
paid with points, cancelled once or twice (`machine_orders.py`), referrals (friends arriving
with a member's code, their first orders, the referrals job, an admin's block and approval:
`machine_referrals.py`) and time passing, in any order. After every step `verify` must find
nothing, and every balance, lot, earning, reversal, tier, coupon and referral must equal what
`tests/program/model.py`, `tests/program/referral_model.py` and `tests/ledger/model.py` say.

Two clocks: ingestion writes at the real clock, so orders are dated at or after the start
of the run (their points are pending when earned, and nothing expires while an event is
applied); the jobs (settle, expire, tier review, referrals) and redemptions run at the test
clock `now`, which only moves forward, past return windows, expiry dates and year ends. The
model reads the real clock an event was applied at from its `events` row: lots of one
expiry are spent by earning time, and a welcome lot is available from that moment.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from pydantic import TypeAdapter
from sqlalchemy import Engine, case, func, select
from sqlalchemy.orm import Session

from tests.ingest.factories import order_body, refund_body, shipment_body
from tests.ledger.model import Lot
from tests.program import model
from tests.program.machine_orders import OrderSpendingRules
from tests.program.machine_referrals import ReferralRules
from tests.program.machine_spending import COST, SPENDING, SpendingRules, Spent, Voucher
from tests.program.model import VERSIONS, Club, Customer, Line, Order
from tests.program.referral_model import Referrals
from tests.program.strategies import LINES
from trofast.ingest.schemas import CanonicalEvent
from trofast.ingest.service import apply_events
from trofast.kit.time import utc_now
from trofast.ledger import jobs, queries
from trofast.ledger import service as ledger
from trofast.ledger.verify import verify
from trofast.models import (
    Event,
    LedgerAccount,
    LedgerLot,
    LedgerPosting,
    LedgerTransaction,
    MemberTier,
)
from trofast.program import service, tiering
from trofast.referral import flow as referral_flow

MEMBERS = 2
OPENING = [0, 400, 1000]  # a member's opening balance, points
JOBS = st.lists(
    st.sampled_from(["settle", "expire", "review", "referrals"]), min_size=1, unique=True
)
JOB_OF = {
    "settle": jobs.SETTLE,
    "expire": jobs.EXPIRE,
    "review": tiering.REVIEW,
    "referrals": referral_flow.COMPLETE,
}
_EVENT: TypeAdapter[Any] = TypeAdapter(CanonicalEvent)


def _iso(at: datetime) -> str:
    return at.isoformat()


def _money(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


class ProgrammeMachine(SpendingRules, OrderSpendingRules, ReferralRules, RuleBasedStateMachine):
    engine: Engine

    def __init__(self) -> None:
        super().__init__()
        self.connection = self.engine.connect()
        self.outer = self.connection.begin()
        self.session = Session(bind=self.connection, join_transaction_mode="create_savepoint")
        self.now = utc_now().replace(microsecond=0)
        self.club = Club()
        self.sent: list[dict[str, Any]] = []
        self.seq = 0
        self.years = 0  # year ends crossed
        # Reward redemptions and points payments not yet cancelled: (kind, member, reference,
        # what the debit took from each model lot).
        self.spent: list[Spent] = []
        self.restored: dict[int, Any] = {}  # id of a restored model lot → its sort position
        self.vouchers: dict[int, Voucher] = {}
        self.released: dict[tuple[str, str], Voucher] = {}
        self.carried: dict[str, Voucher] = {}
        self.points_paid: set[str] = set()
        self.referrals = Referrals(self.club)
        self.opening: list[tuple[Any, ...]] = []  # earn rows of opening balances

    # Opening balances (points moved from an earlier programme): redemptions, coupons and
    # their release can happen from the first steps instead of only after a settled order.
    # With `vouchers`, members who can afford it start with a reward's coupon, so that orders
    # carrying one, and their cancellation, happen within 50 steps.
    @initialize(
        opening=st.lists(st.sampled_from([0, 400, 1000]), min_size=MEMBERS, max_size=MEMBERS),
        vouchers=st.booleans(),
    )
    def programme_and_members(self, opening: list[int], vouchers: bool) -> None:
        service.apply(self.session, model.V1 + SPENDING)
        for n, points in enumerate(opening):
            result = self._ingest(
                {
                    "idempotency_key": f"customer:{n}",
                    "type": "customer.upserted",
                    "occurred_at": _iso(self.now),
                    "customer": {"email": f"m{n}@example.no"},
                }
            )
            member = Customer(result["customer_id"])
            self.club.members.append(member)
            if points:
                expires = model.expires_at(self.now)
                with self.session.begin_nested():
                    ledger.earn(
                        self.session, member.id, f"opening:{n}", points,
                        expires_at=expires, now=self.now,
                    )  # fmt: skip
                self.club.seq += 1
                lot = Lot(
                    self.club.seq, points, points, "available", self.now, self.now, expires, 0
                )
                member.lots.append(lot)
                member.earned += points
                member.qualifying.append((self.now, points))
                self.opening.append((None, None, None, points))
            if vouchers and points >= COST:
                self._redeem_reward(member)

    def teardown(self) -> None:
        self.session.close()
        self.outer.rollback()
        self.connection.close()

    # --- events through ingestion -------------------------------------------------------

    def _ingest(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.session.begin_nested():
            results = apply_events(
                self.session, [_EVENT.validate_python(body)], None, currency="NOK"
            )
        self.sent.append(body)
        return results[0]

    def _clock(self, key: str) -> datetime:
        """The real clock the event with this key was applied at."""
        at = self.session.scalar(select(Event.created_at).where(Event.idempotency_key == key))
        assert at is not None
        return at

    def _synced(self, order: Order, key: str) -> None:
        """The model follows an event about `order`: the programme, then referrals."""
        self.club.sync(order, self._clock(key))
        self.referrals.order_changed(order)

    def _snapshot(self, order: Order, key: str, type_: str) -> dict[str, Any]:
        lines = [
            {
                "id": f"L{i}",
                "name": "Genser",
                "category": "wool" if line.wool else "other",
                "quantity": line.quantity,
                "unit_price": _money(line.unit_minor),
                "gift_card": line.gift_card,
            }
            for i, line in enumerate(order.lines)
        ]
        extra = {"paid_at": _iso(order.paid_at)} if order.paid_at else {}
        if order.cancelled_at:
            extra["cancelled_at"] = _iso(order.cancelled_at)
        if order.ext in self.carried:
            extra["discount_codes"] = [self.carried[order.ext].code.lower()]
        return order_body(
            order.ext,
            key=key,
            type_=type_,
            email=f"m{order.member}@example.no",
            updated_at=_iso(self.now),
            financial_status="paid" if order.paid_at else "pending",
            lines=lines,
            placed_at=_iso(order.placed_at),
            **extra,
        )

    def _fact(self, order: Order, key: str, type_: str, **fields: Any) -> None:
        body = {"idempotency_key": key, "type": type_, "occurred_at": _iso(self.now)}
        result = self._ingest({**body, "order_id": order.ext, **fields})
        assert (result["status"], result["order_id"]) == ("applied", order.db_id)
        self._synced(order, key)

    # Friends place orders too (`machine_referrals.py` brings them in).
    @rule(data=st.data(), lines=LINES)
    def place_paid_order(self, data: st.DataObject, lines: list[Line]) -> None:
        self._place(data.draw(st.integers(0, len(self.club.members) - 1)), lines, paid=True)

    @rule(data=st.data(), lines=LINES)
    def place_unpaid_order(self, data: st.DataObject, lines: list[Line]) -> None:
        self._place(data.draw(st.integers(0, len(self.club.members) - 1)), lines, paid=False)

    def _place(
        self,
        m: int,
        lines: list[Line],
        *,
        paid: bool,
        referred_by: int | None = None,
        voucher: Voucher | None = None,
    ) -> Order:
        """An order of member `m`; with `referred_by`, a new customer's first order that
        carries that member's referral code (`m` is then the next member's index); with
        `voucher`, an order that carries the voucher's code."""
        # A minute apart: "first order" compares placement times, which must not tie.
        self.now += timedelta(minutes=1)
        order = Order(f"O{len(self.club.orders)}", m, lines, self.now)
        order.paid_at = self.now if paid else None
        if voucher is not None:
            self.carried[order.ext] = voucher
        key = f"placed:{order.ext}"
        body = self._snapshot(order, key, "order.placed")
        if referred_by is not None:
            body["order"]["referral_code"] = self._code(referred_by)
        result = self._ingest(body)
        if referred_by is not None:
            self.club.members.append(Customer(result["customer_id"]))
            # The code is recorded, and the welcome given, before the order earns.
            self.referrals.arrive(referred_by, m, new=True, engine_now=self._clock(key))
        assert (result["status"], result["customer_id"]) == ("applied", self.club.members[m].id)
        order.db_id = result["order_id"]
        self.club.orders.append(order)
        self._codes_applied(order)
        self._synced(order, key)
        return order

    @precondition(lambda self: any(o.paid_at is None for o in self.club.orders))
    @rule(data=st.data())
    def pay(self, data: st.DataObject) -> None:
        order = data.draw(st.sampled_from([o for o in self.club.orders if o.paid_at is None]))
        order.paid_at = self.now
        self._fact(order, f"paid:{order.ext}", "order.paid")

    @precondition(lambda self: any(o.cancelled_at is None for o in self.club.orders))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        self._cancel(
            data.draw(st.sampled_from([o for o in self.club.orders if o.cancelled_at is None]))
        )

    def _cancel(self, order: Order) -> None:
        order.cancelled_at = self.now
        key = f"cancel:{order.ext}"
        body = {"idempotency_key": key, "type": "order.cancelled", "occurred_at": _iso(self.now)}
        result = self._ingest({**body, "order_id": order.ext})
        assert (result["status"], result["order_id"]) == ("applied", order.db_id)
        # What the order spent comes back before the programme reverses what it earned.
        self._order_cancelled(order)
        self._synced(order, key)

    @precondition(lambda self: any(o.delivered_at is None for o in self.club.orders))
    @rule(data=st.data())
    def deliver(self, data: st.DataObject) -> None:
        order = data.draw(st.sampled_from([o for o in self.club.orders if o.delivered_at is None]))
        order.delivered_at = self.now
        body = shipment_body(order.ext)
        body["shipment"]["delivered_at"] = _iso(self.now)
        self._fact(order, body["idempotency_key"], body["type"], shipment=body["shipment"])

    def _refundable(self) -> list[Order]:
        return [
            o for o in self.club.orders if o.paid_at and any(map(o.refundable, range(len(o.lines))))
        ]

    @precondition(lambda self: self._refundable())
    @rule(data=st.data())
    def refund_lines(self, data: st.DataObject) -> None:
        order = data.draw(st.sampled_from(self._refundable()))
        index = data.draw(
            st.sampled_from([i for i, _ in enumerate(order.lines) if order.refundable(i)])
        )
        quantity = data.draw(st.integers(1, order.refundable(index)))
        amount = _money(quantity * order.lines[index].unit_minor)
        order.refunded[index] = order.refunded.get(index, 0) + quantity
        self._refund(
            order, amount, [{"line_id": f"L{index}", "quantity": quantity, "amount": amount}]
        )

    def _by_amount(self) -> list[Order]:
        return [o for o in self.club.orders if o.paid_at and o.merchandise > o.unlined]

    @precondition(lambda self: self._by_amount())
    @rule(data=st.data(), shipping=st.sampled_from([0, 4900]))
    def refund_amount(self, data: st.DataObject, shipping: int) -> None:
        order = data.draw(st.sampled_from(self._by_amount()))
        merchandise = data.draw(st.integers(1, order.merchandise - order.unlined))
        order.unlined += merchandise
        self._refund(order, _money(merchandise + shipping), [], shipping=_money(shipping))

    def _refund(self, order: Order, amount: str, lines: list[dict[str, Any]], **more: Any) -> None:
        order.refunds += 1
        order.refunded_at = self.now
        body = refund_body(order.ext, f"R{order.refunds}", amount=amount, lines=lines, **more)
        self._fact(order, body["idempotency_key"], body["type"], refund=body["refund"])

    @precondition(lambda self: self.sent)
    @rule(data=st.data())
    def deliver_again(self, data: st.DataObject) -> None:
        body = data.draw(st.sampled_from(self.sent))
        assert self._ingest(body)["status"] == "duplicate"

    @precondition(lambda self: self.club.orders)
    @rule(data=st.data())
    def newer_snapshot(self, data: st.DataObject) -> None:
        order = data.draw(st.sampled_from(self.club.orders))
        self.now += timedelta(seconds=1)
        self.seq += 1
        key = f"updated:{self.seq}"
        result = self._ingest(self._snapshot(order, key, "order.updated"))
        assert (result["status"], result["order_id"]) == ("applied", order.db_id)
        self._codes_applied(order)
        self._synced(order, key)

    # --- the clock and the jobs -------------------------------------------------------------

    @rule(days=st.integers(0, 20), hours=st.integers(0, 23), work=JOBS)
    def time_passes(self, days: int, hours: int, work: list[str]) -> None:
        self.now += timedelta(days=days, hours=hours)
        self._run(work)

    # Past every open return window, with every job in some order: without it, points would
    # rarely settle, and rewards, coupons and referrals would rarely come due, within a run.
    @rule(
        days=st.integers(model.RETURN_WINDOW.days, 2 * model.RETURN_WINDOW.days),
        work=st.permutations(["settle", "expire", "review", "referrals"]),
    )
    def return_windows_close(self, days: int, work: list[str]) -> None:
        self.now += timedelta(days=days)
        self._run(work)

    # Into the next year once from anywhere, later only from its last two months: jumping a
    # whole year at a time would expire every lot before it could be spent or returned.
    @precondition(
        lambda self: (
            not self.years or model.new_year_after(self.now) - self.now <= timedelta(days=60)
        )
    )
    @rule(days=st.integers(0, 3), work=JOBS)
    def new_year(self, days: int, work: list[str]) -> None:
        self.now = model.new_year_after(self.now) + timedelta(days=days)
        self.years += 1
        self._run(work)

    def _run(self, work: list[str]) -> None:
        """The jobs chosen, in the order chosen, at the test clock."""
        for job in work:
            with self.session.begin_nested():
                # As `run_job` runs them: the ids due, then in batches (here of one id, since
                # there are two members; without its commits).
                due = JOB_OF[job].due(self.session, self.now)
                for due_id in due:
                    JOB_OF[job].run(self.session, [due_id], self.now)
                if job == "settle":
                    self.club.settle(self.now)
                elif job == "expire":
                    self.club.expire(self.now)
                elif job == "referrals":
                    self.referrals.complete_due(self.now)
                else:
                    self.club.review(self.now)

    # Once some orders earned under version 1, so their reversals can show which rule they use.
    @precondition(
        lambda self: self.club.rules.version == 1 and sum(o.claimed for o in self.club.orders) >= 2
    )
    @rule()
    def change_programme(self) -> None:
        with self.session.begin_nested():
            assert service.apply(self.session, model.V2 + SPENDING).row.version == 2
        self.club.rules = VERSIONS[2]

    # --- checks -------------------------------------------------------------------------------

    @invariant()
    def ledger_and_programme_match_the_model(self) -> None:
        if not self.club.members:
            return
        assert verify(self.session) == []
        for member in self.club.members:
            summary = queries.balance_summary(self.session, member.id, now=self.now)
            pending = sum(lot.remaining for lot in member.lots if lot.state == "pending")
            available = sum(lot.remaining for lot in member.lots if lot.state == "available")
            assert (summary.pending, summary.available, summary.lifetime_earned) == (
                pending,
                available - member.debt,
                member.earned - member.reversed,
            )
            assert summary.expiring == {
                days: sum(
                    lot.remaining
                    for lot in member.lots
                    if lot.expires_at and self.now < lot.expires_at <= self.now + timedelta(days)
                )
                for days in (30, 60, 90)
            }
            lots = self.session.execute(
                select(
                    LedgerLot.remaining,
                    LedgerLot.state,
                    LedgerLot.available_at,
                    LedgerLot.expires_at,
                )
                .where(LedgerLot.customer_id == member.id)
                .order_by(LedgerLot.id)
            ).all()
            assert [tuple(r) for r in lots] == [
                (lot.remaining, lot.state, lot.available_at, lot.expires_at) for lot in member.lots
            ]
            tier = self.session.get(MemberTier, member.id)
            if member.has_tier_row:
                assert tier is not None
                assert (tier.level, tier.review_at) == (member.level.id, member.review_at)
            else:
                assert tier is None
        assert self._ledger_reasons() == self._model_reasons()

    def _ledger_reasons(self) -> tuple[list[tuple[Any, ...]], dict[tuple[Any, ...], int]]:
        """Earnings one by one, and reversals summed, by (order, rule, programme version)."""
        T, P, A = LedgerTransaction, LedgerPosting, LedgerAccount
        amount = func.sum(
            case((A.kind == "issued", -P.amount), (A.kind == "reversed", P.amount), else_=0)
        )
        rows = self.session.execute(
            select(T.kind, T.order_id, T.rule, T.programme_version, amount)
            .join(P, P.transaction_id == T.id)
            .join(A, A.id == P.account_id)
            .where(T.kind.in_(("earn", "reverse")))
            .group_by(T.id, T.kind, T.order_id, T.rule, T.programme_version)
        ).all()
        # Referral welcome points have no order: sort by text, None beside numbers.
        earns = sorted((tuple(r[1:]) for r in rows if r[0] == "earn"), key=repr)
        reversals: dict[tuple[Any, ...], int] = {}
        for kind, *reason, points in rows:
            if kind == "reverse":
                reversals[tuple(reason)] = reversals.get(tuple(reason), 0) + points
        return earns, reversals

    def _model_reasons(self) -> tuple[list[tuple[Any, ...]], dict[tuple[Any, ...], int]]:
        earnings = [(o.db_id, e) for o in self.club.orders for e in o.earnings]
        earns = sorted(
            [(order, e.rule, e.version, e.points) for order, e in earnings]
            + self._referral_earnings()
            + self.opening,
            key=repr,
        )
        reversals = {(order, e.rule, e.version): e.reversed for order, e in earnings if e.reversed}
        return earns, reversals


def test_programme_state_machine(engine: Engine) -> None:
    ProgrammeMachine.engine = engine
    run_state_machine_as_test(
        ProgrammeMachine,
        settings=settings(
            max_examples=10,
            stateful_step_count=50,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
