from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from trofast.models import Customer

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def new_member(session: Session, email: str = "ola@example.no") -> int:
    customer = Customer(email=email, is_member=True, created_at=T0, updated_at=T0)
    session.add(customer)
    session.flush()
    return customer.id


@pytest.fixture
def member(db_session: Session) -> int:
    return new_member(db_session)
