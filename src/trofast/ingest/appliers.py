"""The registry of appliers: one function per canonical event type.

Each applier turns a validated event into writes through the domain services and returns
what the sender sees in `results[]`. Events about an order that has not arrived are
parked on a shell order and re-applied when the order comes (`release_parked`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from trofast.activity import service as activity
from trofast.coupon import orders as coupon_orders
from trofast.customer import identity
from trofast.customer import service as customers
from trofast.ingest import repository
from trofast.ingest.context import ApplyContext
from trofast.ingest.schemas import (
    ActionCompleted,
    CanonicalEvent,
    CartUpdated,
    CheckoutStarted,
    ConsentUpdated,
    CustomerUpserted,
    OrderCancelled,
    OrderFulfilled,
    OrderPaid,
    OrderPlaced,
    OrderRefunded,
    OrderUpdated,
    ProductViewed,
    ShipmentUpdated,
)
from trofast.models import Order
from trofast.order import service as orders
from trofast.program import actions, engine
from trofast.referral import service as referrals
from trofast.reward import payments as points_payments

Result = dict[str, Any]
Applier = Callable[[ApplyContext, Any], Result]

_EVENT = TypeAdapter(CanonicalEvent)


def _customer_upserted(ctx: ApplyContext, event: CustomerUpserted) -> Result:
    arrival = referrals.arriving(ctx.session, event.source, event.customer, event.referral_code)
    customer_id = identity.resolve(ctx.session, event.source, event.customer, event.occurred_at)
    assert customer_id is not None  # the schema requires an identity key
    for consent in event.consents:
        customers.record_consent(ctx.session, customer_id, consent, event.occurred_at, event.source)
    if arrival is not None:
        referrals.attribute(
            ctx.session, arrival, customer_id, order_id=None, event_id=ctx.event_id,
            currency=ctx.currency, now=ctx.now,
        )  # fmt: skip
    return {"status": "applied", "customer_id": customer_id}


def _consent_updated(ctx: ApplyContext, event: ConsentUpdated) -> Result:
    customer_id = identity.resolve(ctx.session, event.source, event.customer, event.occurred_at)
    if customer_id is not None:
        customers.record_consent(
            ctx.session, customer_id, event.consent, event.occurred_at, event.source
        )
    return {"status": "applied", "customer_id": customer_id}


def _order_snapshot(ctx: ApplyContext, event: OrderPlaced | OrderUpdated) -> Result:
    snapshot = event.order
    seen_at = snapshot.updated_at or event.occurred_at
    arrival = (
        referrals.arriving(ctx.session, event.source, snapshot.customer, snapshot.referral_code)
        if snapshot.customer
        else None
    )
    customer_id = (
        identity.resolve(ctx.session, event.source, snapshot.customer, seen_at)
        if snapshot.customer
        else None
    )
    result = orders.apply_snapshot(
        ctx.session,
        source=event.source,
        snapshot=snapshot,
        customer_id=customer_id,
        seen_at=event.occurred_at,
        event_id=ctx.event_id,
    )
    if result.was_shell:
        release_parked(ctx, result.order_id)
    if not result.stale:
        coupon_orders.order_applied(ctx.session, result.order_id)
        referrals.record_signals(ctx.session, result.order_id, snapshot)
    if arrival is not None and customer_id is not None:
        referrals.attribute(
            ctx.session, arrival, customer_id, order_id=result.order_id, event_id=ctx.event_id,
            currency=ctx.currency, now=ctx.now,
        )  # fmt: skip
    return {
        "status": "applied",
        "customer_id": customer_id,
        "order_id": result.order_id,
        # An order this event inserted (not a shell that facts were parked on) has no refunds.
        **_sync(ctx, result.order, new_order=result.created and not result.was_shell),
    }


def _on_order(
    apply: Callable[[ApplyContext, Order, Any], None],
) -> Applier:
    """Wrap a fact about an order: apply it now, or park it until the order arrives."""

    def applier(ctx: ApplyContext, event: Any) -> Result:
        order = orders.lock_or_shell(ctx.session, event.source, event.order_id, ctx.currency)
        if order.snapshot_at is None:
            return {"status": "parked", "order_id": None, "parked_order_id": order.id}
        apply(ctx, order, event)
        return {
            "status": "applied",
            "order_id": order.id,
            "customer_id": order.customer_id,
            **_sync(ctx, order),
        }

    return applier


def _sync(ctx: ApplyContext, order: Order, *, new_order: bool = False) -> Result:
    """Let the programme earn or reverse what the order now calls for."""
    if order.status == "cancelled":
        # Before the engine's reversals: the points the order paid with come back first.
        points_payments.order_cancelled(ctx.session, order)
    synced = engine.sync_order(
        ctx.session, order, event_id=ctx.event_id, now=ctx.now, new_order=new_order
    )
    return {"points": synced.earned} if synced is not None and synced.earned else {}


def _paid(ctx: ApplyContext, order: Order, event: OrderPaid) -> None:
    orders.mark_paid(ctx.session, order, event.occurred_at, ctx.event_id)


def _cancelled(ctx: ApplyContext, order: Order, event: OrderCancelled) -> None:
    orders.cancel(ctx.session, order, event.occurred_at, event.reason, ctx.event_id)
    coupon_orders.order_cancelled(ctx.session, order)


def _fulfilled(ctx: ApplyContext, order: Order, event: OrderFulfilled) -> None:
    orders.mark_fulfilled(ctx.session, order, event.occurred_at, ctx.event_id)
    if event.shipment is not None:
        orders.record_shipment(ctx.session, order, event.shipment, event.occurred_at)


def _shipment(ctx: ApplyContext, order: Order, event: ShipmentUpdated) -> None:
    orders.record_shipment(ctx.session, order, event.shipment, event.occurred_at)


def _refunded(ctx: ApplyContext, order: Order, event: OrderRefunded) -> None:
    orders.record_refund(ctx.session, order, event.refund, event.occurred_at, ctx.event_id)


def _action(ctx: ApplyContext, event: ActionCompleted) -> Result:
    customer_id = identity.resolve(ctx.session, event.source, event.customer, event.occurred_at)
    assert customer_id is not None  # the schema requires an identity key
    awards = actions.record_action(
        ctx.session,
        customer_id,
        event.action,
        event.reference,
        occurred_at=event.occurred_at,
        event_id=ctx.event_id,
        now=ctx.now,
    )
    return {
        "status": "applied",
        "customer_id": customer_id,
        "points": sum(award.points for award in awards),
    }


def _checkout(ctx: ApplyContext, event: CheckoutStarted | CartUpdated) -> Result:
    checkout = event.checkout
    customer_id = (
        identity.resolve(ctx.session, event.source, checkout.customer, event.occurred_at)
        if checkout.customer
        else None
    )
    activity.upsert_checkout(ctx.session, event.source, checkout, customer_id, event.occurred_at)
    return {"status": "applied", "customer_id": customer_id}


def _product_viewed(ctx: ApplyContext, event: ProductViewed) -> Result:
    customer_id = (
        identity.resolve(ctx.session, event.source, event.customer, event.occurred_at)
        if event.customer
        else None
    )
    activity.record_view(
        ctx.session, event.product, customer_id, event.anonymous_id, event.occurred_at, ctx.event_id
    )
    return {"status": "applied", "customer_id": customer_id}


APPLIERS: dict[str, Applier] = {
    "customer.upserted": _customer_upserted,
    "consent.updated": _consent_updated,
    "order.placed": _order_snapshot,
    "order.updated": _order_snapshot,
    "order.paid": _on_order(_paid),
    "order.cancelled": _on_order(_cancelled),
    "order.fulfilled": _on_order(_fulfilled),
    "shipment.updated": _on_order(_shipment),
    "order.refunded": _on_order(_refunded),
    "checkout.started": _checkout,
    "cart.updated": _checkout,
    "product.viewed": _product_viewed,
    "action.completed": _action,
}


def release_parked(ctx: ApplyContext, order_id: int) -> None:
    """Apply the events parked on an order that has just arrived, oldest first."""
    release_parked_on(ctx.session, order_id, currency=ctx.currency, now=ctx.now)


def release_parked_on(session: Session, order_id: int, *, currency: str, now: datetime) -> int:
    """`release_parked` for callers outside an event (the bulk import); events released.

    The caller holds the order's row lock, as `lock_or_shell` does, so no fact can be
    parked on the order after this read.
    """
    rows = repository.parked_on(session, order_id)
    for row in rows:
        event = _EVENT.validate_python(row.payload)
        inner = ApplyContext(session, currency, row.id, now)
        result = APPLIERS[event.type](inner, event)
        row.status = result["status"]
        row.result = {**(row.result or {}), **result, "released": True}
        row.parked_order_id = None if result["status"] == "applied" else row.parked_order_id
        row.applied_at = now
    return len(rows)
