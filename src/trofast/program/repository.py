"""SQL of the programme domain: versions, tiers, order earnings and budgets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    bindparam,
    case,
    extract,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from trofast.kit.sql import insert_ignore
from trofast.kit.txcache import hold, transaction_cache
from trofast.models import (
    Customer,
    EarningLine,
    LedgerAccount,
    LedgerLot,
    LedgerPosting,
    LedgerTransaction,
    MemberTier,
    Order,
    OrderEarning,
    OrderLine,
    Product,
    ProgrammeVersion,
    Refund,
    RefundLine,
    RuleBudget,
    Store,
    TierChange,
)


def latest_version(session: Session) -> ProgrammeVersion | None:
    return session.scalars(
        select(ProgrammeVersion).order_by(ProgrammeVersion.version.desc()).limit(1)
    ).first()


_LATEST_VERSION_KEY = (
    select(ProgrammeVersion.version, ProgrammeVersion.sha256)
    .order_by(ProgrammeVersion.version.desc())
    .limit(1)
)


def latest_version_key(session: Session) -> Row[int, str] | None:
    """(version, sha256) of the programme in force: one indexed row, read per event."""
    return session.execute(_LATEST_VERSION_KEY).first()


def version(session: Session, number: int) -> ProgrammeVersion | None:
    return session.scalars(
        select(ProgrammeVersion).where(ProgrammeVersion.version == number)
    ).first()


def versions(session: Session, limit: int) -> Sequence[ProgrammeVersion]:
    return session.scalars(
        select(ProgrammeVersion).order_by(ProgrammeVersion.version.desc()).limit(limit)
    ).all()


def add_version(session: Session, values: dict[str, Any]) -> ProgrammeVersion:
    row = ProgrammeVersion(**values)
    session.add(row)
    session.flush()
    return row


def customer(session: Session, customer_id: int) -> Customer | None:
    return hold(session, session.get(Customer, customer_id))


# Statements every order event runs are built once and bound per call (the `_` constants
# in this module): building one with fresh literals cost about as much as executing it.
_ORDER_LINES = (
    select(
        OrderLine.id,
        OrderLine.sku,
        OrderLine.category,
        OrderLine.quantity,
        OrderLine.total_minor,
        OrderLine.discount_minor,
        OrderLine.tax_minor,
        OrderLine.gift_card,
        Product.category.label("product_category"),
        Product.brand,
        Product.sustainable,
    )
    .outerjoin(Product, Product.id == OrderLine.product_id)
    .where(OrderLine.order_id == bindparam("order_id"))
    .order_by(OrderLine.id)
)


def order_lines(session: Session, order_id: int) -> list[Row[Any]]:
    """Lines with the product facts the rules match on (brand, sustainable)."""
    return list(session.execute(_ORDER_LINES, {"order_id": order_id}))


def store_code(session: Session, store_id: int | None) -> str | None:
    if store_id is None:
        return None
    return session.scalar(select(Store.code).where(Store.id == store_id))


def has_earlier_paid_order(session: Session, order: Order) -> bool:
    """Whether the customer has a paid, not cancelled order placed before this one, or one
    that already earned.

    Of orders placed at the same moment (date-only imports), the one recorded first counts
    as earlier, so a member's first day earns one first-order bonus, not one per order. An
    order that already earned counts whenever it was placed: when deliveries arrive out of
    order, the later-placed order that earned first keeps the bonus and the earlier one
    does not earn a second.
    """
    assert order.placed_at is not None
    params = {"customer_id": order.customer_id, "order_id": order.id, "placed_at": order.placed_at}
    return session.scalar(_EARLIER_PAID_ORDER, params) is not None


_EARLIER_PAID_ORDER = (
    select(Order.id)
    .where(
        Order.customer_id == bindparam("customer_id"),
        Order.id != bindparam("order_id"),
        Order.paid_at.is_not(None),
        Order.cancelled_at.is_(None),
        or_(
            Order.placed_at < bindparam("placed_at"),
            and_(Order.placed_at == bindparam("placed_at"), Order.id < bindparam("order_id")),
            select(OrderEarning.order_id).where(OrderEarning.order_id == Order.id).exists(),
        ),
    )
    .limit(1)
)


def claim_order(session: Session, values: dict[str, Any]) -> bool:
    """Mark the order as earned; False when it already was (it earns once)."""
    return (
        insert_ignore(
            session,
            OrderEarning.__table__,  # type: ignore[arg-type]
            values,
            ["order_id"],
            OrderEarning.order_id,
        )
        is not None
    )


def set_order_points(session: Session, order_id: int, points: int) -> None:
    session.execute(_SET_ORDER_POINTS, {"earning_order_id": order_id, "new_points": points})


_SET_ORDER_POINTS = (
    update(OrderEarning)
    # Not named after columns: an UPDATE reserves those names for its SET clause.
    .where(OrderEarning.order_id == bindparam("earning_order_id"))
    .values(points=bindparam("new_points"))
    # No OrderEarning entity is loaded to bring in line (the claim is a Core INSERT).
    .execution_options(synchronize_session=False)
)


def add_earning_lines(session: Session, awards: Sequence[tuple[int, dict[int, int]]]) -> None:
    """The points each order line got, per earning transaction: (transaction id, {line: points})."""
    rows = [
        {"transaction_id": transaction_id, "order_line_id": line, "points": points}
        for transaction_id, lines in awards
        for line, points in lines.items()
    ]
    if rows:
        session.execute(insert(EarningLine), rows)


def order_earnings(session: Session, order_id: int) -> list[LedgerTransaction]:
    return list(
        session.scalars(
            select(LedgerTransaction)
            .where(LedgerTransaction.order_id == order_id, LedgerTransaction.kind == "earn")
            .order_by(LedgerTransaction.id)
        )
    )


def earning_lines(session: Session, transaction_ids: Sequence[int]) -> list[Row[Any]]:
    if not transaction_ids:
        return []
    return list(
        session.execute(
            select(EarningLine.transaction_id, EarningLine.order_line_id, EarningLine.points).where(
                EarningLine.transaction_id.in_(transaction_ids)
            )
        )
    )


def pending_lots_of_order(session: Session, order_id: int) -> list[int]:
    return list(
        session.scalars(
            select(LedgerLot.id)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerLot.transaction_id)
            .where(LedgerTransaction.order_id == order_id, LedgerLot.state == "pending")
        )
    )


def reschedule_lots(session: Session, lot_ids: Sequence[int], available_at: datetime) -> None:
    if lot_ids:
        session.execute(
            update(LedgerLot)
            .where(LedgerLot.id.in_(lot_ids), LedgerLot.state == "pending")
            .values(available_at=available_at)
        )


def count_rule_awards(
    session: Session, customer_id: int, rule: str, since: datetime | None, until: datetime | None
) -> int:
    """Awards of `rule` to the customer effective in [since, until) (None: unbounded)."""
    query = select(func.count()).where(
        LedgerTransaction.customer_id == customer_id,
        LedgerTransaction.kind == "earn",
        LedgerTransaction.rule == rule,
    )
    if since is not None:
        query = query.where(LedgerTransaction.effective_at >= since)
    if until is not None:
        query = query.where(LedgerTransaction.effective_at < until)
    return session.scalar(query) or 0


def use_budget(session: Session, rule: str, points: int, budget: int) -> bool:
    """Take `points` from a rule's global budget in one conditional UPDATE."""
    insert_ignore(
        session,
        RuleBudget.__table__,  # type: ignore[arg-type]
        {"rule": rule, "used": 0},
        ["rule"],
    )
    result = session.execute(
        update(RuleBudget)
        .where(RuleBudget.rule == rule, RuleBudget.used + points <= budget)
        .values(used=RuleBudget.used + points)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def member_tier(session: Session, customer_id: int, *, locked: bool = False) -> MemberTier | None:
    """The member's tier row. Held: an order's catch-up on reviews, its earning and its
    evaluation each read it under the member's lock. With `locked` (the caller holds that
    lock) its absence is kept too, until `save_tier` inserts it: no other transaction can
    insert it meanwhile. An absence seen without the lock is not kept."""
    absent: set[int] = transaction_cache(session).setdefault(_NO_TIER, set())
    if customer_id in absent:
        return None
    row = session.get(MemberTier, customer_id)
    if row is None and locked:
        absent.add(customer_id)
    return hold(session, row)


_NO_TIER = "program.members_without_tier"


def save_tier(session: Session, row: MemberTier | None, values: dict[str, Any]) -> None:
    """Insert or update the member's tier; `row` is what the caller read under the lock."""
    if row is None:
        transaction_cache(session).get(_NO_TIER, set()).discard(values["customer_id"])
        session.add(MemberTier(**values))
    else:
        for key, value in values.items():
            setattr(row, key, value)
    session.flush()


def add_tier_change(session: Session, values: dict[str, Any]) -> None:
    session.add(TierChange(**values))
    session.flush()


def tier_history(session: Session, customer_id: int, limit: int) -> Sequence[TierChange]:
    return session.scalars(
        select(TierChange)
        .where(TierChange.customer_id == customer_id)
        .order_by(TierChange.id.desc())
        .limit(limit)
    ).all()


def due_reviews(session: Session, now: datetime) -> list[int]:
    return list(
        session.scalars(
            select(MemberTier.customer_id)
            .where(MemberTier.review_at <= now)
            .order_by(MemberTier.customer_id)
        )
    )


def birthday_members(session: Session, month: int, days: Sequence[int]) -> list[int]:
    return list(
        session.scalars(
            select(Customer.id)
            .where(
                extract("month", Customer.birthday) == month,
                extract("day", Customer.birthday).in_(days),
            )
            .order_by(Customer.id)
        )
    )


_HAS_REFUNDS = select(Refund.id).where(Refund.order_id == bindparam("order_id")).limit(1)


def has_refunds(session: Session, order_id: int) -> bool:
    return session.scalar(_HAS_REFUNDS, {"order_id": order_id}) is not None


def refunded_quantities(session: Session, order_id: int) -> dict[int, int]:
    """Quantity refunded so far per order line."""
    rows = session.execute(
        select(RefundLine.order_line_id, func.sum(RefundLine.quantity))
        .join(Refund, Refund.id == RefundLine.refund_id)
        .where(Refund.order_id == order_id, RefundLine.order_line_id.is_not(None))
        .group_by(RefundLine.order_line_id)
    )
    return {line_id: int(quantity) for line_id, quantity in rows if line_id is not None}


def unlined_refunds(session: Session, order_id: int) -> tuple[int, datetime | None]:
    """Merchandise refunded without lines (amount − shipping), and the latest refund time."""
    has_lines = select(RefundLine.id).where(RefundLine.refund_id == Refund.id).exists()
    amount = session.scalar(
        select(func.coalesce(func.sum(Refund.amount_minor - Refund.shipping_minor), 0)).where(
            Refund.order_id == order_id, ~has_lines
        )
    )
    latest = session.scalar(select(func.max(Refund.occurred_at)).where(Refund.order_id == order_id))
    return int(amount or 0), latest


def qualification_points(
    session: Session, customer_id: int, start: datetime | None, end: datetime | None
) -> int:
    """Points earned minus points reversed, by transactions effective in [start, end)."""
    query = _qualification_points(start is not None, end is not None)
    params = {"customer_id": customer_id, "start": start, "end": end}
    # Issued postings are negative and reversal postings positive: minus their sum is the net.
    return -int(session.scalar(query, params) or 0)


@lru_cache(maxsize=4)
def _qualification_points(since: bool, until: bool) -> Select[int]:
    query = (
        select(func.coalesce(func.sum(LedgerPosting.amount), 0))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerPosting.transaction_id)
        .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
        .where(
            LedgerTransaction.customer_id == bindparam("customer_id"),
            LedgerAccount.kind.in_(("issued", "reversed")),
        )
    )
    if since:
        query = query.where(LedgerTransaction.effective_at >= bindparam("start"))
    if until:
        query = query.where(LedgerTransaction.effective_at < bindparam("end"))
    return query


def qualification_spend(
    session: Session, customer_id: int, start: datetime | None, end: datetime | None
) -> dict[str, int]:
    """Merchandise spend of orders paid in [start, end), per currency (minor units of each):
    each order's total less its shipping and less the merchandise refunded (a refund's
    amount less the shipping it gave back), never below zero for one order."""
    shipping_refunded = (
        select(func.coalesce(func.sum(Refund.shipping_minor), 0))
        .where(Refund.order_id == Order.id)
        .scalar_subquery()
    )
    kept = Order.total_minor - Order.shipping_minor - Order.refunded_minor + shipping_refunded
    query = (
        select(Order.currency, func.sum(case((kept > 0, kept), else_=0)))
        .where(
            Order.customer_id == customer_id,
            Order.paid_at.is_not(None),
            Order.cancelled_at.is_(None),
        )
        .group_by(Order.currency)
    )
    if start is not None:
        query = query.where(Order.paid_at >= start)
    if end is not None:
        query = query.where(Order.paid_at < end)
    return {currency: int(total) for currency, total in session.execute(query)}


def last_purchase_at(session: Session, customer_id: int) -> datetime | None:
    """When the customer last paid for an order that was not cancelled."""
    return session.scalar(
        select(func.max(Order.paid_at)).where(
            Order.customer_id == customer_id,
            Order.paid_at.is_not(None),
            Order.cancelled_at.is_(None),
        )
    )


def extend_open_lots(
    session: Session, customer_id: int, purchased_at: datetime, expires_at: datetime
) -> None:
    """Inactivity expiry: a purchase at `purchased_at` pushes the expiry of every open lot
    still alive then out to `expires_at`. A lot that had lapsed before the purchase stays
    due, whether or not the expiry job has run yet."""
    alive = LedgerLot.expires_at.is_(None) | and_(
        LedgerLot.expires_at > purchased_at, LedgerLot.expires_at < expires_at
    )
    session.execute(
        update(LedgerLot)
        .where(
            LedgerLot.customer_id == customer_id,
            LedgerLot.remaining > 0,
            LedgerLot.state.in_(("pending", "available")),
            alive,
        )
        .values(expires_at=expires_at)
    )


def enrol(session: Session, customer_id: int, at: datetime) -> bool:
    """Make the customer a member; True only for the call that did (one of racing ones)."""
    result = session.execute(
        update(Customer)
        .where(Customer.id == customer_id, Customer.is_member.is_(False))
        .values(is_member=True, enrolled_at=at)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
