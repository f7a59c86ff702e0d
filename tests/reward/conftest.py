"""A programme with one reward of each kind, points as payment, and helpers to give points."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trofast.ledger import queries
from trofast.ledger import service as ledger
from trofast.models import Customer, MemberTier
from trofast.program import service as programmes

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

CATALOGUE = """
name: Reward club
currency: NOK
expiry: {policy: lot, months: 12}
returns: {released_reward: RELEASED}
earning:
  - {id: base, kind: spend, rates: {NOK: 1}}
tiers:
  metric: points
  period: lifetime
  levels:
    - {id: base, name: Base, threshold: 0}
    - {id: silver, name: Silver, threshold: 1000}
    - {id: gold, name: Gold, threshold: 5000, rewards: [lounge]}
rewards:
  - {id: voucher-100, name: 100 kr voucher, kind: fixed_amount, cost: 1000,
     amount_minor: 10000, coupon_valid_days: 30}
  - {id: ten-off, name: 10 % off, kind: percent, cost: 500, percent: 10,
     max_amount_minor: 20000, min_order_minor: 50000}
  - {id: ship, name: Free shipping, kind: free_shipping, cost: 300, channels: [web]}
  - {id: socks, name: Free socks, kind: free_product, cost: 400, sku: SOCKS-1}
  - {id: lounge, name: Lounge evening, kind: custom, cost: 2000,
     instructions: We will e-mail you the invitation}
  - {id: limited, name: Tote bag, kind: custom, cost: 100, stock: 2,
     limits: {per_member: 1, total: 3}}
points_payment:
  value_minor: 10
  min_points: 100
  max_points: 5000
  max_share_percent: 50
"""


def apply_catalogue(session: Session, released: str = "coupon", extra: str = "") -> int:
    text = CATALOGUE.replace("RELEASED", released) + extra
    return programmes.apply(session, text).row.version


@pytest.fixture
def catalogue(db_session: Session) -> int:
    return apply_catalogue(db_session)


def new_member(session: Session, email: str = "kari@example.no") -> int:
    customer = Customer(email=email, is_member=True, created_at=T0, updated_at=T0)
    session.add(customer)
    session.flush()
    return customer.id


def give(
    session: Session, member: int, points: int, key: str, expires_at: datetime | None = None
) -> int:
    """An available lot of `points` for the member; returns its earning transaction."""
    return ledger.earn(session, member, key, points, expires_at=expires_at, now=T0).transaction_id


def set_level(session: Session, member: int, level: str) -> None:
    session.add(
        MemberTier(customer_id=member, level=level, since=T0, programme_version=1, updated_at=T0)
    )
    session.flush()


def available(session: Session, member: int) -> int:
    return queries.balance_summary(session, member).available


def count(session: Session, model: Any, *where: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def redeem(
    client: TestClient, headers: dict[str, str], member: int, reward: str, key: str = "k1"
) -> Any:
    return client.post(
        f"/v1/members/{member}/redemptions",
        json={"reward_id": reward},
        headers={**headers, "Idempotency-Key": key},
    )
