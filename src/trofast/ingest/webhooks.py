"""Signed webhooks from shops: verify, store, normalise, apply.

A delivery whose signature does not verify is stored as `rejected` (so a misconfigured
secret shows in the delivery log) and nothing in it is ever applied, not even on replay.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from trofast.config import Settings
from trofast.ingest import repository, service, sources
from trofast.ingest.errors import BadSignature, UnknownSource
from trofast.ingest.normalisers import (
    NORMALISERS,
    shopify_shop_domain,
    shopify_topic,
    verify_shopify,
    verify_woocommerce,
    woocommerce_source,
    woocommerce_topic,
)


@dataclass(frozen=True)
class WebhookKind:
    name: str
    source: Callable[[Mapping[str, str]], str | None]
    topic: Callable[[Mapping[str, str]], str | None]
    verify: Callable[[bytes, Mapping[str, str], str], bool]
    fallback_secret: Callable[[Settings], str | None]


KINDS: dict[str, WebhookKind] = {
    "shopify": WebhookKind(
        "shopify",
        shopify_shop_domain,
        shopify_topic,
        verify_shopify,
        lambda s: s.shopify_secret.get_secret_value() if s.shopify_secret else None,
    ),
    "woocommerce": WebhookKind(
        "woocommerce",
        woocommerce_source,
        woocommerce_topic,
        verify_woocommerce,
        lambda s: s.woocommerce_secret.get_secret_value() if s.woocommerce_secret else None,
    ),
}


def normaliser_for(channel: str) -> service.Normalise:
    """The pure normaliser of a webhook channel; it reads the stored delivery row."""
    return NORMALISERS[channel]


def receive_webhook(
    session: Session,
    kind: WebhookKind,
    headers: dict[str, str],
    body: bytes,
    settings: Settings,
) -> service.Outcome:
    source_name = sources.normalise_domain(kind.source(headers) or "")
    topic = kind.topic(headers) or ""
    secret = sources.secret_for(session, kind.name, source_name, kind.fallback_secret(settings))
    verified = secret is not None and kind.verify(body, headers, secret)
    delivery = service.new_delivery(
        channel=kind.name,
        source_name=source_name,
        topic=topic,
        headers=headers,
        body=body,
        verification="ok" if verified else "failed",
        api_key_id=None,
    )
    if not verified:
        error = (
            UnknownSource(f"no {kind.name} secret is configured for {source_name or 'this shop'}")
            if secret is None
            else BadSignature("the webhook signature does not match the body")
        )
        delivery.status = "rejected"
        delivery.error_code = error.code
        delivery.error = error.message
        repository.add_delivery(session, delivery)
        return service.Outcome(delivery, error=error)
    return service.receive(session, delivery, normaliser_for(kind.name), currency=settings.currency)
