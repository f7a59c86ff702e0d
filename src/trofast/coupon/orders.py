"""Orders that arrive through ingestion redeem their Trofast codes, and cancelled ones
release them.

The order is a fact by the time it arrives: a code the shop accepted that Trofast would
refuse (used up, condition not met) cannot fail the delivery. Each code is redeemed in a
savepoint; a refusal rolls back only that code's writes and is logged with its reason.
Codes that are not Trofast coupons are the shop's own and are skipped without a word.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from trofast.coupon import repository, service
from trofast.coupon.discounts import Cart, CartLine
from trofast.errors import AppError
from trofast.models import Order

log = logging.getLogger(__name__)


def _cart(session: Session, order: Order) -> Cart:
    # The snapshot's lines were added through the ORM and sessions do not autoflush.
    session.flush()
    lines = [
        CartLine(line.sku, line.category, line.quantity, line.unit_price_minor)
        for line in repository.order_lines(session, order.id)
        if not line.gift_card  # a gift card is money, not goods a coupon discounts
    ]
    return Cart(order.currency, order.channel, lines, order.shipping_minor)


def order_applied(session: Session, order_id: int) -> None:
    """After a snapshot: redeem the order's Trofast codes, or release them if cancelled."""
    order = session.get(Order, order_id)  # locked and in the identity map already
    assert order is not None
    if order.status == "cancelled":
        order_cancelled(session, order)
        return
    if not order.discount_codes:
        return
    cart: Cart | None = None
    for text in order.discount_codes:
        if service.lookup(session, text) is None:
            continue
        cart = cart or _cart(session, order)
        try:
            with session.begin_nested():
                done = service.redeem(
                    session,
                    text,
                    cart,
                    customer_id=order.customer_id,
                    order_source=order.source,
                    order_ref=order.external_id,
                    at=order.placed_at,
                    order_id=order.id,
                )
        except AppError as refused:
            log.warning(
                "coupon_order_refused order_id=%s code=%s reason=%s",
                order.id,
                text,
                refused.code,
                extra={
                    "event": "coupon_order_refused",
                    "order_id": order.id,
                    "reason": refused.code,
                },
            )
            continue
        if done.redemption.order_id is None:
            # Redeemed at checkout before the order arrived: now we know which order it was.
            repository.link_order(session, done.redemption.id, order.id)


def order_cancelled(session: Session, order: Order) -> None:
    """Give back every use the order took; an order that redeemed nothing is left alone."""
    if repository.redemptions_of_order(session, order.source, order.external_id):
        service.release(session, order.source, order.external_id)
