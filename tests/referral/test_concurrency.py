"""Racing deliveries over real HTTP with real commits: one referral, one reward.

On PostgreSQL the requests really overlap; the referral's row lock and the UNIQUE friend
decide. On SQLite they queue on BEGIN IMMEDIATE. Both databases run these tests.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from pydantic import TypeAdapter
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.referral.conftest import PROGRAMME, customer_event, paid_order, recent
from tests.support.server import running_server
from trofast.auth import service as auth
from trofast.auth.scopes import Scope
from trofast.config import Settings
from trofast.db import build_sessionmaker, unit_of_work
from trofast.ingest.schemas import CanonicalEvent
from trofast.ingest.service import apply_events
from trofast.ledger import queries
from trofast.models import LedgerTransaction, Referral
from trofast.program import service as programmes
from trofast.referral import service

_EVENT: TypeAdapter[Any] = TypeAdapter(CanonicalEvent)


def setup(engine: Engine, *bodies: dict[str, Any]) -> tuple[str, int, str]:
    """(ingest key, referrer id, code) after the programme and `bodies` are applied."""
    with unit_of_work(build_sessionmaker(engine)) as session:
        key = auth.create_key(session, "shop", [Scope.ingest]).secret
        programmes.apply(session, PROGRAMME)
        events = [_EVENT.validate_python(customer_event("kari@example.no", key="referrer"))]
        referrer = apply_events(session, events, None, currency="NOK")[0]["customer_id"]
        code = service.code_for(session, referrer)
    with unit_of_work(build_sessionmaker(engine)) as session:
        events = [_EVENT.validate_python(b(code) if callable(b) else b) for b in bodies]
        apply_events(session, events, None, currency="NOK")
    return key, referrer, code


def race(base: str, key: str, bodies: list[dict[str, Any]]) -> list[int]:
    barrier = threading.Barrier(len(bodies))
    headers = {"Authorization": f"Bearer {key}"}

    def send(body: dict[str, Any]) -> int:
        with httpx.Client(base_url=base, timeout=120) as client:
            barrier.wait()
            return client.post("/v1/events", json=body, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(send, bodies))


def referral_keys(session: Session) -> list[str]:
    return sorted(
        session.scalars(
            select(LedgerTransaction.idempotency_key).where(
                LedgerTransaction.idempotency_key.like("referral:%")
            )
        )
    )


def test_two_first_orders_at_once_reward_the_referrer_once(
    committed_engine: Engine, settings: Settings
) -> None:
    key, referrer, _ = setup(
        committed_engine, lambda code: customer_event("ola@example.no", code=code)
    )
    # Both past the return window: whichever is first completes the referral at once.
    orders = [paid_order(f"F{n}", "ola@example.no", recent(30)) for n in (1, 2)]

    with running_server(settings, committed_engine) as base:
        assert race(base, key, orders) == [200, 200]

    with Session(committed_engine) as session:
        referral = session.scalars(select(Referral)).one()
        assert referral.status == "completed"
        assert referral.first_order_id is not None
        assert referral_keys(session) == [
            f"referral:{referral.id}:referrer",
            f"referral:{referral.id}:welcome",
        ]
        assert queries.balance_summary(session, referrer).available == 500


def test_one_new_friend_arriving_many_times_at_once_is_referred_once(
    committed_engine: Engine, settings: Settings
) -> None:
    key, referrer, code = setup(committed_engine)
    arrivals = [customer_event("ola@example.no", code=code, key=f"signup-{n}") for n in range(8)]

    with running_server(settings, committed_engine) as base:
        assert race(base, key, arrivals) == [200] * 8

    with Session(committed_engine) as session:
        referral = session.scalars(select(Referral)).one()
        assert (referral.referrer_id, referral.status) == (referrer, "pending")
        assert referral_keys(session) == [f"referral:{referral.id}:welcome"]
        assert queries.balance_summary(session, referral.friend_id).available == 200
