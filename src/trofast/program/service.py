"""Programme versions: apply a document, read the one in force.

Applying a document that equals the newest version changes nothing (same digest), so
`trofast program apply` can run on every deploy. Versions are append-only: points keep
the version number and rule that earned them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trofast.errors import Conflict
from trofast.kit.time import utc_now
from trofast.kit.txcache import transaction_cache
from trofast.models import Customer, ProgrammeVersion
from trofast.program import document, repository
from trofast.program.document import Programme
from trofast.program.errors import NoProgramme, ProgrammeVersionNotFound


@dataclass(frozen=True, slots=True)
class Active:
    version: int
    programme: Programme


def is_member(programme: Programme, customer: Customer) -> bool:
    return programme.enrolment == "automatic" or customer.is_member


@dataclass(frozen=True, slots=True)
class Applied:
    row: ProgrammeVersion
    created: bool  # False: the document equals the version in force


class ConcurrentApply(Conflict):
    default_code = "programme_changed_concurrently"
    retryable = True


# Parsed documents by digest: content-addressed, so the cache can never go stale (not even
# when a rolled-back transaction reuses a version number).
_PARSED: dict[str, Programme] = {}


def digest(programme: Programme) -> str:
    canonical = json.dumps(programme.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def apply(
    session: Session,
    text: str | bytes,
    *,
    fmt: Literal["yaml", "json"] = "yaml",
    note: str | None = None,
    api_key_id: int | None = None,
    now: datetime | None = None,
) -> Applied:
    """Validate `text` and make it the programme in force, as a new version."""
    source = document.decode(text)
    programme = document.load(source, fmt=fmt)
    return apply_programme(session, programme, source, note=note, api_key_id=api_key_id, now=now)


def apply_programme(
    session: Session,
    programme: Programme,
    source_text: str,
    *,
    note: str | None = None,
    api_key_id: int | None = None,
    now: datetime | None = None,
) -> Applied:
    sha = digest(programme)
    latest = repository.latest_version(session)
    if latest is not None and latest.sha256 == sha:
        return Applied(latest, False)
    number = (latest.version if latest else 0) + 1
    try:
        with session.begin_nested():
            row = repository.add_version(
                session,
                {
                    "version": number,
                    "name": programme.name,
                    "document": programme.model_dump(mode="json"),
                    "source_text": source_text,
                    "sha256": sha,
                    "note": note,
                    "api_key_id": api_key_id,
                    "created_at": now or utc_now(),
                },
            )
    except IntegrityError:
        raise ConcurrentApply(
            f"version {number} was applied by someone else meanwhile; apply again"
        ) from None
    _PARSED[sha] = programme
    return Applied(row, True)


# Read once per transaction (see kit/txcache.py): a delivery of 100 order events asks 100
# times. A version applied meanwhile by another transaction is seen by the next one.
_ACTIVE = "program.active"


def active(session: Session) -> Active | None:
    """The programme in force, or None before the first apply."""
    cache = transaction_cache(session)
    found: Active | None = cache.get(_ACTIVE)
    if found is not None:
        return found
    key = repository.latest_version_key(session)
    if key is None:
        return None
    parsed = _PARSED.get(key.sha256)
    if parsed is None:
        parsed = programme_of(session, key.version)
    found = cache[_ACTIVE] = Active(key.version, parsed)
    return found


def require_active(session: Session) -> Active:
    found = active(session)
    if found is None:
        raise NoProgramme("no programme has been applied yet (trofast program apply FILE)")
    return found


def programme_of(session: Session, number: int) -> Programme:
    row = get_version(session, number)
    parsed = _PARSED.get(row.sha256)
    if parsed is None:
        parsed = _PARSED[row.sha256] = document.validate(row.document)
    return parsed


def get_version(session: Session, number: int) -> ProgrammeVersion:
    row = repository.version(session, number)
    if row is None:
        raise ProgrammeVersionNotFound(f"no programme version {number}", detail={"version": number})
    return row


def versions(session: Session, limit: int) -> list[ProgrammeVersion]:
    return list(repository.versions(session, limit))
