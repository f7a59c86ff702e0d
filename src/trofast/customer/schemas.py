from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

from trofast.customer.service import CustomerView


class IdentityOut(BaseModel):
    kind: str
    source: str
    value: str


class ConsentOut(BaseModel):
    channel: str
    granted: bool
    occurred_at: datetime
    source: str


class MergeOut(BaseModel):
    """A merge this customer took part in, or a candidate pair waiting for an admin."""

    survivor_id: int
    absorbed_id: int
    status: Literal["merged", "candidate"]
    created_at: datetime


class CustomerOut(BaseModel):
    id: int
    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None
    birthday: date | None
    locale: str | None
    is_member: bool
    created_at: datetime


class CustomerDetail(CustomerOut):
    identities: list[IdentityOut]
    consents: list[ConsentOut]
    order_count: int
    total_spent_minor: int
    currency: str
    merges: list[MergeOut]

    @classmethod
    def build(cls, view: CustomerView, currency: str) -> CustomerDetail:
        base = CustomerOut.model_validate(view.customer, from_attributes=True)
        return cls(
            **base.model_dump(),
            identities=[
                IdentityOut.model_validate(i, from_attributes=True) for i in view.identities
            ],
            consents=[ConsentOut.model_validate(c, from_attributes=True) for c in view.consents],
            order_count=view.order_count,
            total_spent_minor=view.total_spent_minor,
            currency=currency,
            merges=[MergeOut.model_validate(m, from_attributes=True) for m in view.merges],
        )
