from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from trofast.ingest.schemas import CanonicalEvent
from trofast.ingest.service import apply_events
from trofast.program import service

_EVENT: TypeAdapter[Any] = TypeAdapter(CanonicalEvent)

BASIC = """
name: Test club
currency: NOK
pending: {return_window_days: 14}
expiry: {policy: lot, months: 12}
earning:
  - {id: base, kind: spend, rates: {NOK: 1}}
  - {id: first, kind: first_order, points: 100}
tiers:
  metric: points
  period: lifetime  # calendar_year would tie these tests to the real clock
  levels:
    - {id: base, name: Base, threshold: 0}
    - {id: silver, name: Silver, threshold: 1000, retain: 800, multiplier: 2}
"""

Ingest = Callable[..., list[dict[str, Any]]]


@pytest.fixture
def programme(db_session: Session) -> int:
    return service.apply(db_session, BASIC).row.version


@pytest.fixture
def ingest(db_session: Session) -> Ingest:
    def run(*bodies: dict[str, Any]) -> list[dict[str, Any]]:
        events = [_EVENT.validate_python(body) for body in bodies]
        return apply_events(db_session, events, None, currency="NOK")

    return run
