"""Builders for canonical event bodies used across the ingestion tests."""

from __future__ import annotations

from typing import Any


def order_body(
    order_id: str = "1001",
    *,
    key: str | None = None,
    type_: str = "order.placed",
    email: str | None = "kari@example.no",
    updated_at: str = "2026-03-01T10:00:00Z",
    financial_status: str = "paid",
    lines: list[dict[str, Any]] | None = None,
    **order: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": order_id,
        "currency": "NOK",
        "placed_at": "2026-03-01T10:00:00Z",
        "updated_at": updated_at,
        "financial_status": financial_status,
        "lines": lines
        if lines is not None
        else [
            {
                "id": "L1",
                "sku": "SKU-1",
                "name": "Ullgenser",
                "quantity": 2,
                "unit_price": "499.50",
            },
            {
                "id": "L2",
                "sku": "SKU-2",
                "name": "Lue",
                "quantity": 1,
                "unit_price": "199",
                "discount": "20.00",
            },
        ],
        "shipping": "49.00",
        **order,
    }
    if email is not None:
        body["customer"] = {"email": email}
    return {
        "idempotency_key": key or f"{type_}:{order_id}:{updated_at}",
        "type": type_,
        "occurred_at": updated_at,
        "order": body,
    }


def refund_body(order_id: str = "1001", refund_id: str = "R1", **refund: Any) -> dict[str, Any]:
    return {
        "idempotency_key": f"refund:{order_id}:{refund_id}",
        "type": "order.refunded",
        "occurred_at": "2026-03-05T09:00:00Z",
        "order_id": order_id,
        "refund": {
            "id": refund_id,
            "currency": "NOK",
            "amount": "499.50",
            "lines": [{"line_id": "L1", "quantity": 1, "amount": "499.50"}],
            **refund,
        },
    }


def shipment_body(order_id: str = "1001", status: str = "delivered") -> dict[str, Any]:
    return {
        "idempotency_key": f"shipment:{order_id}:{status}",
        "type": "shipment.updated",
        "occurred_at": "2026-03-04T15:00:00Z",
        "order_id": order_id,
        "shipment": {"id": "S1", "status": status, "delivered_at": "2026-03-04T14:30:00Z"},
    }
