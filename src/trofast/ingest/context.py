from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class ApplyContext:
    session: Session
    currency: str  # the shop's accounting currency, used for shell orders
    event_id: int
    now: datetime
