"""Replaying stored deliveries through today's normalisers (after a fix)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from trofast.config import Settings
from trofast.ingest import service
from trofast.ingest.canonical import normalise_canonical
from trofast.ingest.webhooks import normaliser_for
from trofast.models import Delivery
from trofast.pos.normalise import normalise_receipts

NORMALISER_BY_CHANNEL: dict[str, service.Normalise] = {
    "api": normalise_canonical,
    "pos": normalise_receipts,
}


def replay_delivery(session: Session, delivery: Delivery, settings: Settings) -> service.Outcome:
    """Apply a stored delivery again. Events already applied are duplicates, so a replay
    only adds what failed before."""
    if delivery.verification == "failed":
        # A delivery whose signature did not verify is never applied, not even on replay.
        return service.Outcome(delivery)
    normalise = NORMALISER_BY_CHANNEL.get(delivery.channel) or normaliser_for(delivery.channel)
    delivery.attempts += 1
    return service.process(session, delivery, normalise, currency=settings.currency)
