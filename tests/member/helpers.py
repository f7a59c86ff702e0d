"""Shared pieces of the member tests: a programme with a welcome bonus, and till receipts."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from trofast.ledger import queries
from trofast.models import LedgerTransaction
from trofast.program import service

PROGRAMME = """
name: Till club
currency: NOK
enrolment: {enrolment}
pending: {{return_window_days: 14}}
earning:
  - {{id: base, kind: spend, rates: {{NOK: 1}}}}
  - {{id: welcome, kind: action, action: signup, points: 100}}
tiers:
  metric: points
  period: lifetime
  levels:
    - {{id: base, name: Base, threshold: 0}}
    - {{id: gold, name: Gold, threshold: 5000}}
rewards:
  - {{id: tote, name: Tote bag, kind: custom, cost: 50}}
  - {{id: voucher, name: 100 kr voucher, kind: fixed_amount, cost: 1000, amount_minor: 10000}}
  - {{id: ship, name: Free shipping, kind: free_shipping, cost: 10, channels: [web]}}
"""


def apply_programme(session: Session, enrolment: str = "opt_in") -> None:
    service.apply(session, PROGRAMME.format(enrolment=enrolment))
    session.flush()


def receipt(
    receipt_id: str,
    number: str,
    price: str,
    *,
    at: str = "2026-03-03T12:00:00Z",
    member: dict[str, Any] | None = None,
    opt_in: bool = False,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": receipt_id,
        "number": number,
        "occurred_at": at,
        "currency": "NOK",
        "lines": [{"id": "1", "sku": "SWEATER", "quantity": 1, "unit_price": price}],
        "total": price,
    }
    if member is not None:
        body["member"] = member
    if opt_in:
        body["loyalty_opt_in"] = True
    return body


def send_receipts(
    client: TestClient, headers: dict[str, str], *receipts: dict[str, Any], store: str = "oslo-1"
) -> list[dict[str, Any]]:
    response = client.post(
        "/v1/pos/receipts", json={"store": store, "receipts": list(receipts)}, headers=headers
    )
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def balance(session: Session, customer_id: int) -> tuple[int, int]:
    """(pending, available) points."""
    summary = queries.balance_summary(session, customer_id)
    return summary.pending, summary.available


def earned_by_rule(session: Session, customer_id: int) -> dict[str, int]:
    """Points of the member's earn transactions per rule."""
    rows = session.scalars(
        select(LedgerTransaction.id).where(
            LedgerTransaction.kind == "earn", LedgerTransaction.customer_id == customer_id
        )
    ).all()
    earned: dict[str, int] = {}
    for tx in rows:
        view = queries.transaction_view(session, tx)
        rule = view.transaction.rule or ""
        earned[rule] = earned.get(rule, 0) + view.member_change
    return earned
