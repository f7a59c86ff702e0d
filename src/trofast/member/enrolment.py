"""Joining the club through the API or at the till.

The customer is found or created from the identities given (the same rules as ingestion:
external > card > email > phone), then enrolled through the programme (`program.enrolment`),
which gives the welcome bonus to the one call that made the customer a member. Sending the
same person again is answered with the same member and `enrolled = false`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from trofast.customer import identity
from trofast.customer import repository as customers
from trofast.customer import service as customer_service
from trofast.member import repository
from trofast.member.schemas import EnrolIn
from trofast.models import Consent, Customer
from trofast.program import enrolment


@dataclass(frozen=True)
class Enrolment:
    customer: Customer
    enrolled: bool  # this call made the customer a member
    welcome_points: int
    consents: list[Consent]  # in force, per channel


def enrol(session: Session, body: EnrolIn, now: datetime) -> Enrolment:
    customer_id = identity.resolve(session, body.source, body.customer, now)
    assert customer_id is not None  # the schema requires an identity key
    session.flush()
    awards = enrolment.enrol(session, customer_id, now, event_id=None, now=now)
    in_force = {c.channel: c for c in customers.current_consents(session, customer_id)}
    for consent in body.consents:
        held = in_force.get(consent.channel)
        # Consent history is append-only; enrolling twice with the same answers must not
        # write a second, identical row per channel.
        if held is None or held.granted != consent.granted:
            customer_service.record_consent(session, customer_id, consent, now, body.source)
    session.flush()
    customer = repository.get_customer(session, customer_id)
    assert customer is not None
    return Enrolment(
        customer=customer,
        enrolled=awards is not None,
        welcome_points=sum(award.points for award in awards or []),
        consents=customers.current_consents(session, customer_id),
    )
