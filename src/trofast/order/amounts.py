"""Pure conversion of an order snapshot's decimal amounts into integer minor units."""

from __future__ import annotations

from dataclasses import dataclass

from trofast.ingest.schemas import OrderIn, OrderLineIn
from trofast.kit.money import to_minor


@dataclass(frozen=True)
class LineAmounts:
    unit_price: int
    discount: int
    tax: int
    total: int  # net merchandise value of the line: quantity × unit price − discount


@dataclass(frozen=True)
class OrderAmounts:
    subtotal: int  # Σ quantity × unit price, before discounts
    discount: int  # line discounts + order-level discount
    shipping: int
    tax: int
    total: int
    presentment_total: int | None
    lines: list[LineAmounts]


def line_amounts(line: OrderLineIn, currency: str) -> LineAmounts:
    unit = to_minor(line.unit_price, currency)
    discount = to_minor(line.discount, currency)
    return LineAmounts(
        unit_price=unit,
        discount=discount,
        tax=to_minor(line.tax, currency),
        total=line.quantity * unit - discount,
    )


def order_amounts(order: OrderIn) -> OrderAmounts:
    currency = order.currency
    lines = [line_amounts(line, currency) for line in order.lines]
    subtotal = sum(
        line.quantity * amounts.unit_price for line, amounts in zip(order.lines, lines, strict=True)
    )
    discount = sum(a.discount for a in lines) + to_minor(order.discount, currency)
    shipping = to_minor(order.shipping, currency)
    # Nordic prices include VAT, so tax is reported but not added on top when no total is given.
    total = (
        to_minor(order.total, currency)
        if order.total is not None
        else subtotal - discount + shipping
    )
    presentment = (
        to_minor(order.presentment_total, order.presentment_currency)
        if order.presentment_total is not None and order.presentment_currency
        else None
    )
    return OrderAmounts(
        subtotal=subtotal,
        discount=discount,
        shipping=shipping,
        tax=to_minor(order.tax, currency),
        total=total,
        presentment_total=presentment,
        lines=lines,
    )
