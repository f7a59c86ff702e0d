"""One event's identity keys name two customers: merge them, or record them for review.

This happens when two channels met the same person separately: a till receipt created a
customer by phone, the web shop another by e-mail (or a web account id), and now one event
carries both keys. The policy, in `docs/integrations.md` ("One customer across channels"):

- A customer with loyalty history (enrolled, or any row in `repository.LOYALTY_COLUMNS`:
  ledger, tier, rewards, referrals, claims) is never absorbed. Its balance is the sum of
  postings on accounts named after its id, its lots and reversals point at its earning
  transactions, and its id is hashed into every ledger request: moving those rows would
  rewrite the append-only ledger, and re-issuing its points to another customer would count
  them twice until every later reversal knew about the copy.
- So the customers without loyalty history are merged into the one that has it, or into
  the oldest (lowest id) when none has it: identities, orders, consent, carts, product
  views and coupon use move, profile gaps are filled, the absorbed row is deleted, and a
  `customer_merges` row (`merged`) keeps the absorbed profile and what moved. The points
  ledger is untouched, so it stays exactly as correct as it was.
- Two or more customers with loyalty history stay apart: each pair is recorded once as a
  `candidate` for an admin, and the event goes to the holder of its strongest key, as
  before. The customers without history still merge into the oldest holder.

Concurrency: the customers are locked in primary-key order (two merges of the same pair
cannot deadlock), and the identities and loyalty history are read again under the lock, so
a concurrent merge or a concurrent first earning is seen. Replays are no-ops: after a merge
every key names the survivor, and a candidate pair is recorded once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from trofast.customer import repository
from trofast.customer.repository import IdentityKey
from trofast.errors import TransientError

_ATTEMPTS = 3
_PROFILE = ("email", "phone", "first_name", "last_name", "birthday", "locale")


class MergeContended(TransientError):
    """The customers changed under three attempts in a row; the sender's retry settles it."""

    default_code = "customer_merge_contended"


@dataclass(frozen=True, slots=True)
class Plan:
    survivor: int
    absorbed: tuple[int, ...]  # merged into the survivor
    candidates: tuple[int, ...]  # with loyalty history of their own: recorded for review


def plan(ids: Sequence[int], loyal: set[int]) -> Plan:
    """Who survives: the oldest customer with loyalty history, else the oldest customer."""
    holders = sorted(i for i in set(ids) if i in loyal)
    survivor = holders[0] if holders else min(ids)
    absorbed = tuple(sorted(i for i in set(ids) if i not in loyal and i != survivor))
    return Plan(survivor, absorbed, tuple(holders[1:]))


def settle(
    session: Session, keys: Sequence[IdentityKey], found: dict[IdentityKey, int], now: datetime
) -> dict[IdentityKey, int]:
    """Merge the customers `found` names where the policy allows; the holders afterwards."""
    # Rows added earlier in this unit of work (the session does not autoflush) must be in
    # the database for the UPDATEs that move them.
    session.flush()
    for _ in range(_ATTEMPTS):
        ids = set(found.values())
        if len(ids) < 2:
            return found
        alive = set(repository.lock_customers(session, ids))
        fresh = repository.identities_for(session, keys)
        if set(fresh.values()) <= alive:
            found = fresh
            break
        # A concurrent merge moved a key to a customer not locked yet: lock again.
        found = fresh
    else:
        raise MergeContended("the customers of this event changed concurrently; retry")
    ids = set(found.values())
    if len(ids) < 2:
        return found
    decided = plan(sorted(ids), repository.loyalty_holders(session, ids))
    joined = _joined_keys(found)
    for absorbed in decided.absorbed:
        _merge(session, absorbed, decided.survivor, joined, now)
    for other in decided.candidates:
        repository.record_merge(
            session,
            {
                "survivor_id": decided.survivor,
                "absorbed_id": other,
                "status": "candidate",
                "keys": joined,
                "absorbed": {},
                "moved": {},
                "created_at": now,
            },
        )
    return repository.identities_for(session, keys)


def _joined_keys(found: dict[IdentityKey, int]) -> list[dict[str, str]]:
    return [{"kind": k, "source": s, "value": v} for k, s, v in sorted(found)]


def _merge(
    session: Session, absorbed_id: int, survivor_id: int, keys: list[dict[str, str]], now: datetime
) -> None:
    absorbed = repository.get(session, absorbed_id)
    survivor = repository.get(session, survivor_id)
    # Both exist: `settle` found every holder among the customers it locked.
    assert absorbed is not None
    assert survivor is not None
    profile: dict[str, Any] = {f: getattr(absorbed, f) for f in _PROFILE}
    profile["birthday"] = absorbed.birthday.isoformat() if absorbed.birthday else None
    profile["created_at"] = absorbed.created_at.isoformat()
    for field in _PROFILE:
        # The survivor's own data wins; the absorbed customer only fills what it lacks.
        if getattr(survivor, field) is None and getattr(absorbed, field) is not None:
            setattr(survivor, field, getattr(absorbed, field))
    survivor.updated_at = now
    moved = repository.move_customer_rows(session, absorbed_id, survivor_id)
    repository.delete_customer(session, absorbed_id)
    repository.record_merge(
        session,
        {
            "survivor_id": survivor_id,
            "absorbed_id": absorbed_id,
            "status": "merged",
            "keys": keys,
            "absorbed": profile,
            "moved": moved,
            "created_at": now,
        },
    )
