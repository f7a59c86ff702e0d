from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import make_key
from trofast.app import create_app
from trofast.auth.scopes import Scope
from trofast.config import Settings
from trofast.models import Customer

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def new_customer(session: Session, email: str = "kari@example.no") -> int:
    customer = Customer(email=email, is_member=True, created_at=T0, updated_at=T0)
    session.add(customer)
    session.flush()
    return customer.id


def count(session: Session, model: Any, *where: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def cart(
    *lines: tuple[str, str | None, int, int], shipping: int = 0, channel: str = "web"
) -> dict[str, Any]:
    """A cart body from (sku, category, quantity, unit price in øre) tuples."""
    return {
        "currency": "NOK",
        "channel": channel,
        "lines": [
            {"sku": sku, "category": category, "quantity": qty, "unit_price_minor": price}
            for sku, category, qty, price in lines
        ],
        "shipping_minor": shipping,
    }


# 2 × 499.00 sweaters and one 199.00 hat, 49.00 shipping: 1,197.00 of goods.
CART = cart(("SWEATER", "knitwear", 2, 49900), ("HAT", "accessories", 1, 19900), shipping=4900)


def create(client: TestClient, headers: dict[str, str], **terms: Any) -> dict[str, Any]:
    body = {"discount": {"kind": "fixed_amount", "amount_minor": 10000}, **terms}
    response = client.post("/v1/coupons", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def redeem_body(
    code: str, order: str = "1001", customer_id: int | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "code": code,
        "cart": CART,
        "order": {"source": "api", "id": order},
        "customer_id": customer_id,
        **extra,
    }


@pytest.fixture
def checkout_headers(db_session: Session) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key(db_session, Scope.storefront)}"}


def client_with(settings: Settings, db_session: Session, **overrides: Any) -> TestClient:
    app = create_app(settings.model_copy(update=overrides), engine=db_session.get_bind())  # type: ignore[arg-type]
    app.state.sessionmaker = sessionmaker(
        bind=db_session.connection(),
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )
    return TestClient(app)


@pytest.fixture
def strict_client(settings: Settings, db_session: Session) -> Iterator[TestClient]:
    """The API with guessing throttled after 3 unknown codes per shopper, 5 per key."""
    with client_with(
        settings,
        db_session,
        coupon_guess_limit_per_ip=3,
        coupon_guess_limit_per_key=5,
        coupon_guess_window_seconds=600,
    ) as client:
        yield client
