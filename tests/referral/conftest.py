"""A programme with referrals, a referrer with a code, and builders for the friend's events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.ingest.factories import order_body
from tests.program.conftest import Ingest
from trofast.ingest.schemas import CanonicalEvent
from trofast.ingest.service import apply_events
from trofast.ledger import queries
from trofast.models import Customer, CustomerIdentity, Referral
from trofast.program import service as programmes
from trofast.referral import service

WINDOW = 14
PROGRAMME = f"""
name: Test club
currency: NOK
pending: {{return_window_days: {WINDOW}}}
earning:
  - {{id: base, kind: spend, rates: {{NOK: 1}}}}
referrals:
  welcome: {{points: 200}}
  referrer_points: 500
  max_rewarded_per_week: 2
"""
REFERRER_EMAIL = "kari.nordmann@gmail.com"
REFERRER_PHONE = "+4791234567"


_EVENT: TypeAdapter[Any] = TypeAdapter(CanonicalEvent)


@pytest.fixture
def ingest(db_session: Session) -> Ingest:
    def run(*bodies: dict[str, Any]) -> list[dict[str, Any]]:
        events = [_EVENT.validate_python(body) for body in bodies]
        return apply_events(db_session, events, None, currency="NOK")

    return run


@pytest.fixture
def programme(db_session: Session) -> int:
    return programmes.apply(db_session, PROGRAMME).row.version


def customer_event(
    email: str | None,
    *,
    key: str | None = None,
    code: str | None = None,
    phone: str | None = None,
    at: str = "2026-03-01T09:00:00Z",
) -> dict[str, Any]:
    customer: dict[str, Any] = {}
    if email:
        customer["email"] = email
    if phone:
        customer["phone"] = phone
    body: dict[str, Any] = {
        "idempotency_key": key or f"customer:{email or phone}:{code}",
        "type": "customer.upserted",
        "occurred_at": at,
        "customer": customer,
    }
    if code is not None:
        body["referral_code"] = code
    return body


def recent(days_ago: float) -> str:
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days_ago)
    return at.isoformat()


def paid_order(order_id: str, email: str, paid_at: str, **extra: Any) -> dict[str, Any]:
    """A paid order of 1,178 NOK of merchandise (1,178 base points), placed when paid."""
    return order_body(order_id, email=email, placed_at=paid_at, updated_at=paid_at, **extra)


@pytest.fixture
def referrer(db_session: Session, programme: int, ingest: Ingest) -> int:
    result = ingest(customer_event(REFERRER_EMAIL, phone=REFERRER_PHONE, key="referrer"))
    customer_id: int = result[0]["customer_id"]
    return customer_id


@pytest.fixture
def code(db_session: Session, referrer: int) -> str:
    return service.code_for(db_session, referrer)


def customer_id(session: Session, email: str) -> int:
    found = session.scalar(
        select(CustomerIdentity.customer_id).where(
            CustomerIdentity.kind == "email", CustomerIdentity.value == email
        )
    )
    assert found is not None
    return found


def referral_of(session: Session, friend: int) -> Referral:
    session.expire_all()
    return session.scalars(select(Referral).where(Referral.friend_id == friend)).one()


def balance(session: Session, member: int) -> tuple[int, int]:
    """(pending, available) points of a member."""
    summary = queries.balance_summary(session, member)
    return summary.pending, summary.available


def customers(session: Session) -> int:
    return len(session.scalars(select(Customer.id)).all())
