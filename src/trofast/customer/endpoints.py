from __future__ import annotations

from typing import Annotated

import phonenumbers
from fastapi import APIRouter, Path, Query

from trofast.auth.dependencies import AUTH_RESPONSES, AdminKey
from trofast.customer import repository, service
from trofast.customer.schemas import CustomerDetail, CustomerOut
from trofast.deps import SessionDep, SettingsDep
from trofast.ingest.types import DEFAULT_PHONE_REGION, normalise_email, normalise_phone
from trofast.kit.nul import NO_NUL

router = APIRouter(prefix="/v1/customers", tags=["customers"])


@router.get(
    "",
    response_model=list[CustomerOut],
    responses=AUTH_RESPONSES,
    summary="Find customers by e-mail, phone or external id",
)
def list_customers(
    session: SessionDep,
    _key: AdminKey,
    email: Annotated[str | None, Query(max_length=320, pattern=NO_NUL)] = None,
    phone: Annotated[str | None, Query(max_length=40, pattern=NO_NUL)] = None,
    external_id: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[int, Query(ge=0, le=2**53)] = 0,
) -> list[CustomerOut]:
    e164 = None
    if phone:
        try:
            e164 = normalise_phone(phone, DEFAULT_PHONE_REGION)
        except (ValueError, phonenumbers.NumberParseException):
            # Not a phone number, so no customer has it: an empty result, not an error.
            return []
    rows = repository.search(
        session,
        email=normalise_email(email) if email else None,
        phone=e164,
        external_id=external_id,
        limit=limit,
        after_id=after,
    )
    return [CustomerOut.model_validate(row, from_attributes=True) for row in rows]


@router.get(
    "/{customer_id}",
    response_model=CustomerDetail,
    responses={**AUTH_RESPONSES, 404: {"description": "customer_not_found"}},
    summary="A customer with identities, consent, order count and total spend",
)
def get_customer(
    customer_id: Annotated[int, Path(ge=1, le=2**53)],
    session: SessionDep,
    settings: SettingsDep,
    _key: AdminKey,
) -> CustomerDetail:
    return CustomerDetail.build(service.view(session, customer_id), settings.currency)
