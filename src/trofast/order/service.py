"""Use cases on orders: apply a snapshot, append refunds and shipments, record status.

Snapshots follow "newest source time wins": an older delivery never overwrites newer state.
Refunds and shipments are facts, appended once per (order, external id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from trofast.ingest.schemas import OrderIn, RefundIn, ShipmentIn
from trofast.kit.money import to_minor
from trofast.kit.time import utc_now
from trofast.models import Order, OrderStatusChange, RefundLine
from trofast.order import repository
from trofast.order.amounts import order_amounts
from trofast.order.errors import CurrencyMismatch

_PAID = {"paid", "partially_refunded", "refunded"}


@dataclass(frozen=True)
class SnapshotResult:
    order_id: int
    created: bool  # the order (not a shell) is new
    was_shell: bool  # parked events are waiting on it
    stale: bool  # an older snapshot than the one stored: ignored
    order: Order  # the row, locked for this unit of work


def lock_or_shell(session: Session, source: str, external_id: str, currency: str) -> Order:
    """The order row, locked; a shell row if the order has not arrived yet.

    Both an order snapshot and a fact for it go through this one row, so they serialise on
    its lock: a refund can never be parked after its order already released the parked ones.
    """
    now = utc_now()
    repository.insert_order(
        session,
        {
            "source": source,
            "external_id": external_id,
            "currency": currency,
            "created_at": now,
            "updated_at": now,
        },
    )
    order = repository.lock_order(session, source, external_id)
    assert order is not None
    return order


def apply_snapshot(
    session: Session,
    *,
    source: str,
    snapshot: OrderIn,
    customer_id: int | None,
    seen_at: datetime,
    event_id: int | None,
) -> SnapshotResult:
    now = utc_now()
    amounts = order_amounts(snapshot)
    order_at = snapshot.updated_at or seen_at
    fields: dict[str, Any] = {
        "number": snapshot.number,
        "channel": snapshot.channel,
        "store_id": repository.store_id(session, snapshot.store, now) if snapshot.store else None,
        "email": snapshot.customer.email if snapshot.customer else None,
        "phone": snapshot.customer.phone if snapshot.customer else None,
        "currency": snapshot.currency,
        "presentment_currency": snapshot.presentment_currency,
        "presentment_total_minor": amounts.presentment_total,
        "subtotal_minor": amounts.subtotal,
        "discount_minor": amounts.discount,
        "shipping_minor": amounts.shipping,
        "tax_minor": amounts.tax,
        "total_minor": amounts.total,
        "discount_codes": list(snapshot.discount_codes),
        "loyalty_opt_in": snapshot.loyalty_opt_in,
        "placed_at": snapshot.placed_at,
        "cancel_reason": snapshot.cancel_reason,
        "source_updated_at": order_at,
    }
    if customer_id is not None:
        fields["customer_id"] = customer_id
    inserted = repository.insert_new_order(
        session,
        {
            **fields,
            **_initial_state(snapshot, order_at),
            "source": source,
            "external_id": snapshot.id,
            "snapshot_at": now,
            "created_at": now,
            "updated_at": now,
            "attributes": {},
        },
    )
    new_id = inserted.id if inserted is not None else None
    order = inserted or repository.lock_order(session, source, snapshot.id)
    assert order is not None
    was_shell = new_id is None and order.snapshot_at is None
    if new_id is None and not was_shell:
        assert order.source_updated_at is not None
        if order_at <= order.source_updated_at:
            return SnapshotResult(order.id, created=False, was_shell=False, stale=True, order=order)
    if new_id is None:
        for name, value in fields.items():
            setattr(order, name, value)
        order.snapshot_at = now
        order.updated_at = now
    created = new_id is not None or was_shell
    _apply_status(session, order, snapshot, order_at, event_id, initial=created)
    _apply_lines(session, order, snapshot, has_lines=not created)
    return SnapshotResult(order.id, created=created, was_shell=was_shell, stale=False, order=order)


def _initial_state(snapshot: OrderIn, at: datetime) -> dict[str, Any]:
    """The status columns of an order first seen in this snapshot, as `_apply_status` would
    set them: inserted with the row instead of updated right after it."""
    paid = snapshot.financial_status in _PAID
    return {
        "status": "cancelled" if snapshot.cancelled_at is not None else "open",
        "financial_status": snapshot.financial_status,
        "fulfillment_status": snapshot.fulfillment_status,
        "cancelled_at": snapshot.cancelled_at,
        "paid_at": (snapshot.paid_at or at) if paid else None,
        "fulfilled_at": at if snapshot.fulfillment_status == "fulfilled" else None,
    }


def _apply_status(
    session: Session,
    order: Order,
    snapshot: OrderIn,
    at: datetime,
    event_id: int | None,
    *,
    initial: bool,
) -> None:
    status = "cancelled" if snapshot.cancelled_at is not None else "open"
    if snapshot.cancelled_at is not None and order.cancelled_at is None:
        order.cancelled_at = snapshot.cancelled_at
    if snapshot.financial_status in _PAID and order.paid_at is None:
        order.paid_at = snapshot.paid_at or at
    if snapshot.fulfillment_status == "fulfilled" and order.fulfilled_at is None:
        order.fulfilled_at = at
    statuses = {
        "status": status,
        "financial_status": snapshot.financial_status,
        "fulfillment_status": snapshot.fulfillment_status,
    }
    if not initial:
        for field, value in statuses.items():
            _set_status(session, order, field, value, at, event_id)
        return
    # A first snapshot records every status, from nothing: one INSERT for the three rows.
    for field, value in statuses.items():
        setattr(order, field, value)
    repository.add_status_changes(
        session,
        [
            {
                "order_id": order.id,
                "field": field,
                "old_value": None,
                "new_value": value,
                "occurred_at": at,
                "event_id": event_id,
            }
            for field, value in statuses.items()
        ],
    )


def _set_status(
    session: Session,
    order: Order,
    field: str,
    value: str,
    at: datetime,
    event_id: int | None,
) -> None:
    old = getattr(order, field)
    if old == value:
        return
    setattr(order, field, value)
    repository.add(
        session,
        OrderStatusChange(
            order_id=order.id,
            field=field,
            old_value=old,
            new_value=value,
            occurred_at=at,
            event_id=event_id,
        ),
    )


def _apply_lines(session: Session, order: Order, snapshot: OrderIn, *, has_lines: bool) -> None:
    """The snapshot's lines onto the order's; `has_lines` False: the order is new (or a
    shell, which facts never give lines), so there are none to read."""
    amounts = order_amounts(snapshot)
    products = [
        {
            "sku": line.sku,
            "name": line.name,
            "category": line.category,
            "brand": line.brand,
            "price_minor": a.unit_price,
            "currency": snapshot.currency,
            "sustainable": line.sustainable,
            "updated_at": utc_now(),
        }
        for line, a in zip(snapshot.lines, amounts.lines, strict=True)
        if line.sku
    ]
    product_ids = repository.product_ids(session, products)
    existing = repository.lines_by_external_id(session, order.id) if has_lines else {}
    new_rows = []
    # Lines missing from a later snapshot are kept: refunds may point at them, and sources
    # express removals as refunds or zero quantities, not by dropping the line.
    for line, a in zip(snapshot.lines, amounts.lines, strict=True):
        values = {
            "sku": line.sku,
            "product_id": product_ids.get(line.sku) if line.sku else None,
            "name": line.name,
            "category": line.category,
            "quantity": line.quantity,
            "unit_price_minor": a.unit_price,
            "discount_minor": a.discount,
            "tax_minor": a.tax,
            "total_minor": a.total,
            "gift_card": line.gift_card,
        }
        row = existing.get(line.id)
        if row is None:
            new_rows.append({"order_id": order.id, "external_id": line.id, **values})
            continue
        for name, value in values.items():
            setattr(row, name, value)
    # Written now, in one statement (the ORM's unit of work cost more than the INSERT):
    # whoever reads the lines next queries them.
    repository.insert_lines(session, new_rows)


def mark_paid(session: Session, order: Order, at: datetime, event_id: int | None) -> None:
    if order.paid_at is None:
        order.paid_at = at
    if order.financial_status in {"pending", "authorized", "partially_paid"}:
        _set_status(session, order, "financial_status", "paid", at, event_id)


def cancel(
    session: Session, order: Order, at: datetime, reason: str | None, event_id: int | None
) -> None:
    if order.cancelled_at is None:
        order.cancelled_at = at
        order.cancel_reason = reason
    _set_status(session, order, "status", "cancelled", at, event_id)


def mark_fulfilled(session: Session, order: Order, at: datetime, event_id: int | None) -> None:
    if order.fulfilled_at is None:
        order.fulfilled_at = at
    _set_status(session, order, "fulfillment_status", "fulfilled", at, event_id)


def record_shipment(session: Session, order: Order, shipment: ShipmentIn, at: datetime) -> None:
    delivered_at = shipment.delivered_at or (at if shipment.status == "delivered" else None)
    created = repository.insert_shipment(
        session,
        {
            "order_id": order.id,
            "external_id": shipment.id,
            "status": shipment.status,
            "carrier": shipment.carrier,
            "tracking_number": shipment.tracking_number,
            "shipped_at": shipment.shipped_at,
            "delivered_at": delivered_at,
            "status_at": at,
        },
    )
    if created is None:
        row = repository.shipment(session, order.id, shipment.id)
        if at >= row.status_at:
            row.status = shipment.status
            row.status_at = at
            row.carrier = shipment.carrier or row.carrier
            row.tracking_number = shipment.tracking_number or row.tracking_number
        # The delivered time is a fact: the first one reported stays.
        if delivered_at is not None and (
            row.delivered_at is None or delivered_at < row.delivered_at
        ):
            row.delivered_at = delivered_at
    if delivered_at is not None and (
        order.delivered_at is None or delivered_at < order.delivered_at
    ):
        order.delivered_at = delivered_at


def record_refund(
    session: Session, order: Order, refund: RefundIn, at: datetime, event_id: int | None
) -> bool:
    """Append the refund once; False when it was already recorded."""
    if refund.currency != order.currency:
        raise CurrencyMismatch(
            f"refund in {refund.currency} for an order in {order.currency}",
            detail={"order_currency": order.currency, "refund_currency": refund.currency},
        )
    amount = to_minor(refund.amount, refund.currency)
    refund_id = repository.insert_refund(
        session,
        {
            "order_id": order.id,
            "external_id": refund.id,
            "amount_minor": amount,
            "shipping_minor": to_minor(refund.shipping, refund.currency),
            "reason": refund.reason,
            "restock": refund.restock,
            "occurred_at": at,
            "event_id": event_id,
        },
    )
    if refund_id is None:
        return False
    lines = repository.lines_by_external_id(session, order.id)
    for line in refund.lines:
        matched = lines.get(line.line_id)
        repository.add(
            session,
            RefundLine(
                refund_id=refund_id,
                order_line_id=matched.id if matched else None,
                line_external_id=line.line_id,
                quantity=line.quantity,
                amount_minor=to_minor(line.amount, refund.currency),
            ),
        )
    repository.add_refunded(session, order.id, amount)
    session.refresh(order, ["refunded_minor"])
    fully = order.refunded_minor >= order.total_minor > 0
    _set_status(
        session,
        order,
        "financial_status",
        "refunded" if fully else "partially_refunded",
        at,
        event_id,
    )
    return True


def link_customer(session: Session, order: Order, customer_id: int) -> None:
    """Attach a guest order to a customer found later (admin action)."""
    order.customer_id = customer_id
    order.updated_at = utc_now()
    session.flush()
