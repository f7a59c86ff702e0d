"""Canonical events that introduce a customer through one channel or another."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trofast.ingest.schemas import CanonicalEvent
from trofast.ingest.service import apply_events
from trofast.models import Base

_EVENT: TypeAdapter[Any] = TypeAdapter(CanonicalEvent)


def ingest(session: Session, *bodies: dict[str, Any]) -> list[dict[str, Any]]:
    events = [_EVENT.validate_python(body) for body in bodies]
    return apply_events(session, events, None, currency="NOK")


def upserted(key: str, *, source: str = "api", **customer: str) -> dict[str, Any]:
    return {
        "idempotency_key": key,
        "type": "customer.upserted",
        "occurred_at": "2026-03-01T10:00:00Z",
        "source": source,
        "customer": customer,
    }


def receipt(order_id: str, *, at: str = "2026-03-01T10:00:00Z", **customer: str) -> dict[str, Any]:
    """A paid store receipt of 500.00 NOK (one line) for the customer with these keys."""
    return {
        "idempotency_key": f"receipt:{order_id}",
        "type": "order.placed",
        "occurred_at": at,
        "source": "pos",
        "order": {
            "id": order_id,
            "currency": "NOK",
            "channel": "store",
            "placed_at": at,
            "updated_at": at,
            "financial_status": "paid",
            "customer": customer,
            "lines": [{"id": "1", "sku": "SKU-1", "quantity": 1, "unit_price": "500.00"}],
        },
    }


def row_counts(session: Session) -> dict[str, int]:
    """Rows per table, for asserting that nothing else changed."""
    session.flush()
    return {
        table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
        for table in Base.metadata.sorted_tables
    }
