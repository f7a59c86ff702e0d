"""Bad input gets a clear 4xx with a stable code, and no domain data is written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.ingest.factories import order_body
from trofast.models import Customer, Delivery, Event, Order, OrderLine, Product


def domain_rows(session: Session) -> int:
    return sum(
        int(session.scalar(select(func.count()).select_from(model)) or 0)
        for model in (Customer, Event, Order, OrderLine, Product)
    )


def with_order(**changes: Any) -> dict[str, Any]:
    body = order_body()
    body["order"].update(changes)
    return body


def with_line(**changes: Any) -> dict[str, Any]:
    body = order_body()
    body["order"]["lines"][0].update(changes)
    return body


CASES = [
    pytest.param(b'{"type": "order.placed", ', 400, "invalid_json", id="malformed-json"),
    pytest.param(
        json.dumps(with_order(currency="XXQ")).encode(),
        422,
        "unknown_currency",
        id="unknown-currency",
    ),
    pytest.param(
        json.dumps(with_line(quantity=-1)).encode(),
        422,
        "negative_quantity",
        id="negative-quantity",
    ),
    pytest.param(
        json.dumps(with_order(placed_at="2026-03-01T10:00:00")).encode(),
        422,
        "naive_timestamp",
        id="naive-timestamp",
    ),
    pytest.param(
        json.dumps(with_line(unit_price="12.345")).encode(),
        422,
        "invalid_amount_precision",
        id="too-many-decimals",
    ),
    pytest.param(
        json.dumps(with_line(unit_price="-5")).encode(),
        422,
        "negative_amount",
        id="negative-amount",
    ),
    pytest.param(
        json.dumps(with_line(quantity="two")).encode(),
        422,
        "invalid_quantity",
        id="wrong-type-quantity",
    ),
    pytest.param(json.dumps(with_order(id=1.5)).encode(), 422, "invalid_id", id="float-id"),
    pytest.param(
        json.dumps(with_order(lines="none")).encode(),
        422,
        "validation_error",
        id="wrong-type-lines",
    ),
    pytest.param(
        json.dumps({**order_body(), "type": "order.exploded"}).encode(),
        422,
        "validation_error",
        id="unknown-type",
    ),
    pytest.param(json.dumps([1, 2]).encode(), 422, "validation_error", id="not-an-object"),
    # Found by Schemathesis: two lines with one id hit the unique index as a 503.
    pytest.param(
        json.dumps(
            with_order(
                lines=[
                    {"id": "1", "quantity": 1, "unit_price": "10"},
                    {"id": "1", "quantity": 2, "unit_price": "10"},
                ]
            )
        ).encode(),
        422,
        "duplicate_line_id",
        id="duplicate-line-id",
    ),
    # Found by Schemathesis on PostgreSQL, which cannot store NUL in text.
    pytest.param(
        json.dumps(with_line(name="a\x00b")).encode(), 400, "invalid_json", id="nul-character"
    ),
    pytest.param(
        json.dumps({"events": [order_body(str(n)) for n in range(1001)]}).encode(),
        422,
        "batch_too_large",
        id="batch-over-1000",
    ),
]


@pytest.mark.parametrize(("body", "status", "code"), CASES)
def test_bad_event_is_rejected_with_its_code(
    app_client: TestClient,
    ingest_headers: dict[str, str],
    db_session: Session,
    body: bytes,
    status: int,
    code: str,
) -> None:
    response = app_client.post(
        "/v1/events", content=body, headers={**ingest_headers, "content-type": "application/json"}
    )

    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert set(response.json()) == {"error", "code", "detail"}
    assert domain_rows(db_session) == 0
    delivery = db_session.scalars(select(Delivery)).one()
    assert (delivery.status, delivery.error_code) == ("rejected", code)


def test_one_bad_event_rejects_the_whole_batch(
    app_client: TestClient, ingest_headers: dict[str, str], db_session: Session
) -> None:
    events = [order_body("1"), with_order(currency="ZZZ")]

    response = app_client.post("/v1/events", json={"events": events}, headers=ingest_headers)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["events", 1]
    assert domain_rows(db_session) == 0


def test_oversize_body_is_413_and_not_stored(
    app_client: TestClient, ingest_headers: dict[str, str], db_session: Session, settings: Any
) -> None:
    body = b" " * (settings.max_body_bytes + 1)

    response = app_client.post(
        "/v1/events", content=body, headers={**ingest_headers, "content-type": "application/json"}
    )

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert db_session.scalar(select(func.count()).select_from(Delivery)) == 0


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        pytest.param({}, 401, "missing_api_key", id="no-key"),
        pytest.param(
            {"Authorization": "Bearer tf_nope_nope"}, 401, "invalid_api_key", id="unknown-key"
        ),
        pytest.param({"Authorization": "Bearer garbage"}, 401, "invalid_api_key", id="malformed"),
    ],
)
def test_events_need_a_valid_key(
    app_client: TestClient,
    db_session: Session,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    response = app_client.post("/v1/events", json=order_body(), headers=headers)

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert db_session.scalar(select(func.count()).select_from(Delivery)) == 0
