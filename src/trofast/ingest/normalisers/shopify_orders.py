"""Shopify order and refund resources → canonical order snapshots and refund facts.

Money is read from the `*_set.shop_money` objects: the shop's currency is the accounting
currency, and the buyer's presentment currency is kept only as information. The plain
fields (`price`, `total_price`) are the fallback for old API versions that lack the sets.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from trofast.ingest.normalisers.base import (
    JSON,
    amount,
    clean_email,
    clean_phone,
    first_time,
    ident,
    obj,
    objects,
    require,
    text,
    timestamp,
)
from trofast.ingest.normalisers.errors import InvalidPayload

# Shopify's financial_status values; `expired` (an authorisation that lapsed) is voided money.
FINANCIAL_STATUS = {
    "pending": "pending",
    "authorized": "authorized",
    "partially_paid": "partially_paid",
    "paid": "paid",
    "partially_refunded": "partially_refunded",
    "refunded": "refunded",
    "voided": "voided",
    "expired": "voided",
}
# `restocked` means the goods went back to stock unshipped; null means nothing shipped yet.
FULFILLMENT_STATUS = {"fulfilled": "fulfilled", "partial": "partial", "restocked": "unfulfilled"}
PAID_STATUSES = frozenset({"paid", "partially_refunded", "refunded"})


def shop_amount(data: JSON, set_key: str, plain_key: str | None = None) -> Decimal:
    """`data[set_key].shop_money.amount`, else the plain field, else 0."""
    money = obj(obj(data, set_key), "shop_money")
    if "amount" in money:
        return amount(money["amount"], f"{set_key}.shop_money.amount")
    return amount(data.get(plain_key) if plain_key else None, plain_key or set_key)


def shop_currency(data: JSON, set_key: str) -> str | None:
    return text(obj(obj(data, set_key), "shop_money"), "currency_code")


def presentment_amount(data: JSON, set_key: str) -> Any:
    money = obj(obj(data, set_key), "presentment_money")
    return money.get("amount")


def customer_of(resource: JSON) -> JSON | None:
    """Identity from `customer` (id scoped by the event's source), e-mail and phone.

    The order's own e-mail and phone are the fallback for guests; a number without a
    country code is read in the billing or shipping country.
    """
    customer = obj(resource, "customer")
    region = text(obj(resource, "billing_address"), "country_code") or text(
        obj(resource, "shipping_address"), "country_code"
    )
    email = clean_email(text(customer, "email") or text(resource, "email"))
    email = email or clean_email(text(resource, "contact_email"))
    phone = clean_phone(text(customer, "phone"), region) or clean_phone(
        text(resource, "phone"), region
    )
    identity: JSON = {
        "external_id": ident(customer, "id"),
        "email": email,
        "phone": phone,
        "first_name": text(customer, "first_name"),
        "last_name": text(customer, "last_name"),
    }
    locale = text(resource, "customer_locale")
    if locale and len(locale) <= 16:
        identity["locale"] = locale
    if not any(identity[key] for key in ("external_id", "email", "phone")):
        return None
    return {key: value for key, value in identity.items() if value is not None}


def _line(line: JSON) -> JSON:
    allocations = objects(line, "discount_allocations")
    if allocations:
        discount = sum(
            (shop_amount(item, "amount_set", "amount") for item in allocations), Decimal(0)
        )
    else:
        discount = shop_amount(line, "total_discount_set", "total_discount")
    tax = sum(
        (shop_amount(item, "price_set", "price") for item in objects(line, "tax_lines")),
        Decimal(0),
    )
    return {
        "id": require(ident(line, "id"), "line_items[].id"),
        "sku": text(line, "sku"),
        "name": text(line, "name") or text(line, "title"),
        "brand": text(line, "vendor"),
        "quantity": line.get("quantity"),
        "unit_price": shop_amount(line, "price_set", "price"),
        "discount": discount,
        "tax": tax,
        "gift_card": line.get("gift_card") is True,
    }


def order_snapshot(order: JSON) -> JSON:
    """The canonical `OrderIn` fields of a Shopify order resource."""
    currency = require(text(order, "currency"), "currency")
    financial = text(order, "financial_status")
    fulfillment = text(order, "fulfillment_status")
    financial_status = FINANCIAL_STATUS.get(financial or "pending")
    if financial_status is None:
        raise InvalidPayload(f"unknown financial_status {financial!r}")
    placed_at = first_time(
        timestamp(order.get("processed_at"), "processed_at"),
        timestamp(order.get("created_at"), "created_at"),
    )
    shipping = shop_amount(order, "total_shipping_price_set")
    if "total_shipping_price_set" not in order:
        shipping = sum(
            (shop_amount(s, "price_set", "price") for s in objects(order, "shipping_lines")),
            Decimal(0),
        )
    presentment = text(order, "presentment_currency")
    snapshot: JSON = {
        "id": require(ident(order, "id"), "id"),
        "number": text(order, "name"),
        "customer": customer_of(order),
        "currency": currency,
        "presentment_currency": presentment,
        "presentment_total": presentment_amount(order, "total_price_set") if presentment else None,
        "lines": [_line(line) for line in objects(order, "line_items")],
        "discount": shop_amount(order, "total_discounts_set", "total_discounts"),
        "shipping": shipping,
        "tax": shop_amount(order, "total_tax_set", "total_tax"),
        "total": shop_amount(order, "total_price_set", "total_price"),
        "financial_status": financial_status,
        "fulfillment_status": FULFILLMENT_STATUS.get(fulfillment or "", "unfulfilled"),
        "placed_at": placed_at,
        "updated_at": timestamp(order.get("updated_at"), "updated_at"),
        "cancelled_at": timestamp(order.get("cancelled_at"), "cancelled_at"),
        "cancel_reason": text(order, "cancel_reason"),
        "discount_codes": [
            code for dc in objects(order, "discount_codes") if (code := text(dc, "code"))
        ],
    }
    # The order resource has no payment time; processed_at is when checkout completed,
    # which is the payment time for the card and wallet gateways nearly every shop uses.
    if financial_status in PAID_STATUSES:
        snapshot["paid_at"] = placed_at
    # Shopify POS orders: the till's location is the store.
    if text(order, "source_name") == "pos":
        snapshot["channel"] = "store"
        snapshot["store"] = ident(order, "location_id")
    return snapshot


def _refund_currency(refund: JSON) -> str | None:
    for line in objects(refund, "refund_line_items"):
        if code := shop_currency(line, "subtotal_set"):
            return code
    for key in ("total_duties_set", "total_additional_fees_set"):
        if code := shop_currency(refund, key):
            return code
    return None


def _refund_shipping(refund: JSON) -> tuple[Decimal, Decimal]:
    """(shipping refunded excluding tax, its tax) from refund_shipping_lines or adjustments."""
    lines = objects(refund, "refund_shipping_lines")
    if lines:
        net = sum((shop_amount(s, "subtotal_amount_set") for s in lines), Decimal(0))
        tax = sum((shop_amount(s, "total_tax_set") for s in lines), Decimal(0))
        return net, tax
    # Older API versions record a shipping refund as an adjustment with negative amounts.
    adjustments = [a for a in objects(refund, "order_adjustments") if a.get("kind") in _SHIP]
    net = sum((shop_amount(a, "amount_set", "amount") for a in adjustments), Decimal(0))
    tax = sum((shop_amount(a, "tax_amount_set", "tax_amount") for a in adjustments), Decimal(0))
    return abs(net), abs(tax)


_SHIP = frozenset({"shipping_refund"})


def refund_fact(refund: JSON, order_currency: str | None = None) -> tuple[str, JSON]:
    """(order id, canonical `RefundIn` fields) of a Shopify refund resource.

    The amount is the money that went back: successful `refund` transactions. A refund
    without transactions (a restock or a return without money back) refunds 0. When the
    transactions are in the buyer's presentment currency, the amount is rebuilt in shop
    money from the refunded lines, their tax, shipping and discrepancy adjustments.
    """
    order_id = require(ident(refund, "order_id"), "order_id")
    currency = _refund_currency(refund) or order_currency
    lines = objects(refund, "refund_line_items")
    shipping, shipping_tax = _refund_shipping(refund)
    refunds = [
        t
        for t in objects(refund, "transactions")
        if t.get("kind") == "refund" and t.get("status") == "success"
    ]
    total = Decimal(0)
    rebuild = False
    for transaction in refunds:
        tx_currency = text(transaction, "currency")
        if "amount_set" in transaction:
            total += shop_amount(transaction, "amount_set")
        elif currency is None or tx_currency in (None, currency):
            total += amount(transaction.get("amount"), "transactions[].amount")
            currency = currency or tx_currency
        else:
            rebuild = True
    if rebuild:
        total = (
            shipping
            + shipping_tax
            + sum(
                (
                    shop_amount(line, "subtotal_set", "subtotal")
                    + shop_amount(line, "total_tax_set", "total_tax")
                    for line in lines
                ),
                Decimal(0),
            )
        )
        total += sum(
            (
                shop_amount(a, "amount_set", "amount")
                for a in objects(refund, "order_adjustments")
                if a.get("kind") == "refund_discrepancy"
            ),
            Decimal(0),
        )
    fact: JSON = {
        "id": require(ident(refund, "id"), "id"),
        "currency": require(currency, "refund currency"),
        "amount": total,
        "shipping": shipping,
        "reason": text(refund, "note"),
        "restock": refund.get("restock") is True
        or any(line.get("restock_type") not in (None, "no_restock") for line in lines),
        "lines": [
            {
                "line_id": require(ident(line, "line_item_id"), "refund_line_items[].line_item_id"),
                "quantity": line.get("quantity"),
                "amount": shop_amount(line, "subtotal_set", "subtotal"),
            }
            for line in lines
        ],
    }
    return order_id, fact


def refund_time(refund: JSON) -> datetime | None:
    return first_time(
        timestamp(refund.get("processed_at"), "processed_at"),
        timestamp(refund.get("created_at"), "created_at"),
    )
