from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from trofast.models import Delivery


class DeliveryOut(BaseModel):
    id: int
    channel: str
    source_name: str
    topic: str
    received_at: datetime
    verification: str
    status: str
    error_code: str | None
    error: str | None
    event_count: int
    attempts: int
    body_sha256: str

    @classmethod
    def from_row(cls, row: Delivery) -> DeliveryOut:
        return cls.model_validate(row, from_attributes=True)
