"""Pure: the body of `POST /v1/events` (one event or `{"events": [...]}`) → events."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from trofast.errors import validation_failed
from trofast.ingest.schemas import CanonicalEvent, Envelope, EventBatch
from trofast.ingest.service import parse_json
from trofast.models import Delivery

_SINGLE: TypeAdapter[Any] = TypeAdapter(CanonicalEvent)


def normalise_canonical(delivery: Delivery) -> list[Envelope]:
    body = parse_json(delivery.body)
    try:
        if isinstance(body, dict) and "events" in body:
            return list(EventBatch.model_validate(body).events)
        return [_SINGLE.validate_python(body)]
    except ValidationError as exc:
        raise validation_failed(exc.errors(include_url=False)) from None
