"""The `delivery` factory fixture for the normaliser tests. No database needed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from trofast.ingest.normalisers import RawDelivery

from .support import RECEIVED_AT


@pytest.fixture
def delivery() -> Callable[..., RawDelivery]:
    def make(channel: str, body: bytes | dict[str, Any], **fields: Any) -> RawDelivery:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return RawDelivery(channel=channel, body=raw, received_at=RECEIVED_AT, **fields)

    return make
