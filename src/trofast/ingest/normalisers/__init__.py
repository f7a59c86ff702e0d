"""Normalisers: pure functions from one raw delivery to canonical events, by channel.

    events = NORMALISERS[delivery.channel](delivery)

They read only the `RawDelivery` (no database, no clock), so a stored delivery replays to
the same events. Signature checks (`verify_shopify`, `verify_woocommerce`) are separate:
the endpoint verifies before it stores the delivery as processable.
"""

from __future__ import annotations

from trofast.ingest.normalisers.base import DeliveryLike, Normaliser, RawDelivery, lower_headers
from trofast.ingest.normalisers.errors import InvalidJson, InvalidPayload, UnsupportedTopic
from trofast.ingest.normalisers.segment import make_segment_normaliser, normalise_segment
from trofast.ingest.normalisers.shopify import (
    normalise_shopify,
    shopify_shop_domain,
    shopify_topic,
    verify_shopify,
)
from trofast.ingest.normalisers.woocommerce import (
    is_woocommerce_ping,
    normalise_woocommerce,
    verify_woocommerce,
    woocommerce_source,
    woocommerce_topic,
)

NORMALISERS: dict[str, Normaliser] = {
    "shopify": normalise_shopify,
    "woocommerce": normalise_woocommerce,
    "segment": normalise_segment,
}

__all__ = [
    "NORMALISERS",
    "DeliveryLike",
    "InvalidJson",
    "InvalidPayload",
    "Normaliser",
    "RawDelivery",
    "UnsupportedTopic",
    "is_woocommerce_ping",
    "lower_headers",
    "make_segment_normaliser",
    "normalise_segment",
    "normalise_shopify",
    "normalise_woocommerce",
    "shopify_shop_domain",
    "shopify_topic",
    "verify_shopify",
    "verify_woocommerce",
    "woocommerce_source",
    "woocommerce_topic",
]
