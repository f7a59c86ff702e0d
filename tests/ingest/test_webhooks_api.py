"""Signed webhooks end to end: verification, storage, dedup, out-of-order facts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from decimal import Decimal
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trofast.ingest import sources
from trofast.models import Delivery, Event, Order

FIXTURES = Path(__file__).parent / "normalisers" / "fixtures"
SHOP = "nordlys.myshopify.com"
SECRET = "shpss_test_secret"


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_headers(
    topic: str, body: bytes, event_id: str, *, prefix: str = "X-"
) -> dict[str, str]:
    return {
        f"{prefix}Shopify-Topic": topic,
        f"{prefix}Shopify-Shop-Domain": SHOP,
        f"{prefix}Shopify-Hmac-Sha256": sign(body),
        f"{prefix}Shopify-Event-Id": event_id,
        "Content-Type": "application/json",
    }


def order_fixture() -> bytes:
    return (FIXTURES / "shopify_order_multicurrency.json").read_bytes()


def test_signed_order_is_applied_once(app_client: TestClient, db_session: Session) -> None:
    sources.add_or_update(db_session, "shopify", SHOP, SECRET)
    body = order_fixture()
    headers = shopify_headers("orders/create", body, "evt-1")

    first = app_client.post("/v1/webhooks/shopify", content=body, headers=headers)
    second = app_client.post("/v1/webhooks/shopify", content=body, headers=headers)

    assert first.status_code == 200, first.text
    assert first.json()["results"][0]["status"] == "applied"
    assert second.json()["results"][0]["status"] == "duplicate"
    order = db_session.scalars(select(Order)).one()
    assert order.source == f"shopify:{SHOP}"
    assert order.external_id == str(json.loads(body)["id"])
    assert db_session.scalar(select(func.count()).select_from(Event)) == 1


def test_headers_without_x_prefix_are_accepted(app_client: TestClient, db_session: Session) -> None:
    sources.add_or_update(db_session, "shopify", SHOP, SECRET)
    body = order_fixture()

    response = app_client.post(
        "/v1/webhooks/shopify",
        content=body,
        headers=shopify_headers("orders/create", body, "evt-2", prefix=""),
    )

    assert response.status_code == 200, response.text


def test_bad_signature_is_401_and_nothing_is_applied(
    app_client: TestClient, db_session: Session
) -> None:
    sources.add_or_update(db_session, "shopify", SHOP, SECRET)
    body = order_fixture()
    headers = shopify_headers("orders/create", body, "evt-3")
    headers["X-Shopify-Hmac-Sha256"] = sign(body, "wrong-secret")

    response = app_client.post("/v1/webhooks/shopify", content=body, headers=headers)

    assert (response.status_code, response.json()["code"]) == (401, "bad_signature")
    assert db_session.scalar(select(func.count()).select_from(Order)) == 0
    assert db_session.scalar(select(func.count()).select_from(Event)) == 0
    delivery = db_session.scalars(select(Delivery)).one()
    assert (delivery.verification, delivery.status) == ("failed", "rejected")


def test_unknown_shop_is_401(app_client: TestClient, db_session: Session) -> None:
    body = order_fixture()

    response = app_client.post(
        "/v1/webhooks/shopify", content=body, headers=shopify_headers("orders/create", body, "e")
    )

    assert (response.status_code, response.json()["code"]) == (401, "unknown_source")
    assert db_session.scalar(select(func.count()).select_from(Order)) == 0


def test_woocommerce_ping_gets_200_and_stores_nothing(
    app_client: TestClient, db_session: Session
) -> None:
    response = app_client.post(
        "/v1/webhooks/woocommerce",
        content=b"webhook_id=12",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 200
    assert db_session.scalar(select(func.count()).select_from(Delivery)) == 0


def test_woocommerce_signed_order_with_refund(app_client: TestClient, db_session: Session) -> None:
    body = (FIXTURES / "woo_order_updated_refund.json").read_bytes()
    site = "butikk.example.no"
    sources.add_or_update(db_session, "woocommerce", site, "wc-secret")
    headers = {
        "X-WC-Webhook-Topic": "order.updated",
        "X-WC-Webhook-Source": f"https://{site}/",
        "X-WC-Webhook-Signature": sign(body, "wc-secret"),
        "X-WC-Webhook-Delivery-ID": "991",
        "Content-Type": "application/json",
    }

    response = app_client.post("/v1/webhooks/woocommerce", content=body, headers=headers)

    assert response.status_code == 200, response.text
    order = db_session.scalars(select(Order)).one()
    refunds = [int(-Decimal(r["total"]) * 100) for r in json.loads(body)["refunds"]]
    assert order.refunded_minor == sum(refunds)
