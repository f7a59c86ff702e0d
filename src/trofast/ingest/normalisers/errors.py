"""Errors a normaliser raises; each carries a stable `code` the delivery log and API show.

    BadRequest
    ├── UnsupportedTopic      unsupported_topic (a topic or event this channel does not map)
    └── InvalidPayload        invalid_payload, or the field type's own code
        └── InvalidJson       invalid_json

`InvalidPayload.code` is the Pydantic error type when a value failed one of the canonical
field types (`unknown_currency`, `naive_timestamp`, `invalid_amount`, `negative_quantity`,
...; see `trofast.ingest.types`), so a bad Shopify body and a bad `POST /v1/events` body
report the same code for the same mistake.
"""

from __future__ import annotations

from typing import Any

from trofast.errors import BadRequest


class UnsupportedTopic(BadRequest):
    default_code = "unsupported_topic"


class InvalidPayload(BadRequest):
    default_code = "invalid_payload"

    def __init__(self, message: str, *, code: str | None = None, detail: Any = None) -> None:
        super().__init__(message, code=code, detail=detail)


class InvalidJson(InvalidPayload):
    default_code = "invalid_json"
