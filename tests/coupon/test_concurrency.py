"""100 checkouts racing for one code over real HTTP, with real commits.

On PostgreSQL the requests really overlap: the conditional UPDATE on the coupon row decides
who gets a use. On SQLite they queue on BEGIN IMMEDIATE and must not fail with
"database is locked". Both databases run these tests.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.coupon.conftest import CART, T0
from tests.support.server import running_server
from trofast.auth import service as auth
from trofast.auth.scopes import Scope
from trofast.config import Settings
from trofast.coupon import service
from trofast.coupon.schemas import CouponIn
from trofast.db import build_sessionmaker, unit_of_work
from trofast.models import Coupon, CouponCustomerUse, CouponRedemption, Customer

N = 100


def setup(engine: Engine, members: int, **terms: Any) -> tuple[str, str, list[int]]:
    with unit_of_work(build_sessionmaker(engine)) as session:
        key = auth.create_key(session, "shop", [Scope.storefront]).secret
        customers = [
            Customer(email=f"m{n}@example.no", is_member=True, created_at=T0, updated_at=T0)
            for n in range(members)
        ]
        session.add_all(customers)
        session.flush()
        spec = CouponIn.model_validate(
            {"discount": {"kind": "fixed_amount", "amount_minor": 5000}, **terms}
        )
        coupon = service.create(session, spec, currency="NOK")
        return key, coupon.display, [c.id for c in customers]


def race(base: str, key: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    barrier = threading.Barrier(len(bodies))
    headers = {"Authorization": f"Bearer {key}"}

    def redeem(body: dict[str, Any]) -> httpx.Response:
        with httpx.Client(base_url=base, timeout=120) as client:
            barrier.wait()
            return client.post("/v1/coupons/redeem", json=body, headers=headers)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(redeem, bodies))


def body(code: str, order: int, customer: int | None = None) -> dict[str, Any]:
    return {
        "code": code,
        "cart": CART,
        "order": {"source": "web", "id": f"o{order}"},
        "customer_id": customer,
    }


def outcomes(responses: list[httpx.Response]) -> dict[tuple[int, str | None], int]:
    counted: dict[tuple[int, str | None], int] = {}
    for r in responses:
        outcome = (r.status_code, r.json()["code"] if r.status_code >= 400 else None)
        counted[outcome] = counted.get(outcome, 0) + 1
    return counted


def stored(engine: Engine) -> tuple[int, int]:
    with Session(engine) as session:
        uses = session.scalar(select(Coupon.uses))
        redemptions = session.scalar(select(func.count()).select_from(CouponRedemption))
        return int(uses or 0), int(redemptions or 0)


def test_100_checkouts_one_single_use_code_exactly_one_wins(
    committed_engine: Engine, settings: Settings
) -> None:
    key, code, _ = setup(committed_engine, 0)

    with running_server(settings, committed_engine) as base:
        responses = race(base, key, [body(code, n) for n in range(N)])

    assert outcomes(responses) == {(201, None): 1, (409, "already_used"): N - 1}
    assert stored(committed_engine) == (1, 1)


def test_100_checkouts_multi_use_code_stops_at_its_limit(
    committed_engine: Engine, settings: Settings
) -> None:
    key, code, _ = setup(committed_engine, 0, max_uses=7)

    with running_server(settings, committed_engine) as base:
        responses = race(base, key, [body(code, n) for n in range(N)])

    assert outcomes(responses) == {(201, None): 7, (409, "limit_reached"): N - 7}
    assert stored(committed_engine) == (7, 7)


def test_per_customer_limit_holds_under_concurrency(
    committed_engine: Engine, settings: Settings
) -> None:
    # 4 customers each send 25 orders at once; each may use the code twice.
    key, code, members = setup(committed_engine, 4, max_uses=None, per_customer_limit=2)

    with running_server(settings, committed_engine) as base:
        responses = race(base, key, [body(code, n, members[n % 4]) for n in range(N)])

    assert outcomes(responses) == {(201, None): 8, (409, "customer_limit_reached"): N - 8}
    assert stored(committed_engine) == (8, 8)
    with Session(committed_engine) as session:
        counters = session.execute(select(CouponCustomerUse.customer_id, CouponCustomerUse.uses))
        assert {row[0]: row[1] for row in counters} == dict.fromkeys(members, 2)


def test_100_retries_of_one_order_make_one_redemption(
    committed_engine: Engine, settings: Settings
) -> None:
    key, code, _ = setup(committed_engine, 0, max_uses=10)

    with running_server(settings, committed_engine) as base:
        responses = race(base, key, [body(code, 1) for _ in range(N)])

    assert outcomes(responses) == {(201, None): 1, (200, None): N - 1}
    assert len({r.json()["id"] for r in responses}) == 1
    assert stored(committed_engine) == (1, 1)
