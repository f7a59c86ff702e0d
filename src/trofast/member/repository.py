from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from trofast.models import Customer


def customer_exists(session: Session, customer_id: int) -> bool:
    return session.scalar(select(Customer.id).where(Customer.id == customer_id)) is not None
