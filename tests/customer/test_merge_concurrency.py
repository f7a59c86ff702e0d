"""Merges racing each other and the orders of the customer being absorbed, over real HTTP.

On PostgreSQL the requests overlap in separate transactions: merges lock both customers in
primary-key order, and an order that resolved the absorbed customer just before it was
deleted is retried and lands on the survivor. On SQLite they queue on the write lock.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.customer.helpers import ingest, receipt, upserted
from tests.support.server import running_server
from trofast.auth import service as auth
from trofast.auth.scopes import Scope
from trofast.config import Settings
from trofast.db import build_sessionmaker, unit_of_work
from trofast.models import Customer, CustomerIdentity, CustomerMerge, Delivery, Order

EMAIL = "kari@example.no"
PHONE = "+4791234567"


def test_simultaneous_merges_and_orders_end_with_one_customer(
    committed_engine: Engine, settings: Settings
) -> None:
    with unit_of_work(build_sessionmaker(committed_engine)) as session:
        key = auth.create_key(session, "load", [Scope.ingest]).secret
        [till] = ingest(session, upserted("till", phone=PHONE))
        ingest(session, upserted("web", email=EMAIL))
    older = till["customer_id"]
    bodies = [upserted(f"join-{n}", email=EMAIL, phone=PHONE) for n in range(10)]
    bodies += [receipt(f"W-{n}", email=EMAIL) for n in range(15)]
    bodies += [receipt(f"R-{n}", phone=PHONE) for n in range(15)]
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    with running_server(settings, committed_engine) as url, httpx.Client(timeout=60) as client:

        def send(body: dict[str, object]) -> tuple[int, object]:
            r = client.post(f"{url}/v1/events", content=json.dumps(body), headers=headers)
            return r.status_code, r.json()["results"][0].get("customer_id")

        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(send, bodies))

    with Session(committed_engine) as session:
        assert [status for status, _ in answers] == [200] * 40
        # Every join answered with the survivor; an order may have been applied just
        # before the merge, to the customer that was then absorbed (and its order moved).
        assert {customer for _, customer in answers[:10]} == {older}
        assert session.scalars(select(Customer.id)).all() == [older]
        assert set(session.scalars(select(CustomerIdentity.customer_id))) == {older}
        assert session.scalar(select(func.count()).select_from(Order)) == 30
        assert set(session.scalars(select(Order.customer_id))) == {older}
        merges = session.execute(select(CustomerMerge.survivor_id, CustomerMerge.status)).all()
        assert [tuple(m) for m in merges] == [(older, "merged")]
        assert set(session.scalars(select(Delivery.status))) == {"processed"}
