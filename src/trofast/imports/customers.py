"""Set-based customer resolution for a chunk: the rules of `customer.identity`, in bulk.

A profile is what one order says about its buyer: (source customer id, e-mail, phone). Its
identity keys are looked up together; a profile with a known key belongs to the holder of its
highest-priority key (external > email > phone, as in `customer.identity`); a profile with
none gets a new customer, and profiles of the chunk that share a key share that customer.
Keys not yet known are attached to the customer. Existing customers' profile fields are left
alone: history must not overwrite newer data from the live channels.

A profile whose keys name two existing customers (a till customer by phone, a web customer
by e-mail) joins them by the rules of `customer.merge`, before anything else is resolved.

Claims race with live ingestion: a key claimed by someone else between our lookup and our
insert goes to them (ON CONFLICT DO NOTHING), and the new customer that lost it is merged
into the winner, exactly like `customer.identity.resolve` does for one event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl
from sqlalchemy.orm import Session

from trofast.customer import merge
from trofast.imports import repository
from trofast.imports.repository import IdentityKey

_PRIORITY = {"external": 0, "card": 1, "email": 2, "phone": 3}
PROFILE = ("customer_external_id", "email", "phone")


@dataclass(frozen=True)
class Resolved:
    customer_ids: pl.DataFrame  # PROFILE columns + customer_id
    created: int


def _keys(
    source: str, external: str | None, email: str | None, phone: str | None
) -> list[IdentityKey]:
    keys: list[IdentityKey] = []
    if external is not None:
        keys.append(("external", source, external))
    if email is not None:
        keys.append(("email", "", email))
    if phone is not None:
        keys.append(("phone", "", phone))
    return keys


def _best(keys: list[IdentityKey], holders: dict[IdentityKey, int]) -> int | None:
    held = [(_PRIORITY[k[0]], holders[k]) for k in keys if k in holders]
    return min(held)[1] if held else None


def resolve(session: Session, source: str, orders: pl.DataFrame, now: datetime) -> Resolved:
    profiles = (
        orders.select(PROFILE)
        .unique(maintain_order=True)
        .filter(pl.any_horizontal(pl.col(c).is_not_null() for c in PROFILE))
    )
    keyed = [(row, _keys(source, *row)) for row in profiles.iter_rows()]
    every_key = {k for _, keys in keyed for k in keys}
    found = _settled(session, keyed, repository.identity_holders(session, every_key), now)

    # Customers new to this chunk get temporary negative ids (-1, -2, ...) until they are inserted.
    owner: dict[IdentityKey, int] = dict(found)
    new_rows: list[dict[str, object]] = []
    chosen: list[int] = []
    for (_external, email, phone), keys in keyed:
        customer = _best(keys, owner)
        if customer is None:
            new_rows.append(
                {
                    "email": email,
                    "phone": phone,
                    "is_member": False,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            customer = -len(new_rows)
        for key in keys:
            owner.setdefault(key, customer)
        chosen.append(customer)

    real = dict(
        zip(
            range(-1, -len(new_rows) - 1, -1),
            repository.insert_customers(session, new_rows),
            strict=True,
        )
    )
    wanted = {k: real.get(c, c) for k, c in owner.items() if k not in found}
    claimed = repository.insert_identities(
        session,
        [
            {"customer_id": c, "kind": k[0], "source": k[1], "value": k[2], "created_at": now}
            for k, c in wanted.items()
        ],
    )
    merged = _merge_lost(
        session, {k: c for k, c in wanted.items() if k not in claimed}, set(real.values())
    )
    ids = [merged.get(real.get(c, c), real.get(c, c)) for c in chosen]
    table = profiles.with_columns(pl.Series("customer_id", ids, dtype=pl.Int64))
    return Resolved(customer_ids=table, created=len(new_rows) - len(merged))


def _settled(
    session: Session,
    keyed: list[tuple[tuple[str | None, ...], list[IdentityKey]]],
    found: dict[IdentityKey, int],
    now: datetime,
) -> dict[IdentityKey, int]:
    """Holders after joining the existing customers that one profile's keys name together."""
    conflicts = [keys for _, keys in keyed if len({found[k] for k in keys if k in found}) > 1]
    for keys in conflicts:
        # Rare, and one at a time on purpose: each merge runs the policy under its locks.
        merge.settle(session, keys, repository.identity_holders(session, keys), now)
    if not conflicts:
        return found
    return repository.identity_holders(session, found)


def _merge_lost(
    session: Session, lost: dict[IdentityKey, int], new_ids: set[int]
) -> dict[int, int]:
    """Keys another writer claimed first: their new customers merge into the winners."""
    if not lost:
        return {}
    holders = repository.identity_holders(session, lost)
    merged: dict[int, int] = {}
    for key in sorted(lost, key=lambda k: _PRIORITY[k[0]]):
        loser, winner = lost[key], holders[key]
        if loser in new_ids and loser not in merged and loser != winner:
            merged[loser] = winner
            repository.move_identities(session, loser, winner)
    repository.delete_customers(session, sorted(merged))
    return merged
