from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from trofast.kit.sql import insert_ignore_all
from trofast.models import Delivery, Event, Order, Source


def add_delivery(session: Session, delivery: Delivery) -> Delivery:
    session.add(delivery)
    session.flush()
    return delivery


def get_delivery(session: Session, delivery_id: int) -> Delivery | None:
    return session.get(Delivery, delivery_id)


def deliveries(
    session: Session, *, status: str | None, limit: int, after_id: int = 0
) -> list[Delivery]:
    query = select(Delivery).where(Delivery.id > after_id).order_by(Delivery.id).limit(limit)
    if status:
        query = query.where(Delivery.status == status)
    return list(session.scalars(query))


def claim_events(session: Session, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert the event rows whose key is not taken, in one statement; the new ids by key
    (a key taken before is absent). The keys must differ.

    On PostgreSQL a concurrent insert of the same key waits here for the first one to
    commit, so exactly one transaction applies the event.
    """
    table = Event.__table__
    returning = (Event.id, Event.idempotency_key)
    found = insert_ignore_all(session, table, rows, ["idempotency_key"], returning)  # type: ignore[arg-type]
    return {row.idempotency_key: row.id for row in found}


def event_by_key(session: Session, key: str) -> Event:
    return session.scalars(select(Event).where(Event.idempotency_key == key)).one()


def parked_on(session: Session, order_id: int) -> list[Event]:
    return list(
        session.scalars(
            select(Event)
            .where(Event.parked_order_id == order_id, Event.status == "parked")
            .order_by(Event.occurred_at, Event.id)
        )
    )


def parked_shells(session: Session, source: str) -> set[str]:
    """External ids of the shell orders of a source with events parked on them.

    Read through `ix_events_parked_order`: released events drop their `parked_order_id`,
    so this touches only what is parked now, however many orders the source has.
    """
    rows = session.scalars(
        select(Order.external_id)
        .join(Event, Event.parked_order_id == Order.id)
        .where(
            Event.parked_order_id.is_not(None),
            Event.status == "parked",
            Order.source == source,
            Order.snapshot_at.is_(None),
        )
        .distinct()
    )
    return set(rows)


def source(session: Session, kind: str, name: str) -> Source | None:
    return session.scalars(
        select(Source).where(Source.kind == kind, Source.name == name, Source.active.is_(True))
    ).one_or_none()


def sources(session: Session) -> list[Source]:
    return list(session.scalars(select(Source).order_by(Source.id)))


def add_source(session: Session, row: Source) -> None:
    session.add(row)
    session.flush()


def finish_event(session: Session, event_id: int, values: dict[str, Any]) -> None:
    """Record the outcome (status, parked_order_id, result, applied_at) of a claimed event."""
    session.execute(_FINISH_EVENT, {"event_id": event_id, **values})


# Run once per event: built once. Core, so the values bind by column name; no Event entity
# is loaded for a claimed event (the claim is a Core INSERT), so none needs bringing in line.
_FINISH_EVENT = update(Event.__table__).where(Event.__table__.c.id == bindparam("event_id"))  # type: ignore[arg-type]
