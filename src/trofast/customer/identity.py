"""Resolve who a customer is from the keys an event carries.

One person across channels: a web account (`external` id scoped to its source), a normalised
e-mail, an E.164 phone and a loyalty card number all point at one customer. The first key
found wins in the order external > card > email > phone; keys not yet known are attached.
When the keys name two customers, `customer.merge` joins them or records them for review.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from trofast.customer import merge, repository
from trofast.customer.repository import IdentityKey
from trofast.ingest.schemas import CustomerIn
from trofast.kit.time import utc_now

_PRIORITY = {"external": 0, "card": 1, "email": 2, "phone": 3}


def identity_keys(source: str, customer: CustomerIn) -> list[IdentityKey]:
    keys: list[IdentityKey] = []
    if customer.external_id:
        keys.append(("external", source, customer.external_id))
    if customer.card_number:
        keys.append(("card", "", customer.card_number))
    if customer.email:
        keys.append(("email", "", customer.email))
    if customer.phone:
        keys.append(("phone", "", customer.phone))
    return keys


def known(session: Session, source: str, customer: CustomerIn) -> bool:
    """Whether any of these keys already names a customer (before `resolve` creates one)."""
    return bool(repository.identities_for(session, identity_keys(source, customer)))


def _best(found: dict[IdentityKey, int]) -> int:
    key = min(found, key=lambda k: _PRIORITY[k[0]])
    return found[key]


def resolve(session: Session, source: str, customer: CustomerIn, seen_at: datetime) -> int | None:
    """The customer id for these keys, creating the customer when none is known.

    Safe under concurrency: identities are claimed with INSERT … ON CONFLICT in one fixed
    order, so two requests for a new person converge on one customer, and the loser's
    empty customer row is removed in its own transaction.
    """
    keys = sorted(identity_keys(source, customer))
    if not keys:
        return None
    now = utc_now()
    found = repository.identities_for(session, keys, with_customers=True)
    if len(set(found.values())) > 1:
        found = merge.settle(session, keys, found, now)
    if found:
        customer_id = _best(found)
        repository.claim_identities(session, [k for k in keys if k not in found], customer_id, now)
    else:
        # A new person is inserted with the profile this event gives, rather than created
        # empty and updated at once (two statements on every first order).
        profile = _profile(customer)
        customer_id = repository.insert_customer(
            session,
            {
                **profile,
                "source_updated_at": seen_at if profile else None,
                "created_at": now,
                "updated_at": now,
                "is_member": False,
            },
        )
        claimed = repository.claim_identities(session, keys, customer_id, now)
        lost = [k for k in keys if k not in claimed]
        if not lost:
            return customer_id
        holders = repository.identities_for(session, lost)
        if len(set(holders.values())) > 1:
            # Two concurrent first sightings of this person's keys, each by another
            # customer: they are one person, as if the keys had arrived together.
            holders = merge.settle(session, lost, holders, now)
        winner = _best(holders)
        repository.move_identities(session, customer_id, winner)
        repository.delete_customer(session, customer_id)
        customer_id = winner
    _update_profile(session, customer_id, customer, seen_at)
    return customer_id


_PROFILE = ("email", "phone", "first_name", "last_name", "birthday", "locale")


def _profile(data: CustomerIn) -> dict[str, object]:
    return {field: value for field in _PROFILE if (value := getattr(data, field)) is not None}


def _update_profile(
    session: Session, customer_id: int, data: CustomerIn, seen_at: datetime
) -> None:
    row = repository.get(session, customer_id)
    assert row is not None
    newer = row.source_updated_at is None or seen_at >= row.source_updated_at
    changed = False
    for field, value in _profile(data).items():
        # An older delivery may still fill a gap, but never overwrites newer data.
        if (newer or getattr(row, field) is None) and getattr(row, field) != value:
            setattr(row, field, value)
            changed = True
    # Touch the row only when a field changed: an order event of a known customer must not
    # take the customer's row lock (it would serialise every order of that customer).
    if changed:
        row.source_updated_at = max(seen_at, row.source_updated_at or seen_at)
        row.updated_at = utc_now()
