"""Generate the demo shop as canonical events (pure and seeded: same seed, same shop).

Customers buy with their own rate (a gamma-Poisson mix, as real shops look: many one-time
buyers, a loyal few), online and in stores; about 8 % of web orders are partly or fully
refunded; web orders are delivered 2–5 days after purchase.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from trofast.demo.catalog import FIRST_NAMES, LAST_NAMES, PRODUCTS, STORES

Event = dict[str, Any]
SOURCE = "demo-web"


def generate(customers: int, seed: int, end: datetime) -> Iterator[Event]:
    rng = random.Random(seed)
    # Birthdays draw from their own stream, so adding them left the rest of the shop as it was.
    birthdays = random.Random(f"{seed}:birthdays")
    start = end - timedelta(days=365)
    events: list[Event] = []
    for n in range(1, customers + 1):
        events.extend(_customer_events(rng, n, start, end, _birthday(birthdays, end)))
    events.sort(key=lambda e: (e["occurred_at"], e["idempotency_key"]))
    yield from events


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _birthday(rng: random.Random, end: datetime) -> str | None:
    """Seven in ten customers give a birthday (the programme's birthday bonus needs one):
    an adult's, on any day of the year, 29 February included."""
    if rng.random() >= 0.7:
        return None
    born = date(end.year - rng.randint(18, 75), 1, 1) + timedelta(days=rng.randrange(366))
    return born.isoformat()


def _customer_events(
    rng: random.Random, n: int, start: datetime, end: datetime, birthday: str | None
) -> list[Event]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    email = f"{first}.{last}.{n}@example.no".lower()
    phone = f"+479{n:07d}"
    joined = start + timedelta(seconds=rng.uniform(0, (end - start).total_seconds() * 0.9))
    customer = {
        "external_id": f"c{n}",
        "email": email,
        "phone": phone,
        "first_name": first,
        "last_name": last,
    }
    events: list[Event] = [
        {
            "idempotency_key": f"demo:customer:{n}",
            "type": "customer.upserted",
            "occurred_at": _iso(joined),
            "source": SOURCE,
            "customer": customer if birthday is None else {**customer, "birthday": birthday},
            "consents": [{"channel": "email", "granted": rng.random() < 0.6}],
        }
    ]
    rate = rng.gammavariate(0.9, 1 / 45)  # orders per day; mean ≈ 0.02 → ~7 a year at most
    moment = joined
    order_no = 0
    while True:
        moment += timedelta(days=rng.expovariate(max(rate, 1 / 400)))
        if moment >= end:
            break
        order_no += 1
        in_store = rng.random() < 0.3
        events.extend(_order(rng, n, order_no, moment, customer, in_store, end))
        if rng.random() < 0.15:  # a lapsed customer stops buying
            break
    for view in range(rng.randint(0, 4)):
        product = rng.choice(PRODUCTS)
        at = joined + timedelta(days=rng.uniform(0, max((end - joined).days, 1)))
        events.append(
            {
                "idempotency_key": f"demo:view:{n}:{view}",
                "type": "product.viewed",
                "occurred_at": _iso(min(at, end)),
                "source": SOURCE,
                "customer": {"external_id": f"c{n}"},
                "product": {"sku": product.sku, "name": product.name, "category": product.category},
            }
        )
    return events


def _order(
    rng: random.Random,
    n: int,
    order_no: int,
    at: datetime,
    customer: dict[str, Any],
    in_store: bool,
    end: datetime,
) -> list[Event]:
    picks = rng.sample(PRODUCTS, k=rng.choice([1, 1, 1, 2, 2, 3]))
    lines: list[dict[str, Any]] = [
        {
            "id": f"{i + 1}",
            "sku": p.sku,
            "name": p.name,
            "category": p.category,
            "brand": p.brand,
            "quantity": rng.choice([1, 1, 1, 2]),
            "unit_price": str(p.price),
            "sustainable": p.sustainable,
        }
        for i, p in enumerate(picks)
    ]
    order_id = f"{n}-{order_no}"
    if in_store:
        store = rng.choice(STORES)
        return [_receipt(order_id, at, store, customer, lines)]
    shipping = "0" if sum(int(ln["unit_price"]) * ln["quantity"] for ln in lines) >= 1000 else "79"
    events = [
        {
            "idempotency_key": f"demo:order:{order_id}",
            "type": "order.placed",
            "occurred_at": _iso(at),
            "source": SOURCE,
            "order": {
                "id": order_id,
                "number": f"#{10000 + n * 10 + order_no}",
                "customer": customer,
                "currency": "NOK",
                "lines": lines,
                "shipping": shipping,
                "financial_status": "paid",
                "placed_at": _iso(at),
                "updated_at": _iso(at),
                "paid_at": _iso(at),
            },
        }
    ]
    delivered = at + timedelta(days=rng.uniform(2, 5))
    if delivered < end:
        events.append(
            {
                "idempotency_key": f"demo:delivered:{order_id}",
                "type": "shipment.updated",
                "occurred_at": _iso(delivered),
                "source": SOURCE,
                "order_id": order_id,
                "shipment": {
                    "id": f"S{order_id}",
                    "status": "delivered",
                    "carrier": "Posten",
                    "delivered_at": _iso(delivered),
                },
            }
        )
    refunded = delivered + timedelta(days=rng.uniform(1, 12))
    if rng.random() < 0.08 and refunded < end:
        line = rng.choice(lines)
        amount = int(line["unit_price"]) * line["quantity"]
        events.append(
            {
                "idempotency_key": f"demo:refund:{order_id}",
                "type": "order.refunded",
                "occurred_at": _iso(refunded),
                "source": SOURCE,
                "order_id": order_id,
                "refund": {
                    "id": f"R{order_id}",
                    "currency": "NOK",
                    "amount": str(amount),
                    "reason": "retur",
                    "restock": True,
                    "lines": [
                        {"line_id": line["id"], "quantity": line["quantity"], "amount": str(amount)}
                    ],
                },
            }
        )
    return events


def _receipt(
    order_id: str, at: datetime, store: str, customer: dict[str, Any], lines: list[Any]
) -> Event:
    # A store receipt identifies the member by phone only, as a till does: the demo shows
    # that web and store purchases still land on one customer.
    return {
        "idempotency_key": f"pos:{store}:{order_id}",
        "type": "order.placed",
        "occurred_at": _iso(at),
        "source": f"pos:{store}",
        "order": {
            "id": order_id,
            "customer": {"phone": customer["phone"]},
            "channel": "store",
            "store": store,
            "currency": "NOK",
            "lines": lines,
            "financial_status": "paid",
            "fulfillment_status": "fulfilled",
            "placed_at": _iso(at),
            "updated_at": _iso(at),
            "paid_at": _iso(at),
        },
    }
