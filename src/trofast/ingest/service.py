"""Receive a delivery: store it raw, normalise it, apply each event exactly once.

The raw delivery and the result of applying it are written in one transaction; the apply
step runs in a savepoint so that bad input or a bug rolls back every domain write while the
delivery row stays, marked `rejected` or `failed`, for the log and for `trofast ingest replay`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from trofast.db import is_retryable
from trofast.errors import AppError
from trofast.ingest import repository
from trofast.ingest.appliers import APPLIERS
from trofast.ingest.context import ApplyContext
from trofast.ingest.errors import IdempotencyConflict, InvalidJson, ProcessingFailed
from trofast.ingest.schemas import Envelope
from trofast.kit.time import utc_now
from trofast.models import Delivery

log = logging.getLogger(__name__)

Normalise = Callable[[Delivery], Sequence[Envelope]]

# A foreign key violation here means a customer this event resolved was merged into another
# and deleted meanwhile (`customer.merge`): resolving again finds the survivor.
_MERGED_AWAY = "23503"
_ATTEMPTS = 3


@dataclass
class Outcome:
    delivery: Delivery
    results: list[dict[str, Any]] = field(default_factory=list)
    error: AppError | None = None


# A JSON `\u0000` escape (not preceded by an escaped backslash): PostgreSQL text and JSONB
# cannot hold NUL, so it is refused at the edge instead of failing deep in an insert.
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)


def parse_json(body: bytes) -> Any:
    """JSON with exact decimals: amounts never pass through a binary float."""
    if _NUL_ESCAPE.search(body):
        raise InvalidJson("NUL characters (\\u0000) are not allowed in text")
    try:
        return json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidJson(f"body is not valid JSON: {exc}") from None


def event_hash(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def new_delivery(
    *,
    channel: str,
    source_name: str,
    topic: str,
    headers: dict[str, str],
    body: bytes,
    verification: str,
    api_key_id: int | None,
    received_at: datetime | None = None,
) -> Delivery:
    return Delivery(
        channel=channel,
        source_name=source_name,
        topic=topic,
        headers=headers,
        body=body,
        body_sha256=hashlib.sha256(body).hexdigest(),
        received_at=received_at or utc_now(),
        verification=verification,
        status="received",
        event_count=0,
        attempts=1,
        api_key_id=api_key_id,
    )


# Shops cannot act on a 409 (WooCommerce disables a hook after repeated failures), and their
# payloads repeat facts with changing timestamps; for them the first version of a key wins.
KEEP_FIRST_CHANNELS = frozenset({"shopify", "woocommerce", "segment"})


def receive(
    session: Session, delivery: Delivery, normalise: Normalise, *, currency: str
) -> Outcome:
    repository.add_delivery(session, delivery)
    return process(session, delivery, normalise, currency=currency)


def process(
    session: Session, delivery: Delivery, normalise: Normalise, *, currency: str
) -> Outcome:
    """Normalise and apply a stored delivery; safe to call again on the same delivery."""
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with session.begin_nested():
                events = normalise(delivery)
                results = apply_events(
                    session,
                    events,
                    delivery.id,
                    currency=currency,
                    keep_first=delivery.channel in KEEP_FIRST_CHANNELS,
                )
        except AppError as error:
            _mark(delivery, "rejected" if error.status_code < 500 else "failed", error)
            return Outcome(delivery, error=error)
        except OperationalError as exc:
            if is_retryable(exc) and attempt < _ATTEMPTS:
                sqlstate = getattr(exc.orig, "sqlstate", None)
                log.warning("delivery %s: retrying after %s", delivery.id, sqlstate)
                continue
            raise
        except IntegrityError as exc:
            sqlstate = getattr(exc.orig, "sqlstate", None)
            if sqlstate == _MERGED_AWAY and attempt < _ATTEMPTS:
                log.warning("delivery %s: retrying after %s", delivery.id, sqlstate)
                continue
            log.exception("delivery %s failed", delivery.id)
            return _failed(delivery, exc)
        except Exception as exc:
            # Not swallowed: logged with its traceback, stored on the delivery for replay,
            # and answered with a retryable 503 so the sender tries again.
            log.exception("delivery %s failed", delivery.id)
            return _failed(delivery, exc)
        fresh = [r for r in results if r["status"] != "duplicate"]
        delivery.status = "processed" if fresh or not results else "duplicate"
        delivery.event_count = len(results)
        delivery.error_code = None
        delivery.error = None
        delivery.processed_at = utc_now()
        return Outcome(delivery, results=results)
    raise AssertionError("unreachable")


def _failed(delivery: Delivery, exc: Exception) -> Outcome:
    failure = ProcessingFailed(f"{type(exc).__name__}: {exc}")
    _mark(delivery, "failed", failure)
    return Outcome(delivery, error=failure)


def _mark(delivery: Delivery, status: str, error: AppError) -> None:
    delivery.status = status
    delivery.error_code = error.code
    delivery.error = error.message if error.detail is None else f"{error.message}: {error.detail}"
    delivery.processed_at = utc_now()


def apply_events(
    session: Session,
    events: Sequence[Envelope],
    delivery_id: int | None,
    *,
    currency: str,
    keep_first: bool = False,
) -> list[dict[str, Any]]:
    """Apply each event once; a repeated key returns the first result.

    A repeated key with another body is a 409 `idempotency_conflict`, unless `keep_first`,
    where it is answered as a duplicate and logged.
    """
    now = utc_now()
    claims = [_claim_row(event, delivery_id, now) for event in events]
    # One INSERT claims the delivery's keys (its first use of each, in delivery order);
    # a key taken before, or repeated later in this delivery, is answered as a repeat.
    firsts: dict[str, dict[str, Any]] = {}
    for row in claims:
        firsts.setdefault(str(row["idempotency_key"]), row)
    ids = repository.claim_events(session, list(firsts.values())) if firsts else {}
    answered: dict[str, tuple[str, dict[str, Any]]] = {}  # key: (digest, result) applied here
    results = []
    for event, row in zip(events, claims, strict=True):
        key, digest = str(row["idempotency_key"]), str(row["request_hash"])
        event_id = ids.pop(key, None)
        if event_id is None:
            results.append(_repeat(session, key, digest, answered, keep_first=keep_first))
            continue
        result = APPLIERS[row["type"]](ApplyContext(session, currency, event_id, now), event)
        shown = {k: v for k, v in result.items() if k != "parked_order_id"}
        repository.finish_event(
            session,
            event_id,
            {
                "status": result["status"],
                "parked_order_id": result.get("parked_order_id"),
                "result": shown,
                "applied_at": now if result["status"] == "applied" else None,
            },
        )
        answered[key] = (digest, {"type": row["type"], **shown})
        results.append({"idempotency_key": key, "type": row["type"], **shown})
    return results


def _claim_row(event: Envelope, delivery_id: int | None, now: datetime) -> dict[str, Any]:
    payload = event.model_dump(mode="json")
    return {
        "idempotency_key": payload["idempotency_key"],
        "type": payload["type"],
        # Hashed without defaulted fields: the same event sent again after an upgrade that
        # added an optional field (or with a default spelled out) is the same request.
        "request_hash": event_hash(event.model_dump(mode="json", exclude_defaults=True)),
        "payload": payload,
        "occurred_at": event.occurred_at,
        "delivery_id": delivery_id,
        "status": "received",
        "created_at": now,
    }


def _repeat(
    session: Session,
    key: str,
    digest: str,
    answered: dict[str, tuple[str, dict[str, Any]]],
    *,
    keep_first: bool,
) -> dict[str, Any]:
    """The first result of a key: applied earlier in this delivery (`answered`) or before."""
    if key in answered:
        first_digest, first_result = answered[key]
    else:
        first = repository.event_by_key(session, key)
        first_digest, first_result = (
            first.request_hash,
            {"type": first.type, **(first.result or {})},
        )
    if first_digest != digest and keep_first:
        log.warning("event %s repeated with another body; the first one stands", key)
    elif first_digest != digest:
        raise IdempotencyConflict(
            f"idempotency key {key!r} was already used for a different event",
            detail={"idempotency_key": key},
        )
    return {"idempotency_key": key, **first_result, "status": "duplicate"}
