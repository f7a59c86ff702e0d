from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.orm import Session

from trofast.kit.sql import insert_ignore
from trofast.models import Consent, Customer, CustomerIdentity, Order

IdentityKey = tuple[str, str, str]  # (kind, source, value)


def identities_for(session: Session, keys: Iterable[IdentityKey]) -> dict[IdentityKey, int]:
    wanted = list(keys)
    if not wanted:
        return {}
    rows = session.execute(
        select(
            CustomerIdentity.kind,
            CustomerIdentity.source,
            CustomerIdentity.value,
            CustomerIdentity.customer_id,
        ).where(
            tuple_(CustomerIdentity.kind, CustomerIdentity.source, CustomerIdentity.value).in_(
                wanted
            )
        )
    )
    return {(r.kind, r.source, r.value): r.customer_id for r in rows}


def insert_customer(session: Session, values: dict[str, Any]) -> int:
    customer = Customer(**values)
    session.add(customer)
    session.flush()
    return customer.id


def claim_identity(session: Session, key: IdentityKey, customer_id: int, now: datetime) -> bool:
    """Attach an identity unless another customer holds it; True when this call attached it."""
    kind, source, value = key
    inserted = insert_ignore(
        session,
        CustomerIdentity.__table__,  # type: ignore[arg-type]
        {
            "customer_id": customer_id,
            "kind": kind,
            "source": source,
            "value": value,
            "created_at": now,
        },
        conflict=["kind", "source", "value"],
        returning=CustomerIdentity.id,
    )
    return inserted is not None


def move_identities(session: Session, from_id: int, to_id: int) -> None:
    session.execute(
        update(CustomerIdentity)
        .where(CustomerIdentity.customer_id == from_id)
        .values(customer_id=to_id)
    )


def delete_customer(session: Session, customer_id: int) -> None:
    session.execute(delete(Customer).where(Customer.id == customer_id))


def get(session: Session, customer_id: int) -> Customer | None:
    return session.get(Customer, customer_id)


def get_for_update(session: Session, customer_id: int) -> Customer | None:
    return session.scalars(
        select(Customer).where(Customer.id == customer_id).with_for_update()
    ).one_or_none()


def add_consent(session: Session, consent: Consent) -> None:
    session.add(consent)


def identities_of(session: Session, customer_id: int) -> list[CustomerIdentity]:
    return list(
        session.scalars(
            select(CustomerIdentity)
            .where(CustomerIdentity.customer_id == customer_id)
            .order_by(CustomerIdentity.id)
        )
    )


def current_consents(session: Session, customer_id: int) -> list[Consent]:
    """The consent in force per channel: the newest `occurred_at` (then the newest row)."""
    rows = session.scalars(
        select(Consent)
        .where(Consent.customer_id == customer_id)
        .order_by(Consent.channel, Consent.occurred_at.desc(), Consent.id.desc())
    )
    latest: dict[str, Consent] = {}
    for consent in rows:
        latest.setdefault(consent.channel, consent)
    return list(latest.values())


def order_stats(session: Session, customer_id: int) -> tuple[int, int]:
    """(orders, net spend in minor units) over real orders, cancelled ones excluded."""
    row = session.execute(
        select(
            func.count(Order.id),
            func.coalesce(func.sum(Order.total_minor - Order.refunded_minor), 0),
        ).where(
            Order.customer_id == customer_id,
            Order.snapshot_at.is_not(None),
            Order.status != "cancelled",
        )
    ).one()
    return int(row[0]), int(row[1])


def search(
    session: Session,
    *,
    email: str | None,
    phone: str | None,
    external_id: str | None,
    limit: int,
    after_id: int,
) -> list[Customer]:
    query = select(Customer).where(Customer.id > after_id).order_by(Customer.id).limit(limit)
    filters: list[tuple[str, str]] = []
    if email:
        filters.append(("email", email))
    if phone:
        filters.append(("phone", phone))
    for kind, value in filters:
        query = query.where(
            Customer.id.in_(
                select(CustomerIdentity.customer_id).where(
                    CustomerIdentity.kind == kind,
                    CustomerIdentity.source == "",
                    CustomerIdentity.value == value,
                )
            )
        )
    if external_id:
        query = query.where(
            Customer.id.in_(
                select(CustomerIdentity.customer_id).where(
                    CustomerIdentity.kind == "external", CustomerIdentity.value == external_id
                )
            )
        )
    return list(session.scalars(query))
