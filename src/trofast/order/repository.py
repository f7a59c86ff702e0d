from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from trofast.kit.sql import insert_for, insert_ignore
from trofast.models import (
    Order,
    OrderLine,
    OrderStatusChange,
    Product,
    Refund,
    RefundLine,
    Shipment,
    Store,
)


def insert_order(session: Session, values: dict[str, Any]) -> int | None:
    """Insert unless (source, external_id) exists; the new id, or None when it existed."""
    result: int | None = insert_ignore(
        session,
        Order.__table__,  # type: ignore[arg-type]
        values,
        conflict=["source", "external_id"],
        returning=Order.id,
    )
    return result


def insert_new_order(session: Session, values: dict[str, Any]) -> Order | None:
    """Insert unless (source, external_id) exists: the new row, as an entity this
    transaction holds locked (it inserted it), or None when the order existed."""
    session.flush()  # as `lock_order`: what is pending goes out before
    stmt = _insert_new_order_statement(session.get_bind().dialect.name)
    return session.scalars(stmt, [values]).one_or_none()


@lru_cache(maxsize=4)
def _insert_new_order_statement(dialect: str) -> Any:
    # Built once and given the row as parameters: `.values(**row)` on every call cost more
    # (0.6 ms, coercing each column) than the INSERT itself.
    return (
        insert_for(dialect, Order)
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(Order)
    )


def lock_order(session: Session, source: str, external_id: str) -> Order | None:
    # `populate_existing` re-reads the row over the identity map: changes still pending in
    # the session (it does not autoflush) would be silently lost, so they go out first.
    session.flush()
    return session.scalars(
        select(Order)
        .where(Order.source == source, Order.external_id == external_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def get(session: Session, order_id: int) -> Order | None:
    return session.get(Order, order_id)


def lines_by_external_id(session: Session, order_id: int) -> dict[str, OrderLine]:
    rows = session.scalars(select(OrderLine).where(OrderLine.order_id == order_id))
    return {line.external_id: line for line in rows}


def insert_lines(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(OrderLine.__table__), rows)  # type: ignore[arg-type]


def add_status_changes(session: Session, rows: list[dict[str, Any]]) -> None:
    session.execute(insert(OrderStatusChange.__table__), rows)  # type: ignore[arg-type]


def add(session: Session, row: object) -> None:
    session.add(row)


def store_id(session: Session, code: str, now: datetime) -> int:
    found = session.scalars(select(Store.id).where(Store.code == code)).one_or_none()
    if found is not None:
        return int(found)
    insert_ignore(
        session,
        Store.__table__,  # type: ignore[arg-type]
        {"code": code, "name": code, "created_at": now},
        conflict=["code"],
    )
    return int(session.scalars(select(Store.id).where(Store.code == code)).one())


_PRODUCT_IDS = select(Product.sku, Product.id).where(
    Product.sku.in_(bindparam("skus", expanding=True))
)


def product_ids(session: Session, products: list[dict[str, Any]]) -> dict[str, int]:
    """Ids by sku, adding unknown products (catalogue data from the first sighting)."""
    skus = sorted({p["sku"] for p in products})
    if not skus:
        return {}
    found = {sku: pid for sku, pid in session.execute(_PRODUCT_IDS, {"skus": skus})}
    missing = [p for p in products if p["sku"] not in found]
    if not missing:
        return found
    # Sorted by sku so two transactions adding the same new products lock them in one order.
    for values in sorted(missing, key=lambda p: str(p["sku"])):
        insert_ignore(session, Product.__table__, values, conflict=["sku"])  # type: ignore[arg-type]
    rows = session.execute(select(Product.sku, Product.id).where(Product.sku.in_(skus)))
    return {sku: pid for sku, pid in rows}


def insert_refund(session: Session, values: dict[str, Any]) -> int | None:
    result: int | None = insert_ignore(
        session,
        Refund.__table__,  # type: ignore[arg-type]
        values,
        conflict=["order_id", "external_id"],
        returning=Refund.id,
    )
    return result


def add_refunded(session: Session, order_id: int, amount: int) -> None:
    # Atomic increment: concurrent refunds of one order never lose an update.
    session.execute(
        update(Order)
        .where(Order.id == order_id)
        .values(refunded_minor=Order.refunded_minor + amount)
        .execution_options(synchronize_session=False)
    )


def insert_shipment(session: Session, values: dict[str, Any]) -> int | None:
    result: int | None = insert_ignore(
        session,
        Shipment.__table__,  # type: ignore[arg-type]
        values,
        conflict=["order_id", "external_id"],
        returning=Shipment.id,
    )
    return result


def shipment(session: Session, order_id: int, external_id: str) -> Shipment:
    return session.scalars(
        select(Shipment).where(Shipment.order_id == order_id, Shipment.external_id == external_id)
    ).one()


def status_history(session: Session, order_id: int) -> list[OrderStatusChange]:
    return list(
        session.scalars(
            select(OrderStatusChange)
            .where(OrderStatusChange.order_id == order_id)
            .order_by(OrderStatusChange.occurred_at, OrderStatusChange.id)
        )
    )


def refunds(session: Session, order_id: int) -> list[tuple[Refund, list[RefundLine]]]:
    rows = list(
        session.scalars(select(Refund).where(Refund.order_id == order_id).order_by(Refund.id))
    )
    # One query for every refund's lines rather than one per refund.
    by_refund: dict[int, list[RefundLine]] = {refund.id: [] for refund in rows}
    lines = session.scalars(
        select(RefundLine).where(RefundLine.refund_id.in_(list(by_refund))).order_by(RefundLine.id)
    )
    for line in lines:
        by_refund[line.refund_id].append(line)
    return [(refund, by_refund[refund.id]) for refund in rows]


def shipments(session: Session, order_id: int) -> list[Shipment]:
    return list(
        session.scalars(select(Shipment).where(Shipment.order_id == order_id).order_by(Shipment.id))
    )


def lines(session: Session, order_id: int) -> list[OrderLine]:
    return list(
        session.scalars(
            select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.id)
        )
    )


def search(
    session: Session,
    *,
    customer_id: int | None,
    external_id: str | None,
    limit: int,
    after_id: int,
) -> list[Order]:
    query = (
        select(Order)
        .where(Order.snapshot_at.is_not(None), Order.id > after_id)
        .order_by(Order.id)
        .limit(limit)
    )
    if customer_id is not None:
        query = query.where(Order.customer_id == customer_id)
    if external_id is not None:
        query = query.where(Order.external_id == external_id)
    return list(session.scalars(query))
