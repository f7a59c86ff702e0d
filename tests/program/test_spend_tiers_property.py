"""Tiers on spend follow the member's spend through payments, partial refunds (with the
shipping refunded or not) and cancellations, in two currencies: after every event the
member stands on the level that the spend now counted reaches, up or down, as a lifetime
programme promises (an upgrade at once; a return takes back a level the spend no longer
reaches). Orders are paid when placed or later; some are gift cards, which earn no points
but count as spend.

The spend is computed here from the orders as sent (merchandise, without shipping, less
refunds, per currency; EUR at the tiers' rate, SEK not at all), not read back.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from trofast.ingest.schemas import CanonicalEvent
from trofast.ingest.service import apply_events
from trofast.kit.time import utc_now
from trofast.models import MemberTier
from trofast.program import service

_EVENT: TypeAdapter[Any] = TypeAdapter(CanonicalEvent)
THRESHOLDS = {"base": 0, "silver": 30_000, "gold": 150_000}  # øre: 300 and 1,500 NOK
PROGRAMME = """
name: Spend
currency: NOK
earning:
  - {id: base, kind: spend, rates: {NOK: 1, EUR: 11}}
tiers:
  metric: spend
  period: lifetime
  rates: {EUR: "11.5"}
  levels:
    - {id: base, name: Base, threshold: 0}
    - {id: silver, name: Silver, threshold: 30000}
    - {id: gold, name: Gold, threshold: 150000}
"""
RATES = {"NOK": (1, 1), "EUR": (115, 10)}  # SEK does not count
SHIPPING = 4900


@dataclass
class Sent:
    currency: str
    amount: int  # merchandise, minor units
    paid: bool = False
    cancelled: bool = False
    refunded: int = 0  # merchandise
    shipping_refunded: bool = False


_order = st.tuples(
    st.just("order"),
    st.sampled_from(["NOK", "NOK", "EUR", "SEK"]),
    st.integers(10_000, 80_000),
    st.sampled_from([True, True, False]),  # paid at once, or pending until a "pay"
    st.sampled_from([False, False, False, True]),  # a gift card
)
_step = st.one_of(
    _order,
    _order,
    st.tuples(st.just("pay"), st.integers(0, 9)),
    # A share of what is left, and with it, or not, the shipping (never spend).
    st.tuples(st.just("refund"), st.integers(0, 9), st.sampled_from([10, 50, 100]), st.booleans()),
    st.tuples(st.just("cancel"), st.integers(0, 9)),
)


def _money(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def _spend(orders: list[Sent]) -> int:
    by_currency: dict[str, int] = defaultdict(int)
    for order in orders:
        if order.paid and not order.cancelled:
            by_currency[order.currency] += order.amount - order.refunded
    value = 0
    for currency, amount in by_currency.items():
        if currency in RATES:
            numerator, denominator = RATES[currency]
            value += amount * numerator // denominator
    return value


def _level(value: int) -> str:
    return [level for level, threshold in THRESHOLDS.items() if value >= threshold][-1]


class Shop:
    """Sends one member's events and keeps what was sent."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.orders: list[Sent] = []
        self.at = utc_now()

    def send(self, body: dict[str, Any]) -> None:
        self.at += timedelta(seconds=1)
        body["occurred_at"] = self.at.isoformat()
        apply_events(self.session, [_EVENT.validate_python(body)], None, currency="NOK")

    def step(self, step: tuple[Any, ...]) -> None:
        kind, n = step[0], len(self.orders)
        if kind == "order":
            _, currency, amount, paid, gift_card = step
            self.order(Sent(currency, amount, paid=paid), gift_card)
            return
        if not n:
            return
        order = self.orders[step[1] % n]
        ref = str(step[1] % n)
        if kind == "pay" and not order.paid and not order.cancelled:
            order.paid = True
            self.send({"idempotency_key": f"pay:{ref}", "type": "order.paid", "order_id": ref})
        elif kind == "refund" and order.paid and not order.cancelled:
            amount = (order.amount - order.refunded) * step[2] // 100
            shipping = SHIPPING if step[3] and not order.shipping_refunded else 0
            if amount + shipping > 0:
                order.refunded += amount
                order.shipping_refunded = order.shipping_refunded or shipping > 0
                key = f"refund:{ref}:{order.refunded}:{shipping}"
                total, shipped = _money(amount + shipping), _money(shipping)
                refund = {"id": key, "currency": order.currency, "amount": total,
                          "shipping": shipped}  # fmt: skip
                body = {"idempotency_key": key, "type": "order.refunded", "order_id": ref}
                self.send({**body, "refund": refund})
        elif kind == "cancel" and not order.cancelled:
            order.cancelled = True
            self.send({"idempotency_key": f"cancel:{ref}", "type": "order.cancelled",
                       "order_id": ref})  # fmt: skip

    def order(self, sent: Sent, gift_card: bool) -> None:
        ref = str(len(self.orders))
        self.orders.append(sent)
        line = {"id": "L1", "sku": "S", "quantity": 1, "unit_price": _money(sent.amount),
                "gift_card": gift_card}  # fmt: skip
        order = {
            "id": ref,
            "currency": sent.currency,
            "placed_at": self.at.isoformat(),
            "financial_status": "paid" if sent.paid else "pending",
            "customer": {"email": "kari@example.no"},
            "lines": [line],
            "shipping": _money(SHIPPING),
        }
        self.send({"idempotency_key": f"order:{ref}", "type": "order.placed", "order": order})

    def level(self) -> str:
        self.session.expire_all()
        return self.session.scalars(select(MemberTier.level)).one_or_none() or "base"


@given(steps=st.lists(_step, min_size=2, max_size=16))
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_a_member_on_spend_stands_where_the_spend_counted_now_reaches(
    engine: Engine, steps: list[tuple[Any, ...]]
) -> None:
    with engine.connect() as connection:
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        try:
            service.apply(session, PROGRAMME)
            shop = Shop(session)
            for step in steps:
                shop.step(step)
                assert shop.level() == _level(_spend(shop.orders)), step
        finally:
            session.close()
            outer.rollback()
