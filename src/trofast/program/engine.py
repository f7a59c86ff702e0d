"""The engine: bring a member's points in line with an order, under the programme in force.

`sync_order` runs after every event about an order (placed, paid, refunded, cancelled,
delivered, linked to a customer), in any order and any number of times, and converges:

- an order earns once, when it is paid and not cancelled: each rule's award is one ledger
  transaction (pending until the return window closes) with the points per line it gave;
- refunds and cancellation reverse, with the rule and version that earned the points,
  exactly what the returned lines earned (see `returns.py`);
- a delivery moves the end of the return window of points still pending;
- the member's tier is evaluated whenever points changed, and, for tiers on spend, when an
  order is paid, refunded or cancelled even if no point moved.

Every ledger write is keyed by the order, rule and target, so a replay or a concurrent
duplicate is a no-op; the ledger locks the member for each write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from trofast.ledger import service as ledger
from trofast.ledger.core import DebtPolicy, Reasons, member_accounts
from trofast.models import Order
from trofast.program import earning, enrolment, repository, returns, tiering, tiers
from trofast.program.document import Programme
from trofast.program.expiry import expires_after
from trofast.program.service import Active, active, is_member
from trofast.referral import flow as referral_flow


@dataclass(frozen=True, slots=True)
class OrderSync:
    earned: int  # points issued by this call
    reversed_targets: int  # reversal transactions written by this call


def sync_order(
    session: Session,
    order: Order,
    *,
    event_id: int | None,
    now: datetime,
    new_order: bool = False,
) -> OrderSync | None:
    """Earn, reverse and reschedule what this order calls for; None when it earns nothing.

    `new_order`: the caller inserted the order's row in this transaction, so no refund can
    point at it yet (the reconciliation's probe for refunds is skipped)."""
    # The order's lines, refunds and shipments may still be pending in the session (it
    # does not autoflush); every query below must see them.
    session.flush()
    program = active(session)
    if program is None or order.customer_id is None or order.snapshot_at is None:
        return None
    customer = repository.customer(session, order.customer_id)
    assert customer is not None
    if order.loyalty_opt_in and not customer.is_member:
        enrolment.enrol(session, customer.id, order.placed_at or now, event_id=event_id, now=now)
    # A referred friend's order may be the first order that rewards the referrer.
    referral_flow.order_changed(session, program, order, now)
    if not is_member(program.programme, customer):
        return None
    earned, claimed = 0, False
    if order.paid_at is not None and order.status != "cancelled":
        claimed, earned = _earn(session, program, order, event_id, now)
    written = _reverse_returns(session, program.programme, order, event_id, now, new_order)
    _reschedule(session, program.programme, order)
    # On spend, an order moves the member's value by being paid, refunded or cancelled even
    # when it earns or reverses no point (gift cards only, a currency without a rate, a
    # channel no rule covers): the tier follows all the same.
    on_spend = program.programme.tiers is not None and program.programme.tiers.metric == "spend"
    returned = bool(written) or (
        on_spend and (order.status == "cancelled" or order.refunded_minor > 0)
    )
    if earned or written or (on_spend and (claimed or returned)):
        if not (claimed or written):
            # No ledger write of this call took the member's lock, which a tier change needs.
            member_accounts(session, customer.id, now, known=True)
        tiering.evaluate(session, program, customer.id, now, returned=returned)
    return OrderSync(earned, written)


def _earn(
    session: Session, program: Active, order: Order, event_id: int | None, now: datetime
) -> tuple[bool, int]:
    """(whether this call claimed the order, the points it issued); a claim takes the
    member's lock, so the caller may evaluate the tier."""
    assert order.customer_id is not None
    assert order.paid_at is not None
    claimed = repository.claim_order(
        session,
        {
            "order_id": order.id,
            "customer_id": order.customer_id,
            "programme_version": program.version,
            "points": 0,
            "created_at": now,
        },
    )
    if not claimed:
        return False, 0
    # The member's lock before reading its other orders and tier: two of its orders earning
    # at once would otherwise both see no earlier order and both take the first-order bonus.
    # `known`: `sync_order` read the customer's row in this transaction.
    accounts = member_accounts(session, order.customer_id, now, known=True)
    # The level the order earns at is the reviewed one, whether or not the job ran yet.
    tiering.catch_up(session, program, order.customer_id, now)
    programme = program.programme
    awards = earning.evaluate(programme, _facts(session, programme, order))
    paid_at = order.paid_at
    window = timedelta(days=programme.pending.return_window_days)
    available_at = (order.delivered_at or paid_at) + window
    purchased_at = paid_at
    if programme.expiry.policy == "inactivity":
        # The balance lives until N months after the *last* purchase, which an order
        # delivered late (an offline till's queue, an import) is not.
        last = repository.last_purchase_at(session, order.customer_id)
        purchased_at = max(paid_at, last) if last is not None else paid_at
    expires_at = _expiry(programme, purchased_at)
    entries = ledger.earn_all(
        session,
        order.customer_id,
        [
            ledger.Earning(
                f"order:{order.id}:earn:{award.rule}",
                award.points,
                Reasons(event_id, order.id, program.version, award.rule),
            )
            for award in awards
        ],
        available_at=available_at,
        expires_at=expires_at,
        now=now,
        effective_at=paid_at,
        accounts=accounts,
    )
    total = 0
    earned_lines: list[tuple[int, dict[int, int]]] = []
    for award, entry in zip(awards, entries, strict=True):
        if not entry.replayed:
            earned_lines.append((entry.transaction_id, award.lines))
            total += award.points
    repository.add_earning_lines(session, earned_lines)
    repository.set_order_points(session, order.id, total)
    if programme.expiry.policy == "inactivity" and expires_at is not None:
        repository.extend_open_lots(session, order.customer_id, purchased_at, expires_at)
    return True, total


def _expiry(programme: Programme, purchased_at: datetime) -> datetime | None:
    policy = programme.expiry
    if policy.policy == "none" or policy.months is None:
        return None
    return expires_after(purchased_at, policy.months, round_to_month_end=policy.round_to_month_end)


def _facts(session: Session, programme: Programme, order: Order) -> earning.OrderFacts:
    assert order.customer_id is not None
    assert order.placed_at is not None
    rows = repository.order_lines(session, order.id)
    line_discounts = sum(row.discount_minor for row in rows)
    values = earning.net_line_values(
        [
            {"line_id": r.id, "total": r.total_minor, "tax": r.tax_minor, "gift_card": r.gift_card}
            for r in rows
        ],
        order.discount_minor - line_discounts,
        prices_include_tax=programme.prices_include_tax,
    )
    level = None
    if programme.tiers is not None:
        row = repository.member_tier(session, order.customer_id, locked=True)
        level = tiers.level_of(programme.tiers, row.level if row else None)
    return earning.OrderFacts(
        currency=order.currency,
        channel=order.channel,
        store=repository.store_code(session, order.store_id),
        placed_at=order.placed_at,
        lines=[
            earning.LineFacts(
                line_id=r.id,
                quantity=r.quantity,
                value=values[r.id],
                sku=r.sku,
                category=r.category or r.product_category,
                brand=r.brand,
                sustainable=bool(r.sustainable),
            )
            for r in rows
        ],
        first_order=not repository.has_earlier_paid_order(session, order),
        tier=level,
    )


def _reverse_returns(
    session: Session,
    programme: Programme,
    order: Order,
    event_id: int | None,
    now: datetime,
    new_order: bool,
) -> int:
    assert order.customer_id is not None
    cancelled = order.status == "cancelled"
    if (
        not cancelled
        and order.refunded_minor == 0
        # A refund of nothing (lines only) leaves `refunded_minor` at 0: probe for one.
        and (new_order or not repository.has_refunds(session, order.id))
    ):
        return 0  # the common case: no reconciliation queries
    earnings = repository.order_earnings(session, order.id)
    if not earnings:
        return 0
    refunded = repository.refunded_quantities(session, order.id)
    unlined, refunded_at = repository.unlined_refunds(session, order.id)
    if not (cancelled or refunded or unlined):
        return 0
    lines = repository.order_lines(session, order.id)
    bought = {row.id: row.quantity for row in lines}
    merchandise = sum(row.total_minor for row in lines if not row.gift_card)
    share = returns.amount_share(unlined, merchandise)
    per_tx: dict[int, dict[int, int]] = {t.id: {} for t in earnings}
    for row in repository.earning_lines(session, list(per_tx)):
        per_tx[row.transaction_id][row.order_line_id] = row.points
    effective_at = (order.cancelled_at if cancelled else refunded_at) or now
    written = 0
    for earned in earnings:
        target = returns.reversal_target(
            per_tx[earned.id], refunded, bought, share, cancelled=cancelled
        )
        key = f"order:{order.id}:reverse:{earned.id}:{target}"
        if target <= 0 or ledger.key_taken(session, key):
            continue
        points = sum(per_tx[earned.id].values())
        ledger.reverse(
            session,
            order.customer_id,
            key,
            earned.id,
            refunded_to_date=target,
            order_total=points,
            policy=DebtPolicy(programme.returns.spent_points),
            reasons=Reasons(event_id=event_id, order_id=order.id),
            now=now,
            effective_at=effective_at,
        )
        written += 1
    return written


def _reschedule(session: Session, programme: Programme, order: Order) -> None:
    """A delivery starts the return window: move the end of pending points to match."""
    if order.delivered_at is None:
        return
    lots = repository.pending_lots_of_order(session, order.id)
    window = timedelta(days=programme.pending.return_window_days)
    repository.reschedule_lots(session, lots, order.delivered_at + window)
