from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from trofast.models import Customer, CustomerIdentity, Order, ReceiptClaim, Store


def customer_exists(session: Session, customer_id: int) -> bool:
    return session.scalar(select(Customer.id).where(Customer.id == customer_id)) is not None


# Read on every till lookup: built once (building a statement cost as much as running it).
_IDENTITY_HOLDER = (
    select(Customer)
    .join(CustomerIdentity, CustomerIdentity.customer_id == Customer.id)
    .where(
        CustomerIdentity.kind == bindparam("kind"),
        CustomerIdentity.source == "",
        CustomerIdentity.value == bindparam("value"),
    )
)


def identity_holder(session: Session, kind: str, value: str) -> Customer | None:
    """The customer holding a global identity (e-mail, phone, card), with its row: one
    probe of the identities' UNIQUE index joined to the customer's primary key."""
    return session.scalars(_IDENTITY_HOLDER, {"kind": kind, "value": value}).one_or_none()


def store_receipts(
    session: Session,
    number: str,
    total_minor: int,
    *,
    store: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> list[Row[Any]]:
    """Store receipts with this number and total, not cancelled: (id, customer_id)."""
    query = select(Order.id, Order.customer_id).where(
        Order.number == number,
        Order.total_minor == total_minor,
        Order.channel == "store",
        Order.snapshot_at.is_not(None),
        Order.status != "cancelled",
    )
    if store is not None:
        query = query.join(Store, Store.id == Order.store_id).where(Store.code == store)
    if since is not None:
        query = query.where(Order.placed_at >= since)
    if until is not None:
        query = query.where(Order.placed_at < until)
    return list(session.execute(query.order_by(Order.id).limit(limit)))


def link_receipt(session: Session, order_id: int, customer_id: int, now: datetime) -> bool:
    """Give a guest receipt to a member; True only for the one call that did.

    The condition `customer_id IS NULL` is the whole race: on PostgreSQL a second UPDATE
    waits for the first's row lock and then finds the receipt taken; on SQLite writers
    queue on BEGIN IMMEDIATE and the later one sees the committed value.
    """
    result = session.execute(
        update(Order)
        .where(Order.id == order_id, Order.customer_id.is_(None))
        .values(customer_id=customer_id, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def lock_order(session: Session, order_id: int) -> Order:
    # Re-read over the identity map: the UPDATE above bypassed it.
    return session.scalars(
        select(Order)
        .where(Order.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def add_claim(session: Session, claim: ReceiptClaim) -> None:
    session.add(claim)
    session.flush()


def get_customer(session: Session, customer_id: int) -> Customer | None:
    return session.get(Customer, customer_id)
