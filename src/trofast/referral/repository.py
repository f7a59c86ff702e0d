"""SQL of the referral domain. Every state change is a conditional UPDATE with a rowcount."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import CursorResult, exists, select, update
from sqlalchemy.orm import Session

from trofast.kit.sql import insert_for, insert_ignore
from trofast.models import (
    Customer,
    CustomerIdentity,
    Order,
    OrderSignal,
    Referral,
    ReferralCode,
    ReferralWeek,
    Refund,
)


def _rowcount(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def code_of(session: Session, customer_id: int) -> str | None:
    return session.scalar(select(ReferralCode.code).where(ReferralCode.customer_id == customer_id))


def insert_code(session: Session, customer_id: int, code: str, now: datetime) -> None:
    """Insert unless the member has a code or the code is taken (either conflict is fine)."""
    dialect = session.get_bind().dialect.name
    stmt = insert_for(dialect, ReferralCode.__table__).on_conflict_do_nothing()  # type: ignore[arg-type]
    session.execute(stmt, {"customer_id": customer_id, "code": code, "created_at": now})


def owner_of_code(session: Session, code: str) -> int | None:
    return session.scalar(select(ReferralCode.customer_id).where(ReferralCode.code == code))


def customer_exists(session: Session, customer_id: int) -> bool:
    return session.scalar(select(Customer.id).where(Customer.id == customer_id)) is not None


def of_friend(session: Session, friend_id: int) -> Referral | None:
    return session.scalars(select(Referral).where(Referral.friend_id == friend_id)).one_or_none()


def get(session: Session, referral_id: int) -> Referral | None:
    return session.get(Referral, referral_id)


def lock(session: Session, referral_id: int) -> Referral | None:
    """The referral row, locked and re-read (another transaction may have moved it)."""
    return session.scalars(
        select(Referral)
        .where(Referral.id == referral_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def insert_referral(session: Session, values: dict[str, Any]) -> int | None:
    """The new referral's id; None when the friend was referred already (first one wins)."""
    new_id: int | None = insert_ignore(
        session,
        Referral.__table__,  # type: ignore[arg-type]
        values,
        conflict=["friend_id"],
        returning=Referral.id,
    )
    return new_id


def of_referrer(session: Session, referrer_id: int, limit: int) -> Sequence[Referral]:
    return session.scalars(
        select(Referral)
        .where(Referral.referrer_id == referrer_id)
        .order_by(Referral.id.desc())
        .limit(limit)
    ).all()


def set_fields(session: Session, referral_id: int, values: dict[str, Any]) -> None:
    session.execute(update(Referral).where(Referral.id == referral_id).values(**values))


def claim_first_order(
    session: Session, referral_id: int, order_id: int, due_at: datetime, now: datetime
) -> bool:
    """Make `order_id` the referral's first order unless another order already is.

    One statement decides: of two first orders of the same friend applied at once, the
    second waits for the first's row lock and then finds `first_order_id` set.
    """
    result = session.execute(
        update(Referral)
        .where(
            Referral.id == referral_id,
            Referral.first_order_id.is_(None),
            Referral.status == "pending",
        )
        .values(first_order_id=order_id, due_at=due_at, updated_at=now)
    )
    return _rowcount(result) == 1


def move(
    session: Session,
    referral_id: int,
    *,
    from_status: Sequence[str],
    values: dict[str, Any],
) -> bool:
    """Change a referral only if it is still in one of `from_status`."""
    result = session.execute(
        update(Referral)
        .where(Referral.id == referral_id, Referral.status.in_(from_status))
        .values(**values)
    )
    return _rowcount(result) == 1


def due(session: Session, now: datetime) -> list[int]:
    return list(
        session.scalars(
            select(Referral.id)
            .where(
                Referral.status == "pending",
                Referral.first_order_id.is_not(None),
                Referral.due_at <= now,
            )
            .order_by(Referral.id)
        )
    )


def identities(session: Session, customer_id: int, kind: str) -> set[str]:
    """The customer's e-mails or phones: identities plus the profile's current value."""
    values = set(
        session.scalars(
            select(CustomerIdentity.value).where(
                CustomerIdentity.customer_id == customer_id,
                CustomerIdentity.kind == kind,
                CustomerIdentity.source == "",
            )
        )
    )
    column = Customer.email if kind == "email" else Customer.phone
    current = session.scalar(select(column).where(Customer.id == customer_id))
    return values | ({current} if current else set())


def has_other_orders(session: Session, customer_id: int, except_order_id: int | None) -> bool:
    query = select(Order.id).where(Order.customer_id == customer_id, Order.snapshot_at.is_not(None))
    if except_order_id is not None:
        query = query.where(Order.id != except_order_id)
    return session.scalar(query.limit(1)) is not None


def save_signals(session: Session, order_id: int, signals: dict[str, str]) -> None:
    """Record the order's fingerprints; a later snapshot's value replaces an earlier one."""
    dialect = session.get_bind().dialect.name
    for kind, value in signals.items():
        stmt = insert_for(dialect, OrderSignal.__table__)  # type: ignore[arg-type]
        stmt = stmt.on_conflict_do_update(
            index_elements=["order_id", "kind"], set_={"value": stmt.excluded.value}
        )
        session.execute(stmt, {"order_id": order_id, "kind": kind, "value": value})


def signals_of(session: Session, order_id: int) -> dict[str, str]:
    rows = session.execute(
        select(OrderSignal.kind, OrderSignal.value).where(OrderSignal.order_id == order_id)
    )
    return {row.kind: row.value for row in rows}


def customer_has_signal(session: Session, customer_id: int, kind: str, value: str) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    OrderSignal.kind == kind,
                    OrderSignal.value == value,
                    OrderSignal.order_id == Order.id,
                    Order.customer_id == customer_id,
                )
            )
        )
    )


def order(session: Session, order_id: int) -> Order:
    found = session.get(Order, order_id)
    assert found is not None  # referrals point at orders, which are never deleted
    return found


def earliest_paid_order(session: Session, customer_id: int) -> int | None:
    return session.scalar(
        select(Order.id)
        .where(
            Order.customer_id == customer_id,
            Order.paid_at.is_not(None),
            Order.cancelled_at.is_(None),
        )
        .order_by(Order.placed_at, Order.id)
        .limit(1)
    )


def was_refunded(session: Session, order_id: int) -> bool:
    return session.scalar(select(Refund.id).where(Refund.order_id == order_id).limit(1)) is not None


def take_week_slot(session: Session, referrer_id: int, week: date, cap: int) -> bool:
    """Count one more rewarded referral in `week` unless `cap` is reached (one statement)."""
    insert_ignore(
        session,
        ReferralWeek.__table__,  # type: ignore[arg-type]
        {"referrer_id": referrer_id, "week": week, "rewarded": 0},
        conflict=["referrer_id", "week"],
    )
    result = session.execute(
        update(ReferralWeek)
        .where(
            ReferralWeek.referrer_id == referrer_id,
            ReferralWeek.week == week,
            ReferralWeek.rewarded < cap,
        )
        .values(rewarded=ReferralWeek.rewarded + 1)
    )
    return _rowcount(result) == 1
