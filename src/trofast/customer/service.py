from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from trofast.customer import repository
from trofast.errors import NotFound
from trofast.ingest.schemas import ConsentIn
from trofast.kit.time import utc_now
from trofast.models import Consent, Customer, CustomerIdentity, CustomerMerge


class CustomerNotFound(NotFound):
    default_code = "customer_not_found"


def record_consent(
    session: Session, customer_id: int, consent: ConsentIn, at: datetime, source: str
) -> None:
    repository.add_consent(
        session,
        Consent(
            customer_id=customer_id,
            channel=consent.channel,
            granted=consent.granted,
            occurred_at=consent.occurred_at or at,
            source=source,
            recorded_at=utc_now(),
        ),
    )


@dataclass(frozen=True)
class CustomerView:
    customer: Customer
    identities: list[CustomerIdentity]
    consents: list[Consent]
    order_count: int
    total_spent_minor: int
    merges: list[CustomerMerge]


def view(session: Session, customer_id: int) -> CustomerView:
    customer = repository.get(session, customer_id)
    if customer is None:
        survivor = repository.merged_into(session, customer_id)
        if survivor is not None:
            # The id may be stored elsewhere (a CRM, an export): say where the person went.
            raise CustomerNotFound(
                f"customer {customer_id} was merged into customer {survivor}",
                detail={"merged_into": survivor},
            )
        raise CustomerNotFound(f"no customer {customer_id}")
    count, spent = repository.order_stats(session, customer_id)
    return CustomerView(
        customer=customer,
        identities=repository.identities_of(session, customer_id),
        consents=repository.current_consents(session, customer_id),
        order_count=count,
        total_spent_minor=spent,
        merges=repository.merges_of(session, customer_id),
    )
