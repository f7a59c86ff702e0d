"""Webhook sources and their secrets."""

from __future__ import annotations

from sqlalchemy.orm import Session

from trofast.ingest import repository
from trofast.kit.time import utc_now
from trofast.models import Source


def normalise_domain(domain: str) -> str:
    domain = domain.strip().lower()
    for prefix in ("https://", "http://"):
        domain = domain.removeprefix(prefix)
    return domain.rstrip("/")


def add_or_update(session: Session, kind: str, domain: str, secret: str) -> Source:
    name = normalise_domain(domain)
    row = repository.source(session, kind, name)
    if row is None:
        row = Source(kind=kind, name=name, secret=secret, active=True, created_at=utc_now())
        repository.add_source(session, row)
    else:
        row.secret = secret
    return row


def list_all(session: Session) -> list[Source]:
    return repository.sources(session)


def secret_for(session: Session, kind: str, domain: str, fallback: str | None) -> str | None:
    row = repository.source(session, kind, normalise_domain(domain)) if domain else None
    return row.secret if row is not None else fallback
