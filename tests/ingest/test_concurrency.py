"""Simultaneous deliveries over real HTTP: nothing lost, nothing doubled, no error to senders.

Runs on both databases; on PostgreSQL the requests really overlap in separate transactions,
on SQLite they queue on the write lock (BEGIN IMMEDIATE) and must not fail with
"database is locked".
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.ingest.factories import order_body
from tests.ingest.test_webhooks_api import SECRET, SHOP, order_fixture, shopify_headers
from tests.support.server import running_server
from trofast.auth import service as auth
from trofast.auth.scopes import Scope
from trofast.config import Settings
from trofast.db import build_sessionmaker, unit_of_work
from trofast.ingest import sources
from trofast.models import Customer, CustomerIdentity, Event, Order


def test_same_webhook_50_times_and_50_orders_of_one_customer(
    committed_engine: Engine, settings: Settings
) -> None:
    with unit_of_work(build_sessionmaker(committed_engine)) as session:
        sources.add_or_update(session, "shopify", SHOP, SECRET)
        key = auth.create_key(session, "load", [Scope.ingest]).secret
    webhook = order_fixture()
    webhook_headers = shopify_headers("orders/create", webhook, "evt-same")
    customer = {"email": "ola@example.no", "phone": "+4791234567", "external_id": "c-1"}
    orders = [
        json.dumps(order_body(f"web-{n}", email=None, customer=customer)).encode()
        for n in range(50)
    ]

    with running_server(settings, committed_engine) as url, httpx.Client(timeout=60) as client:

        def send(n: int) -> int:
            if n % 2 == 0:
                r = client.post(
                    f"{url}/v1/webhooks/shopify", content=webhook, headers=webhook_headers
                )
            else:
                r = client.post(
                    f"{url}/v1/events",
                    content=orders[n // 2],
                    headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                )
            return r.status_code

        with ThreadPoolExecutor(max_workers=20) as pool:
            statuses = list(pool.map(send, range(100)))

    assert statuses == [200] * 100
    with Session(committed_engine) as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 51
        web_orders = session.scalars(select(Order).where(Order.source == "api")).all()
        assert len(web_orders) == 50
        assert len({o.customer_id for o in web_orders}) == 1
        customer_id = web_orders[0].customer_id
        identities = session.scalars(
            select(CustomerIdentity.kind).where(CustomerIdentity.customer_id == customer_id)
        ).all()
        assert sorted(identities) == ["email", "external", "phone"]
        shopify_customers = session.scalar(
            select(func.count(func.distinct(Order.customer_id))).where(Order.source != "api")
        )
        assert shopify_customers == 1
        assert session.scalar(select(func.count()).select_from(Customer)) == 2
        assert session.scalar(select(func.count()).select_from(Event)) == 51
